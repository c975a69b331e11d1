"""Classroom collection (``collection.py``): a server's sessions saved under the collection folder in its user's
folder, what ``GET /aiev/config`` says of it, and what happens when that folder cannot be written."""

from __future__ import annotations

import json
import stat

import pytest

from python_kernel_bridge.collection import folder_name

from .test_sessions import append, finish, header, refused, user


@pytest.fixture
def collection(tmp_path):
    return tmp_path / "class"


@pytest.fixture
def blocker(tmp_path):
    """A file where the collection folder should be: the folder cannot be made."""
    path = tmp_path / "not-a-folder"
    path.write_text("a file where the collection folder should be")
    return path


async def config(jp_fetch) -> dict:
    return json.loads((await jp_fetch("aiev", "config")).body)


class TestCollected:
    @pytest.fixture
    def aiev_config(self, collection):
        return {"AievBridge": {"collection_dir": str(collection), "collection_user": "alice"}}

    async def test_sessions_go_to_the_users_folder(self, jp_fetch, jp_serverapp, collection):
        assert (await config(jp_fetch))["collection"] == {"user": "alice", "required": False, "active": True,
                                                           "message": None}
        await append(jp_fetch, "s1", [header("s1"), user(1, "hello"), finish(2)])
        await jp_fetch("aiev", "sessions", "s1", "record", method="PUT", body=json.dumps({"id": "s1"}))
        folder = collection / "alice"
        assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
            "s1.aiev.events.jsonl", "s1.aiev.json"]
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        listed = json.loads((await jp_fetch("aiev", "sessions")).body)["sessions"]
        assert [s["id"] for s in listed] == ["s1"]
        personal = jp_serverapp.web_app.settings["aiev_bridge"].sessions_dir
        assert not (collection.parent / personal).exists() or not any((collection.parent / personal).iterdir())

    async def test_another_users_session_is_not_reachable(self, jp_fetch, collection):
        bob = collection / "bob"
        bob.mkdir(parents=True)
        (bob / "b1.aiev.events.jsonl").write_text(json.dumps(header("b1")) + "\n")
        (bob / "b1.aiev.json").write_text(json.dumps({"id": "b1"}))
        assert json.loads((await jp_fetch("aiev", "sessions")).body)["sessions"] == []
        await refused(jp_fetch("aiev", "sessions", "b1", "events"), 404)
        await refused(jp_fetch("aiev", "sessions", "b1", "record"), 404)
        await refused(jp_fetch("aiev", "sessions", "b1", method="DELETE"), 404)
        assert (bob / "b1.aiev.json").exists()


class TestRequiredButUnwritable:
    @pytest.fixture
    def aiev_config(self, blocker):
        return {"AievBridge": {"collection_dir": str(blocker), "collection_user": "alice",
                               "collection_required": True}}

    async def test_every_session_route_says_why(self, jp_fetch):
        state = (await config(jp_fetch))["collection"]
        assert state["active"] is False and state["required"] is True
        assert state["message"].startswith("Session collection is required but unavailable: cannot create")
        for call in (jp_fetch("aiev", "sessions"),
                     jp_fetch("aiev", "sessions", "s1", "events", method="POST",
                              body=json.dumps({"lines": [header("s1")]}))):
            body = await refused(call, 503)
            assert body["message"] == state["message"]


class TestOptionalButUnwritable:
    @pytest.fixture
    def aiev_config(self, blocker, tmp_path):
        return {"AievBridge": {"collection_dir": str(blocker), "collection_user": "alice",
                               "sessions_dir": str(tmp_path / "personal")}}

    async def test_sessions_stay_on_the_server_and_the_notice_says_so(self, jp_fetch, tmp_path):
        state = (await config(jp_fetch))["collection"]
        assert state["active"] is False and state["required"] is False
        assert "sessions stay on this server" in state["message"]
        await append(jp_fetch, "s1", [header("s1")])
        assert (tmp_path / "personal" / "s1.aiev.events.jsonl").exists()


async def test_no_collection_by_default(jp_fetch):
    assert (await config(jp_fetch))["collection"] is None


def test_folder_names_are_safe_and_distinct():
    assert folder_name("alice") == "alice"
    assert folder_name("a.b@uni.edu") == "a.b@uni.edu"
    odd = [folder_name(name) for name in ("../x", "a/b", "a b", "a_b", "..", "")]
    assert all("/" not in name and not name.startswith(".") and name for name in odd)
    assert len(set(odd + ["a_b"])) == len(odd)  # "a b" and "a_b" do not share a folder
