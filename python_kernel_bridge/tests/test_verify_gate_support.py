"""What the verify gate of ``aiev batch`` needs from the verifier: task setup sources, paths streamed on stdin to
one long-lived process, and judging a replay made elsewhere (``--replayed``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from python_kernel_bridge.verify import InvalidSample, replayed_block, verify_sample

from .samples import make_sample, record_session

SOURCES = ["y = base * 2", "print(y)"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return record_session(["base = 21", *SOURCES], tmp_path_factory.mktemp("session"))


def with_setup(recorded, setup, tests=()):
    """A sample of SOURCES whose `base` comes from the task's setup (the session ran it first, silently)."""
    sample = make_sample(SOURCES, recorded[1:], tests=list(tests))
    sample["task"]["setup"] = setup
    return sample


def test_setup_runs_before_the_cells_in_the_same_kernel(recorded):
    block = verify_sample(with_setup(recorded, ["base = 21"], ["assert y == 42"]), timeout=60)
    assert block["verdict"] == "verified"
    assert block["replay"]["setup"] == [{"index": 0, "status": "ok"}]


def test_a_failing_setup_fails_the_sample(recorded):
    block = verify_sample(with_setup(recorded, ["base = 21", "raise RuntimeError('no data')"]), timeout=60)
    assert block["verdict"] == "failed"
    failed = block["replay"]["setup"][1]
    assert (failed["status"], failed["error"]["ename"], failed["error"]["evalue"]) == ("error", "RuntimeError", "no data")
    assert "raise RuntimeError('no data')" in failed["error"]["traceback"]


def test_setup_must_be_a_list_of_sources(recorded):
    with pytest.raises(InvalidSample, match="'setup'"):
        verify_sample(with_setup(recorded, "base = 21"), timeout=60)


def test_a_replay_made_elsewhere_is_judged_like_one_made_here(recorded):
    sample = make_sample(["base = 21", *SOURCES], recorded, tests=["assert y == 42"])
    cells = [{"index": i, "status": "ok", "outputs": step["outputs"]} for i, step in enumerate(recorded)]
    run = {"kernel_name": "python3", "runner": "aiev-headless", "cells": cells,
           "tests": [{"index": 0, "status": "ok", "outputs": []}]}
    block = replayed_block(sample, run)
    assert (block["verdict"], block["replay"]["runner"], block["tests"]["passed"]) == ("verified", "aiev-headless", 1)
    changed = dict(run, cells=[*cells[:2], {"index": 2, "status": "ok", "outputs": []}])
    assert replayed_block(sample, changed)["verdict"] == "diverged"
    failing = dict(run, tests=[{"index": 0, "status": "error", "error": {"ename": "AssertionError", "evalue": ""}}])
    assert replayed_block(sample, failing)["tests"] == {
        "passed": 0, "failed": 1, "results": [{"index": 0, "status": "failed", "error": {"ename": "AssertionError", "evalue": ""}}],
    }
    with pytest.raises(InvalidSample, match="2 entries for 3 code cells"):
        replayed_block(sample, dict(run, cells=cells[:2]))


def test_one_process_answers_each_path_as_stdin_brings_it(tmp_path, recorded):
    """The second path is written only after the first one's answer came back: the process streams."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps(make_sample(["base = 21", *SOURCES], recorded)))
    pair = {"sample": make_sample(["base = 21", *SOURCES], recorded),
            "run": {"cells": [{"index": i, "status": "ok", "outputs": s["outputs"]} for i, s in enumerate(recorded)]}}
    second.write_text(json.dumps(pair))
    command = [sys.executable, "-m", "python_kernel_bridge", "verify", "--files-from", "-", "--jsonl", "--timeout", "60"]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        child.stdin.write(f"{first}\n")
        child.stdin.flush()
        answer = json.loads(child.stdout.readline())
        assert (answer["file"], answer["verdict"]) == (str(first), "verified")
        assert answer["verification"]["replay"]["runner"] == "nbclient"
        child.stdin.write(f"{tmp_path / 'missing.json'}\n")
        child.stdin.flush()
        assert "No such file" in json.loads(child.stdout.readline())["error"]
        child.stdin.close()
        assert child.wait(timeout=60) == 2
    finally:
        child.kill()
    replayed = subprocess.run([*command, "--replayed"], input=f"{second}\n", capture_output=True, text=True, timeout=60)
    answer = json.loads(replayed.stdout)
    assert (replayed.returncode, answer["verdict"], answer["verification"]["replay"]["runner"]) == (0, "verified", "nbclient")
