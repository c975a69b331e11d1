"""The attachments of a sidebar session on the server: ``POST /aiev/attachments`` hashes the files its code
names in the notebook's folder, and ``POST /aiev/verify`` copies them from there into the replay's folder, so a
session that read a CSV beside its notebook verifies (real server, real kernels, real files)."""

from __future__ import annotations

import json
import os
import time

import pytest
from tornado.httpclient import HTTPClientError

from .samples import attachment, session_sample

READ = "rows = open('data.csv').read().split()\nprint(len(rows), rows[-1])"


@pytest.fixture
def week(jp_root_dir, tmp_path):
    folder = jp_root_dir / "week1"
    folder.mkdir()
    (folder / "data.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "outside.txt").write_text("not the notebook's")
    os.symlink(tmp_path / "outside.txt", folder / "link.txt")
    (folder / "sub").mkdir()
    return folder


async def find(jp_fetch, body) -> dict:
    return json.loads((await jp_fetch("aiev", "attachments", method="POST", body=json.dumps(body))).body)


async def test_the_files_the_code_names_beside_the_notebook(jp_fetch, week):
    names = ["data.csv", "missing.csv", "../week1/data.csv", "link.txt", "sub", "/etc/passwd"]
    found = await find(jp_fetch, {"notebook_path": "week1/a.ipynb", "names": names})
    assert found == {"attachments": [attachment(week, "data.csv")]}
    # Hashes are cached by path, size and mtime: a file changed since is hashed again.
    (week / "data.csv").write_text("a,b\n9,9\n3,4\n")
    os.utime(week / "data.csv", ns=(time.time_ns(), time.time_ns() + 1_000_000))
    again = await find(jp_fetch, {"notebook_path": "week1/a.ipynb", "names": ["data.csv"]})
    assert again == {"attachments": [attachment(week, "data.csv")]} != found
    # A file written after the session started is the session's own output, not an attachment.
    later = (time.time() - 60) * 1000
    assert await find(jp_fetch, {"notebook_path": "week1/a.ipynb", "names": ["data.csv"], "modified_before": later}) == {
        "attachments": []}


@pytest.mark.parametrize("body", [
    {"notebook_path": "../a.ipynb", "names": []},
    {"notebook_path": "/etc/a.ipynb", "names": []},
    {"notebook_path": "nowhere/a.ipynb", "names": []},
    {"notebook_path": "week1/a.ipynb", "names": "data.csv"},
    {"notebook_path": "week1/a.ipynb", "names": [], "modified_before": "yesterday"},
])
async def test_bad_bodies_are_refused(jp_fetch, week, body):
    with pytest.raises(HTTPClientError) as err:
        await find(jp_fetch, body)
    assert err.value.code == 400


async def test_verify_copies_them_from_the_notebooks_folder(jp_fetch, week):
    sample = session_sample([READ], week, attachments=[attachment(week, "data.csv")])
    assert sample["verification"]  # recorded in the notebook's folder: prints "3 3,4"
    with_path = {**sample, "source": {**sample["source"], "notebook_path": "week1/a.ipynb"}}
    block = json.loads((await jp_fetch("aiev", "verify", method="POST", body=json.dumps(with_path),
                                       request_timeout=120)).body)
    assert block["replay"]["attachments"] == [{"path": "data.csv", "status": "copied"}]
    assert block["verdict"] == "verified", block["replay"]["cells"]
    # Without the notebook's path there is nothing to copy from: the cell reading it fails.
    block = json.loads((await jp_fetch("aiev", "verify", method="POST", body=json.dumps(sample),
                                       request_timeout=120)).body)
    assert block["replay"]["attachments"] == [{"path": "data.csv", "status": "missing"}]
    assert block["verdict"] == "failed"
