"""The session store's routes (``sessions.py``, ``handlers.py``) on a real Jupyter server, files on a real disk."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys

import pytest
from tornado.httpclient import HTTPClientError

from python_kernel_bridge.config import SETTING
from python_kernel_bridge.sessions import SessionStore

from .samples import make_sample, record_session

TIME = "2026-01-01T00:00:00.000Z"


def header(session_id: str, notebook: str | None = "work/a.ipynb", model: str = "m1") -> dict:
    source = {"model": model, "notebook_path": notebook, "app": "tests"}
    payload = {"id": session_id, "created_at": TIME, "source": source, "task": {"prompt": "p"}}
    return {"seq": 0, "time": TIME, "kind": "header", "payload": payload}


def line(seq: int, kind: str, payload=None, **extra) -> dict:
    return {"seq": seq, "time": TIME, "kind": kind, "payload": payload, **extra}


def user(seq: int, text: str) -> dict:
    return line(seq, "user", {"type": "user", "text": text, "time": TIME})


def finish(seq: int, reason: str = "final_answer") -> dict:
    return line(seq, "finish", {"reason": reason, "answer": "done"})


@pytest.fixture
def sessions_dir(jp_serverapp):
    return jp_serverapp.web_app.settings[SETTING].sessions_dir


async def append(jp_fetch, session_id: str, lines) -> dict:
    body = json.dumps({"lines": lines})
    return json.loads((await jp_fetch("aiev", "sessions", session_id, "events", method="POST", body=body)).body)


async def refused(call, status: int) -> dict:
    with pytest.raises(HTTPClientError) as err:
        await call
    assert err.value.code == status, err.value.response.body
    return json.loads(err.value.response.body) if err.value.response.body else {}


async def test_append_and_read_back(jp_fetch, sessions_dir):
    first = [header("s1"), user(1, "hello"), line(2, "assistant", {"type": "assistant", "text": "é ✓"})]
    assert await append(jp_fetch, "s1", first) == {"next_seq": 3}
    rest = [line(3, "execution", {"outputs": []}, redactions=[{"kind": "api_key", "location": "x"}]), finish(4)]
    assert await append(jp_fetch, "s1", rest) == {"next_seq": 5}
    read = json.loads((await jp_fetch("aiev", "sessions", "s1", "events")).body)
    assert read == {"lines": first + rest}
    log = os.path.join(sessions_dir, "s1.aiev.events.jsonl")
    assert [json.loads(row) for row in open(log, encoding="utf-8")] == first + rest
    assert stat.S_IMODE(os.stat(sessions_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


async def test_gaps_and_duplicates_are_409_with_next_seq(jp_fetch, sessions_dir):
    await append(jp_fetch, "s2", [header("s2"), user(1, "q")])
    for seq in (1, 0, 3, 9):  # duplicate, duplicate header, gap, gap
        kind = "header" if seq == 0 else "user"
        lines = [header("s2")] if kind == "header" else [user(seq, "again")]
        body = await refused(append(jp_fetch, "s2", lines), 409)
        assert body["next_seq"] == 2 and "resend from 2" in body["message"]
    body = await refused(append(jp_fetch, "new", [user(1, "no header")]), 409)
    assert body["next_seq"] == 0
    assert not os.path.exists(os.path.join(sessions_dir, "new.aiev.events.jsonl"))
    assert await append(jp_fetch, "s2", [user(2, "right"), finish(3)]) == {"next_seq": 4}


async def test_concurrent_appends_are_serialized(jp_fetch):
    await append(jp_fetch, "s3", [header("s3")])
    results = await asyncio.gather(*(append(jp_fetch, "s3", [user(1, f"racer {i}")]) for i in range(8)), return_exceptions=True)
    assert sum(r == {"next_seq": 2} for r in results) == 1
    assert all(isinstance(r, HTTPClientError) and r.code == 409 for r in results if r != {"next_seq": 2})
    lines = json.loads((await jp_fetch("aiev", "sessions", "s3", "events")).body)["lines"]
    assert [entry["seq"] for entry in lines] == [0, 1]


@pytest.mark.parametrize(
    "lines, message",
    [
        ([["not", "an", "object"]], "line 0 is not a JSON object"),
        ([dict(header("b"), seq="0")], "'seq' must be a non-negative integer"),
        ([dict(header("b"), seq=True)], "'seq' must be a non-negative integer"),
        ([dict(header("b"), kind="shout")], "'kind' must be one of"),
        ([dict(header("b"), kind=7)], "'kind' must be one of"),
        ([user(0, "first")], "the header is line 0 and only line 0"),
        ([header("b"), dict(header("b"), seq=1)], "the header is line 0 and only line 0"),
        ([header("b"), user(2, "skips")], "seq 2 does not follow seq 0"),
        ([header("other")], "'id' is 'b'"),
        ([], "non-empty list"),
        ("lines", "non-empty list"),
    ],
)
async def test_bad_lines_are_400(jp_fetch, lines, message):
    body = await refused(append(jp_fetch, "b", lines), 400)
    assert message in body["message"]


async def test_bad_bodies_are_400(jp_fetch):
    for body, message in (("{junk", "invalid JSON body"), ("[1]", "non-empty list")):
        call = jp_fetch("aiev", "sessions", "b", "events", method="POST", body=body)
        assert message in (await refused(call, 400))["message"]
    call = jp_fetch("aiev", "sessions", "b", "record", method="PUT", body=json.dumps({"id": "not-b"}))
    assert "'id' is 'b'" in (await refused(call, 400))["message"]


#: Each route with a bad id in its URL (percent-encoded as a client would send it).
BAD_IDS = ["..%2Fx", "a%2Fb", "", "x" * 129, "-x", ".hidden", "a.b", "a%00"]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_bad_ids_are_400_on_every_route(http_server_client, jp_base_url, jp_auth_header, sessions_dir, bad):
    base = f"{jp_base_url}aiev/sessions/{bad}"
    calls = [
        ("GET", f"{base}/events", None),
        ("POST", f"{base}/events", json.dumps({"lines": [header("x")]})),
        ("GET", f"{base}/record", None),
        ("PUT", f"{base}/record", json.dumps({"id": "x"})),
        ("DELETE", base, None),
    ]
    for method, url, body in calls:
        with pytest.raises(HTTPClientError) as err:
            await http_server_client.fetch(url, method=method, body=body, headers=jp_auth_header)
        assert err.value.code == 400, (method, url)
        assert "a session id is" in json.loads(err.value.response.body)["message"]
    assert not os.path.exists(sessions_dir) or os.listdir(sessions_dir) == []


async def test_a_raw_traversal_matches_no_route(http_server_client, jp_base_url, jp_auth_header, jp_root_dir):
    body = json.dumps({"lines": [header("x")]})
    with pytest.raises(HTTPClientError) as err:
        await http_server_client.fetch(f"{jp_base_url}aiev/sessions/../../x/events", method="POST", body=body,
                                       headers=jp_auth_header)
    assert err.value.code == 404
    assert not list(jp_root_dir.rglob("*.jsonl"))


async def test_every_route_needs_auth(jp_fetch):
    wrong = {"Authorization": "token wrong"}
    calls = [
        jp_fetch("aiev", "sessions", headers=wrong),
        jp_fetch("aiev", "sessions", "s", "events", headers=wrong),
        jp_fetch("aiev", "sessions", "s", "events", method="POST", body=json.dumps({"lines": [header("s")]}), headers=wrong),
        jp_fetch("aiev", "sessions", "s", "record", headers=wrong),
        jp_fetch("aiev", "sessions", "s", "record", method="PUT", body=json.dumps({"id": "s"}), headers=wrong),
        jp_fetch("aiev", "sessions", "s", method="DELETE", headers=wrong),
    ]
    for call in calls:
        await refused(call, 403)


async def test_listing_summaries_filter_and_order(jp_fetch, sessions_dir):
    long_prompt = "x" * 300
    await append(jp_fetch, "old", [header("old", "work/a.ipynb"), user(1, "first question"), finish(2),
                                   user(3, "follow-up"), finish(4, "stopped")])
    await append(jp_fetch, "cut", [header("cut", "work/a.ipynb", "m2"), user(1, long_prompt), line(2, "assistant", {})])
    await append(jp_fetch, "other", [header("other", "b.ipynb")])
    await jp_fetch("aiev", "sessions", "old", "record", method="PUT", body=json.dumps({"id": "old"}))
    for age, sid in enumerate(["other", "cut", "old"]):  # old is the oldest
        path = os.path.join(sessions_dir, f"{sid}.aiev.events.jsonl")
        os.utime(path, (1_700_000_000 - age * 100, 1_700_000_000 - age * 100))

    listed = json.loads((await jp_fetch("aiev", "sessions")).body)["sessions"]
    assert [s["id"] for s in listed] == ["other", "cut", "old"]
    old = listed[2]
    assert old == {
        "id": "old", "notebook_path": "work/a.ipynb", "created_at": TIME, "updated_at": old["updated_at"],
        "prompt": "first question", "turns": 2, "lines": 5, "state": "idle",
        "outcome": {"reason": "stopped", "answer": "done"}, "model": "m1", "has_record": True,
    }
    assert old["updated_at"] == "2023-11-14T22:10:00.000Z"
    cut = listed[1]
    assert (cut["state"], cut["turns"], cut["lines"], cut["outcome"], cut["model"]) == ("cut", 1, 3, None, "m2")
    assert cut["prompt"] == "x" * 200 and cut["has_record"] is False
    assert listed[0]["state"] == "idle" and listed[0]["turns"] == 0 and listed[0]["prompt"] is None

    mine = json.loads((await jp_fetch("aiev", "sessions", params={"notebook": "/work/a.ipynb"})).body)["sessions"]
    assert [s["id"] for s in mine] == ["cut", "old"]
    # The follow-up of a cut session makes it idle again once it finishes.
    await append(jp_fetch, "cut", [finish(3)])
    mine = json.loads((await jp_fetch("aiev", "sessions", params={"notebook": "work/a.ipynb"})).body)["sessions"]
    assert {s["id"]: s["state"] for s in mine} == {"cut": "idle", "old": "idle"}


async def test_a_line_cut_by_a_crash_is_ignored_then_dropped(jp_fetch, sessions_dir):
    await append(jp_fetch, "crash", [header("crash"), user(1, "q")])
    log = os.path.join(sessions_dir, "crash.aiev.events.jsonl")
    with open(log, "ab") as out:
        out.write(b'{"seq": 2, "time": "t", "kind": "assis')  # the tab died mid-write
    assert len(json.loads((await jp_fetch("aiev", "sessions", "crash", "events")).body)["lines"]) == 2
    # A new store (a restarted server) sees the same; the client resends from seq 2.
    store = SessionStore(sessions_dir, os.path.dirname(sessions_dir))
    assert store.summary("crash")["lines"] == 2
    assert await append(jp_fetch, "crash", [line(2, "assistant", {}), finish(3)]) == {"next_seq": 4}
    assert [json.loads(row)["seq"] for row in open(log, encoding="utf-8")] == [0, 1, 2, 3]


async def test_the_index_survives_a_restart_and_catches_up(jp_fetch, jp_serverapp, sessions_dir):
    await append(jp_fetch, "idx", [header("idx"), user(1, "q")])
    assert json.loads((await jp_fetch("aiev", "sessions")).body)["sessions"][0]["lines"] == 2  # index written
    index_file = os.path.join(sessions_dir, ".index", "idx.json")
    assert json.load(open(index_file))["lines"] == 2
    await append(jp_fetch, "idx", [line(2, "assistant", {"big": "y" * 100_000}), finish(3)])
    # Blank out the user line in place: a store that read the log from the start would miss it.
    log_path = os.path.join(sessions_dir, "idx.aiev.events.jsonl")
    rows = open(log_path, "rb").read().split(b"\n")
    rows[1] = b" " * len(rows[1])
    open(log_path, "wb").write(b"\n".join(rows))
    restarted = SessionStore(sessions_dir, jp_serverapp.root_dir)  # reads the stale index, then only the tail
    summary = restarted.summary("idx")
    assert (summary["lines"], summary["turns"], summary["state"]) == (4, 1, "idle")
    assert json.load(open(index_file))["offset"] == os.path.getsize(os.path.join(sessions_dir, "idx.aiev.events.jsonl"))
    # an index that does not match the log (a log rewritten shorter) is rebuilt from the start
    with open(os.path.join(sessions_dir, "idx.aiev.events.jsonl"), "w", encoding="utf-8") as log:
        log.write(json.dumps(header("idx")) + "\n")
    assert SessionStore(sessions_dir, jp_serverapp.root_dir).summary("idx")["lines"] == 1


async def test_record_put_get_delete(jp_fetch, sessions_dir):
    await refused(jp_fetch("aiev", "sessions", "r1", "record"), 404)
    record = {"id": "r1", "steps": [], "text": "é"}
    put = json.loads((await jp_fetch("aiev", "sessions", "r1", "record", method="PUT", body=json.dumps(record))).body)
    assert put == {"path": ".aiev/sessions/r1.aiev.json"}
    assert json.loads((await jp_fetch("aiev", "sessions", "r1", "record")).body) == record
    assert [n for n in os.listdir(sessions_dir) if n.endswith(".tmp")] == []
    await append(jp_fetch, "r1", [header("r1")])
    response = await jp_fetch("aiev", "sessions", "r1", method="DELETE")
    assert response.code == 204
    assert [n for n in os.listdir(sessions_dir) if n.startswith("r1")] == []
    assert json.loads((await jp_fetch("aiev", "sessions")).body)["sessions"] == []
    await refused(jp_fetch("aiev", "sessions", "r1", method="DELETE"), 404)
    await refused(jp_fetch("aiev", "sessions", "r1", "events"), 404)


async def test_a_stored_record_verifies_with_the_cli(jp_fetch, jp_root_dir, tmp_path):
    sources = ["x = 6 * 7", "print(x)"]
    sample = dict(make_sample(sources, record_session(sources, tmp_path)), id="verify-me")
    put = await jp_fetch("aiev", "sessions", "verify-me", "record", method="PUT", body=json.dumps(sample))
    path = jp_root_dir / json.loads(put.body)["path"]
    command = [sys.executable, "-m", "python_kernel_bridge", "verify", str(path), "--timeout", "60"]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("verdict: verified (2 cells")
