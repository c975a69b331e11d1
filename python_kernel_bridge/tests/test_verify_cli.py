"""``python -m python_kernel_bridge verify``: exit codes, output, ``--write``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from python_kernel_bridge import __version__
from python_kernel_bridge.cli import problem_lines, summary_line

from .samples import attachment, make_sample, record_session, validate

SOURCES = ["x = 6 * 7", "print(x)", "x"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return record_session(SOURCES + ["import random\nprint(random.random())"], tmp_path_factory.mktemp("session"))


def run(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "python_kernel_bridge", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_without_arguments_prints_the_version():
    done = run()
    assert done.returncode == 0 and done.stdout.strip() == f"jupyterlab-aiev bridge {__version__}"


def test_verified_exits_0_and_write_stores_the_block(tmp_path, recorded):
    path = tmp_path / "s.aiev.json"
    path.write_text(json.dumps(make_sample(SOURCES, recorded[:3], tests=["assert x == 42"])))
    done = run("verify", str(path), "--timeout", "60", "--write")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "verdict: verified (3 cells, 0 errors, 0 diffs, compared 2 by text, tests 1/1)"
    written = json.loads(path.read_text())
    validate(written)
    assert written["verification"]["verdict"] == "verified"
    assert written["verification"]["replay"]["cells"][2]["match"] is True
    assert not [p for p in tmp_path.iterdir() if p.name != path.name]  # no temporary file left behind


def test_diverged_exits_1_and_lists_the_cell(tmp_path, recorded):
    path = tmp_path / "s.json"
    original = json.dumps(make_sample(SOURCES + ["import random\nprint(random.random())"], recorded))
    path.write_text(original)
    done = run("verify", str(path), "--kernel", "python3")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "verdict: diverged (4 cells, 0 errors, 1 diffs, compared 3 by text, no tests)"
    assert lines[1] == "  cell cell-3: output differs (compared exact)"
    assert path.read_text() == original  # no --write, no change


@pytest.mark.parametrize(
    "content, reason",
    [(None, "No such file"), ("{not json", "not JSON"), ("[1, 2]", "JSON object"), ('{"cells": []}', "no 'notebook'")],
)
def test_unreadable_input_exits_2_with_one_line(tmp_path, content, reason):
    path = tmp_path / "in.json"
    if content is not None:
        path.write_text(content)
    done = run("verify", str(path))
    assert done.returncode == 2
    assert done.stdout == "" and reason in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_unknown_kernel_exits_2(tmp_path, recorded):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(make_sample(SOURCES, recorded[:3])))
    done = run("verify", str(path), "--kernel", "no-such-kernel")
    assert done.returncode == 2 and "no-such-kernel" in done.stderr and "Traceback" not in done.stderr


def test_summary_and_problem_lines():
    block = {
        "verdict": "failed",
        "replay": {"cells": [
            {
                "cell_id": "a", "status": "error", "compared": "exact", "match": False,
                "error": {"ename": "KeyError", "evalue": "'k'"},
            },
            {"cell_id": "b", "status": "skipped", "compared": "none", "match": False},
        ]},
        "tests": {"passed": 0, "failed": 1, "results": [{"index": 0, "status": "skipped"}]},
    }
    assert summary_line(block) == "verdict: failed (2 cells, 1 errors, 0 diffs, 1 skipped, tests 0/1)"
    assert problem_lines(block) == ["  cell a: error KeyError: 'k'", "  cell b: skipped", "  test 0: skipped"]
    assert summary_line({"verdict": "unverified", "replay": None, "tests": None}).startswith("verdict: unverified (")


# --- several files in one process ------------------------------------------------------------------------------


def test_several_files_jsonl_write_in_one_process(tmp_path, recorded):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_sample(SOURCES, recorded[:3], tests=["assert x == 42"])))
    diverged = tmp_path / "diverged.json"
    diverged.write_text(json.dumps(make_sample(SOURCES + ["import random\nprint(random.random())"], recorded)))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    files = [str(good), str(broken), str(diverged)]
    done = run("verify", *files, "--jsonl", "--write", "--jobs", "2", "--timeout", "60")
    assert done.returncode == 2, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(line["file"] for line in lines) == sorted(files)
    by_file = {line["file"]: line for line in lines}
    for path, verdict in [(good, "verified"), (diverged, "diverged")]:
        line = by_file[str(path)]
        assert (line["verdict"], line["error"], line["verification"]["verdict"]) == (verdict, None, verdict)
    assert by_file[str(broken)]["verdict"] is None and "not JSON" in by_file[str(broken)]["error"]
    assert by_file[str(broken)]["verification"] is None
    for path, verdict in [(good, "verified"), (diverged, "diverged")]:
        written = json.loads(path.read_text())
        validate(written)
        assert written["verification"]["verdict"] == verdict and written["verification"]["replay"]["cells"]
    assert broken.read_text() == "{not json"
    assert "Traceback" not in done.stderr


def test_several_files_human_output_is_prefixed_with_the_path(tmp_path, recorded):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_sample(SOURCES, recorded[:3])))
    diverged = tmp_path / "diverged.json"
    original = json.dumps(make_sample(SOURCES + ["import random\nprint(random.random())"], recorded))
    diverged.write_text(original)
    done = run("verify", str(good), str(diverged))  # --jobs 1: in the order given
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[:3] == [
        f"{good}: verdict: verified (3 cells, 0 errors, 0 diffs, compared 2 by text, no tests)",
        f"{diverged}: verdict: diverged (4 cells, 0 errors, 1 diffs, compared 3 by text, no tests)",
        "  cell cell-3: output differs (compared exact)",
    ]
    assert diverged.read_text() == original  # no --write, no change


def test_several_files_kernel_errors_name_each_file(tmp_path, recorded):
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path in paths:
        path.write_text(json.dumps(make_sample(SOURCES, recorded[:3])))
    done = run("verify", *map(str, paths), "--kernel", "no-such-kernel", "--jobs", "2")
    assert done.returncode == 2 and done.stdout == ""
    errors = sorted(line for line in done.stderr.splitlines() if line.startswith("verify: "))
    assert [e.split(": could not start kernel 'no-such-kernel'")[0] for e in errors] == [
        f"verify: {p}" for p in paths
    ]


def test_jsonl_lines_stream_as_files_finish_and_nothing_else_reaches_stdout(tmp_path):
    slow = tmp_path / "slow.json"
    # The kernel inherits the verifier's file descriptors: os.system's echo must not land among the JSON lines.
    source = "import os, time\nos.system('echo from-the-kernel')\ntime.sleep(4)"
    slow.write_text(json.dumps(make_sample([source], [{"outputs": [], "execution_count": 1}])))
    command = [sys.executable, "-m", "python_kernel_bridge", "verify", "--files-from", "-", "--jsonl"]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen(command, text=True, **pipes) as proc:
        proc.stdin.write(f"{tmp_path / 'missing.json'}\n{slow}\n")
        proc.stdin.close()
        first = json.loads(proc.stdout.readline())
        assert proc.poll() is None  # the missing file is reported while the slow one still runs
        assert first["file"].endswith("missing.json") and "No such file" in first["error"]
        second = json.loads(proc.stdout.readline())
        assert (second["file"], second["verdict"], second["error"]) == (str(slow), "verified", None)
        assert second["verification"]["verdict"] == "verified"
        assert proc.stdout.read() == ""
        assert "from-the-kernel" in proc.stderr.read()  # sent to stderr instead
        assert proc.wait(timeout=60) == 2


def test_no_file_is_a_usage_error():
    done = run("verify")
    assert done.returncode == 2 and "FILE.json" in done.stderr


# --- attachments ------------------------------------------------------------------------------------------------

READS = ["import csv\nwith open('data.csv') as f:\n    rows = list(csv.reader(f))\nprint(rows)"]


def record_reading(folder, data: str):
    """A record of a session in ``folder`` that read its ``data.csv`` (``data``), as a JSON text."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.csv").write_text(data)
    sample = make_sample(READS, record_session(READS, folder), attachments=[attachment(folder, "data.csv")])
    return json.dumps(sample)


