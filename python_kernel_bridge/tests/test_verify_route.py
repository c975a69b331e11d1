"""``POST /aiev/verify`` on a real Jupyter server (pytest-jupyter), replaying in a real kernel."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from .samples import make_sample, record_session

SOURCES = ["x = 6 * 7", "print(x)"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return make_sample(SOURCES, record_session(SOURCES, tmp_path_factory.mktemp("session")), tests=["assert x == 42"])


async def post(jp_fetch, body, **kwargs):
    return await jp_fetch("aiev", "verify", method="POST", body=body, request_timeout=120, **kwargs)


async def test_verify_returns_the_block(jp_fetch, sample):
    response = await post(jp_fetch, json.dumps(sample), params={"timeout": "60"})
    assert response.code == 200
    block = json.loads(response.body)
    assert block["verdict"] == "verified" and block["tests"]["passed"] == 1
    assert [c["cell_id"] for c in block["replay"]["cells"]] == ["cell-0", "cell-1"]
    # the status route is still there
    assert (await jp_fetch("aiev", "status")).code == 200


async def test_verify_reads_no_attachment_from_the_server(jp_fetch, sample, tmp_path):
    """The route has no attachments folder: every attachment is missing (or unsafe), whatever the request says."""
    (tmp_path / "data.csv").write_text("secret\n")
    digest = "0" * 64
    files = [{"path": "data.csv", "sha256": digest}, {"path": str(tmp_path / "data.csv"), "sha256": digest}]
    body = dict(sample, task=dict(sample["task"], attachments=files), attachments_dir=str(tmp_path))
    response = await post(jp_fetch, json.dumps(body), params={"timeout": "60", "attachments_dir": str(tmp_path)})
    block = json.loads(response.body)
    assert block["replay"]["attachments"] == [
        {"path": "data.csv", "status": "missing"},
        {"path": str(tmp_path / "data.csv"), "status": "unsafe"},
    ]
    assert block["verdict"] == "verified"  # no cell reads them


async def test_verify_requires_auth(jp_fetch, sample):
    with pytest.raises(HTTPClientError) as err:
        await post(jp_fetch, json.dumps(sample), headers={"Authorization": "token wrong"})
    assert err.value.code == 403


@pytest.mark.parametrize(
    "body, params, message",
    [
        ("{junk", {}, "invalid JSON body"),
        ("[1]", {}, "JSON object"),
        ('{"cells": []}', {}, "no 'notebook'"),
        (None, {"timeout": "soon"}, "timeout must be a number"),
        (None, {"kernel": "no-such-kernel"}, "no-such-kernel"),
    ],
)
async def test_verify_rejects_bad_requests_with_400(jp_fetch, sample, body, params, message):
    with pytest.raises(HTTPClientError) as err:
        await post(jp_fetch, body if body is not None else json.dumps(sample), params=params)
    assert err.value.code == 400
    assert message in json.loads(err.value.response.body)["message"]
