import json

import pytest
from tornado.httpclient import HTTPClientError

from python_kernel_bridge import __version__


async def test_status_reports_version(jp_fetch):
    response = await jp_fetch("aiev", "status")
    assert response.code == 200
    payload = json.loads(response.body)
    assert payload["name"] == "jupyterlab-aiev"
    assert payload["version"] == __version__


async def test_status_requires_auth(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("aiev", "status", headers={"Authorization": "token wrong"})
    assert err.value.code == 403