def test_a_record_next_to_its_data_verifies_by_default(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(record_reading(tmp_path, "a,b\n1,2\n"))
    done = run("verify", str(path), "--timeout", "60", "--write")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "verdict: verified (1 cells, 0 errors, 0 diffs, compared 1 by text, no tests, attachments 1/1)"
    written = json.loads(path.read_text())
    validate(written)
    assert written["verification"]["replay"]["attachments"] == [{"path": "data.csv", "status": "copied"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "s.json"]


def test_attachments_dir_points_elsewhere(tmp_path):
    data = tmp_path / "data"
    record = tmp_path / "records" / "s.json"
    text = record_reading(data, "a,b\n1,2\n")
    record.parent.mkdir()
    record.write_text(text)
    done = run("verify", str(record), "--timeout", "60")  # its own folder has no data.csv
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[:2] == [
        "verdict: failed (1 cells, 1 errors, 0 diffs, compared 1 by text, no tests, attachments 0/1)",
        "  attachment data.csv: missing",
    ]
    assert lines[2].startswith("  cell cell-0: error FileNotFoundError: ")
    done = run("verify", str(record), "--timeout", "60", "--attachments-dir", str(data))
    assert done.returncode == 0, done.stdout + done.stderr
    (data / "data.csv").write_text("a,b\n1,3\n")
    done = run("verify", str(record), "--timeout", "60", "--attachments-dir", str(data))
    assert done.returncode == 1 and "  attachment data.csv: mismatch" in done.stdout.splitlines()
    done = run("verify", str(record), "--attachments-dir", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "not a folder" in done.stderr and done.stdout == ""


def test_batch_each_record_finds_its_own_files(tmp_path):
    first, second = tmp_path / "one" / "s.json", tmp_path / "two" / "s.json"
    first_text, second_text = record_reading(first.parent, "x\n1\n"), record_reading(second.parent, "y\n2\n")
    first.write_text(first_text)
    second.write_text(second_text)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{first}\n{second}\n")
    done = run("verify", "--files-from", str(listing), "--jobs", "2", "--jsonl", "--write", "--timeout", "60")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = sorted((json.loads(line) for line in done.stdout.splitlines()), key=lambda line: line["file"])
    assert [(line["file"], line["verdict"], line["error"]) for line in lines] == [
        (str(first), "verified", None),
        (str(second), "verified", None),
    ]
    for path in (first, second):
        replay = json.loads(path.read_text())["verification"]["replay"]
        assert replay["attachments"] == [{"path": "data.csv", "status": "copied"}]
    # Swapped data: each record now sees the other's file, and neither matches its sha256.
    (first.parent / "data.csv").write_text("y\n2\n")
    (second.parent / "data.csv").write_text("x\n1\n")
    done = run("verify", str(first), str(second), "--jobs", "2", "--jsonl", "--timeout", "60")
    assert done.returncode == 1 and {json.loads(line)["verdict"] for line in done.stdout.splitlines()} == {"failed"}
