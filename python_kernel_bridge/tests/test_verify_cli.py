"""``python -m python_kernel_bridge verify``: exit codes, output, ``--write``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from python_kernel_bridge import __version__
from python_kernel_bridge.cli import problem_lines, summary_line

from .samples import make_sample, record_session, validate

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
    assert done.stdout.strip() == "verdict: verified (3 cells, 0 errors, 0 diffs, tests 1/1)"
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
    assert lines[0] == "verdict: diverged (4 cells, 0 errors, 1 diffs, no tests)"
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
