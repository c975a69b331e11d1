"""Task attachments staged into the replay's folder: real sessions reading data files, replayed in real kernels."""

from __future__ import annotations

import copy
import os
import tempfile

import pytest

from python_kernel_bridge.attachments import safe_relative, stage_attachments
from python_kernel_bridge.verify import verify_sample

from .samples import attachment, make_sample, record_session, validate

DATA = "city,temp\nOslo,4\nRome,18\nCairo,29\n"
EXTRA = "k,v\na,1\nb,2\n"
#: pandas for data.csv, the csv module for a file in a subfolder (its parent is created in the replay folder).
SOURCES = [
    "import pandas as pd\ndf = pd.read_csv('data.csv')\nprint(df.shape)\ndf['temp'].mean()",
    "import csv\nwith open('inputs/extra.csv') as f:\n    rows = list(csv.DictReader(f))\nrows",
]


def write_inputs(folder, data=DATA):
    (folder / "inputs").mkdir(parents=True, exist_ok=True)
    (folder / "data.csv").write_text(data)
    (folder / "inputs" / "extra.csv").write_text(EXTRA)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """The folder A the session ran in (data.csv, inputs/extra.csv) and its record."""
    folder = tmp_path_factory.mktemp("session-a")
    write_inputs(folder)
    recorded = record_session(SOURCES, folder)
    assert not [o for r in recorded for o in r["outputs"] if o["output_type"] == "error"]
    files = [attachment(folder, "data.csv"), attachment(folder, "inputs/extra.csv")]
    return folder, make_sample(SOURCES, recorded, attachments=files)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """``tempfile``'s folder for this test only: where the replay's own temporary folder is made."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def statuses(block):
    return {a["path"]: a["status"] for a in block["replay"]["attachments"]}


def test_attached_files_are_copied_and_the_sample_verifies(session, private_tmp):
    folder, sample = session
    before = copy.deepcopy(sample)
    block = verify_sample(sample, timeout=60, attachments_dir=str(folder))
    assert block["verdict"] == "verified", block
    assert block["replay"]["attachments"] == [
        {"path": "data.csv", "status": "copied"},
        {"path": "inputs/extra.csv", "status": "copied"},
    ]
    assert sample == before
    validate(dict(sample, verification=block))
    assert os.listdir(private_tmp) == []  # the replay folder and its copies are gone
    assert (folder / "data.csv").read_text() == DATA  # the source is untouched


def test_without_an_attachments_folder_they_are_missing_and_the_replay_fails(session):
    _, sample = session
    block = verify_sample(sample, timeout=60)
    assert block["verdict"] == "failed"
    assert statuses(block) == {"data.csv": "missing", "inputs/extra.csv": "missing"}
    first, second = block["replay"]["cells"]
    assert first["status"] == "error" and first["error"]["ename"] == "FileNotFoundError"
    assert second["status"] == "error" and second["error"]["ename"] == "FileNotFoundError"


def test_a_changed_file_is_a_mismatch_and_not_copied(session, tmp_path):
    _, sample = session
    write_inputs(tmp_path, data=DATA.replace("Rome,18", "Rome,19"))
    block = verify_sample(sample, timeout=60, attachments_dir=str(tmp_path))
    assert statuses(block) == {"data.csv": "mismatch", "inputs/extra.csv": "copied"}
    assert block["verdict"] == "failed"
    first, second = block["replay"]["cells"]
    assert first["error"]["ename"] == "FileNotFoundError"  # not the changed data: no copy at all
    assert second["status"] == "ok" and second["match"] is True


def test_an_attachment_the_notebook_does_not_read_changes_nothing(session):
    _, sample = session
    sample = copy.deepcopy(sample)
    sample["notebook"]["cells"] = [dict(sample["notebook"]["cells"][0], source="x = 1", outputs=[])]
    block = verify_sample(sample, timeout=60)
    assert statuses(block) == {"data.csv": "missing", "inputs/extra.csv": "missing"}
    assert block["verdict"] == "verified"


def test_paths_leaving_the_folder_are_unsafe_and_nothing_is_written_outside(tmp_path, private_tmp):
    folder = tmp_path / "a"
    folder.mkdir()
    (tmp_path / "outside.csv").write_text("secret\n")
    absolute = str(tmp_path / "outside.csv")
    sources = ["print(open('../outside.csv').read())", f"print(open({absolute!r}).read())"]
    recorded = record_session(sources, folder)
    files = [
        dict(attachment(tmp_path, "outside.csv"), path="../outside.csv"),  # the right sha256: still refused
        dict(attachment(tmp_path, "outside.csv"), path=absolute),
    ]
    sample = make_sample(sources, recorded, attachments=files)
    before = sorted(str(p) for p in tmp_path.rglob("*"))

    block = verify_sample(sample, timeout=60, attachments_dir=str(folder))
    assert statuses(block) == {"../outside.csv": "unsafe", absolute: "unsafe"}
    assert block["verdict"] == "failed"  # the absolute read still works in the replay; the relative one cannot
    assert block["replay"]["cells"][0]["error"]["ename"] == "FileNotFoundError"
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before and os.listdir(private_tmp) == []

    work = tmp_path / "work" / "replay"  # a caller's folder: ../outside.csv would land in tmp_path/work
    work.mkdir(parents=True)
    block = verify_sample(sample, timeout=60, attachments_dir=str(folder), cwd=str(work))
    assert statuses(block) == {"../outside.csv": "unsafe", absolute: "unsafe"}
    assert os.listdir(tmp_path / "work") == ["replay"] and os.listdir(work) == []


def test_a_link_out_of_the_folder_is_unsafe_a_link_within_it_is_copied(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    (tmp_path / "secret.csv").write_text("secret\n")
    (folder / "data.csv").write_text(DATA)
    (folder / "out.csv").symlink_to(tmp_path / "secret.csv")
    (folder / "same.csv").symlink_to("data.csv")
    sources = ["print(open('out.csv').read())", "print(open('same.csv').read())"]
    recorded = record_session(sources, folder)
    files = [attachment(folder, "out.csv"), attachment(folder, "same.csv")]
    block = verify_sample(make_sample(sources, recorded, attachments=files), timeout=60, attachments_dir=str(folder))
    assert statuses(block) == {"out.csv": "unsafe", "same.csv": "copied"}
    assert block["verdict"] == "failed"
    cells = block["replay"]["cells"]
    assert cells[0]["error"]["ename"] == "FileNotFoundError" and cells[1]["match"] is True


def test_a_callers_cwd_receives_the_copies(session, tmp_path):
    folder, sample = session
    work = tmp_path / "work"
    work.mkdir()
    block = verify_sample(sample, timeout=60, attachments_dir=str(folder), cwd=str(work))
    assert block["verdict"] == "verified"
    assert (work / "data.csv").read_text() == DATA and (work / "inputs" / "extra.csv").read_text() == EXTRA
    # The attachments' own folder as cwd: the files are already there, nothing is rewritten.
    mtime = os.stat(folder / "data.csv").st_mtime_ns
    block = verify_sample(sample, timeout=60, attachments_dir=str(folder), cwd=str(folder))
    assert block["verdict"] == "verified" and set(statuses(block).values()) == {"copied"}
    assert os.stat(folder / "data.csv").st_mtime_ns == mtime and (folder / "data.csv").read_text() == DATA


# --- staging without kernels ------------------------------------------------------------------------------------


def test_safe_relative_paths():
    for good in ["data.csv", "inputs/extra.csv", "./data.csv", "a..b.csv", "dir/..hidden"]:
        assert safe_relative(good), good
    for bad in ["", "/etc/passwd", "../x", "a/../../x", "a/..", "C:/x.csv", "c:x.csv", "a\\b.csv", ".", "./", None, 3]:
        assert not safe_relative(bad), bad


def test_staging_statuses(tmp_path):
    source, work = tmp_path / "src", tmp_path / "work"
    for folder in [source / "b", source / "d", source / "e", work / "g"]:
        folder.mkdir(parents=True)
    (source / "a").write_text("A")
    (source / "b" / "c").write_text("C")
    (source / "e" / "f").write_text("F")
    (source / "g").write_text("G")
    (work / "e").write_text("mine")  # the caller's file where a folder would go
    (work / "keep").write_text("mine")
    a, c = attachment(source, "a"), attachment(source, "b/c")
    wanted = [
        a,
        c,
        attachment(source, "e/f"),  # its folder would replace the caller's file: unusable destination
        attachment(source, "g"),  # a folder is in the way
        dict(c, path="d"),  # a folder, not a file
        {"path": "nope", "sha256": c["sha256"]},
        dict(a, path="keep"),  # caller's own file, its source missing: left alone
        dict(a, sha256="0" * 64),  # a second entry for a, wrong hash: not copied over the first
        {"path": "a"},  # no sha256 at all: a mismatch
    ]
    result = stage_attachments(wanted, str(source), str(work))
    assert [r["status"] for r in result] == [
        "copied", "copied", "unsafe", "unsafe", "missing", "missing", "missing", "mismatch", "mismatch"
    ]
    assert (work / "a").read_text() == "A" and (work / "b" / "c").read_text() == "C"
    assert (work / "keep").read_text() == "mine" and (work / "e").read_text() == "mine"
    assert sorted(p.name for p in work.iterdir()) == ["a", "b", "e", "g", "keep"]  # no temporary file left behind
    assert [r["status"] for r in stage_attachments([a], None, str(work))] == ["missing"]


def test_staging_never_follows_a_link_out_of_the_callers_folder(tmp_path):
    source, work, elsewhere = tmp_path / "src", tmp_path / "work", tmp_path / "elsewhere"
    for folder in [source / "sub", work, elsewhere]:
        folder.mkdir(parents=True)
    (source / "sub" / "x.csv").write_text("X")
    (source / "sub" / "deeper").mkdir()
    (source / "sub" / "deeper" / "y.csv").write_text("Y")
    (work / "sub").symlink_to(elsewhere)
    wanted = [attachment(source, "sub/x.csv"), attachment(source, "sub/deeper/y.csv")]
    assert [r["status"] for r in stage_attachments(wanted, str(source), str(work))] == ["unsafe", "unsafe"]
    assert os.listdir(elsewhere) == []
