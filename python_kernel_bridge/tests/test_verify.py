"""The replay verifier on real records: each session really ran once (nbclient), the replay runs in a fresh kernel."""

from __future__ import annotations

import asyncio
import copy
import json

import pytest

from python_kernel_bridge.normalise import redact_values
from python_kernel_bridge.replay import ReplayStartError
from python_kernel_bridge.verify import (
    InvalidSample,
    cell_kind,
    check_sample,
    comparison_mode,
    decide_verdict,
    secret_values,
    verify_sample,
)

from .samples import make_sample, record_session, session_sample, validate

#: A clean session: prints, a value, a repr with an address, %time, ANSI colours, a \r progress line, stderr.
GOOD = [
    "x = 21\ny = [i * i for i in range(4)]",
    "print('answer', x * 2)",
    "x * 2",
    "class Foo:\n    pass\nFoo()",
    "%time total = sum(range(10_000))",
    "import sys\nprint('\\x1b[32mgreen\\x1b[0m')\nprint('note', file=sys.stderr)",
    "for i in range(4):\n    print(f'\\r{i * 25}%', end='')\nprint()",
    "from IPython.display import Markdown, display\ndisplay(Markdown('**done**'))",
]


@pytest.fixture(scope="module")
def good_recorded(tmp_path_factory):
    return record_session(GOOD, tmp_path_factory.mktemp("session"))


def replay_cells(block):
    return {c["cell_id"]: c for c in block["replay"]["cells"]}


def test_a_clean_session_verifies(good_recorded):
    sample = make_sample(GOOD, good_recorded)
    before = copy.deepcopy(sample)
    block = verify_sample(sample, timeout=60)
    assert block["verdict"] == "verified", block
    replay = block["replay"]
    assert replay["runner"] == "nbclient" and replay["runner_version"] and replay["kernel_name"] == "python3"
    assert replay["python"] and replay["started_at"].endswith("Z") and replay["duration_ms"] > 0
    assert [c["cell_id"] for c in replay["cells"]] == [f"cell-{i}" for i in range(len(GOOD))]
    clean = {"status": "ok", "compared": "exact", "match": True}
    assert all(c == {"cell_id": c["cell_id"], "content": c["content"], **clean} for c in replay["cells"])
    assert [c["content"] for c in replay["cells"]][:3] == [[], ["text"], ["text"]]  # x = 21 prints nothing
    assert replay["compared"] == {"text": len(GOOD) - 1, "image": 0, "status": 0, "setup": 0, "none": 0}
    assert block["tests"] is None and block["criteria_version"] == "0.4"
    assert block["interactive"] == sample["verification"]["interactive"]
    assert sample == before  # the input is not modified
    validate(dict(sample, verification=block))  # the block fits the record's schema


def test_once_per_process_warnings_and_random_html_ids_still_verify(tmp_path):
    """A warning the session showed in an attempt the final notebook dropped shows again in the replay, and pandas
    names a Styler's HTML elements with a new random id every run: neither is a divergence (criteria 0.2)."""
    sources = [
        "import numpy as np\nimport pandas as pd",
        "np.mean([])",  # the attempt: numpy warns here, once per process
        "m = np.mean([])\nprint('empty mean is nan:', m != m)",
        "pd.DataFrame({'a': [1, 3], 'b': [2.5, 0.5]}).style.highlight_max()",
    ]
    recorded = record_session(sources, tmp_path)
    kept = [0, 2, 3]
    assert not [o for o in recorded[2]["outputs"] if o.get("name") == "stderr"]  # warned already, in cell 1
    fresh = record_session([sources[i] for i in kept], tmp_path)  # what a replay really prints
    assert "RuntimeWarning: Mean of empty slice" in "".join(o.get("text", "") for o in fresh[1]["outputs"])
    assert fresh[2]["outputs"][0]["data"]["text/html"] != recorded[3]["outputs"][0]["data"]["text/html"]
    sample = make_sample([sources[i] for i in kept], [recorded[i] for i in kept])
    block = verify_sample(sample, timeout=60)
    assert block["verdict"] == "verified", block
    assert all(c["compared"] == "exact" and c["match"] for c in block["replay"]["cells"])
    # The same html with a value changed still diverges.
    changed = copy.deepcopy(recorded[3])
    html = changed["outputs"][0]["data"]["text/html"]
    changed["outputs"][0]["data"]["text/html"] = html.replace(">2.500000<", ">2.600000<")
    assert changed["outputs"][0]["data"]["text/html"] != html
    block = verify_sample(make_sample([sources[i] for i in kept], [recorded[0], recorded[2], changed]), timeout=60)
    assert block["verdict"] == "diverged"


def test_b_randomness_diverges(tmp_path):
    sample = session_sample(["import random\nprint(random.random())"], tmp_path)
    block = verify_sample(sample, timeout=60)
    assert block["verdict"] == "diverged"
    cell = block["replay"]["cells"][0]
    assert cell["status"] == "ok" and cell["compared"] == "exact" and cell["match"] is False
    assert cell["diff"].startswith("@@") and "[stdout]" in cell["diff"]


def test_c_a_file_from_the_session_is_missing_at_replay(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    sample = session_sample(["print(open('data.csv').read())", "print('after')"], tmp_path)
    assert sample["notebook"]["cells"][0]["outputs"][0]["text"].startswith("a,b")
    block = verify_sample(sample, timeout=60)
    assert block["verdict"] == "failed"
    first, second = block["replay"]["cells"]
    assert first["status"] == "error" and first["error"]["ename"] == "FileNotFoundError" and first["match"] is False
    assert second["status"] == "ok" and second["match"] is True  # allow_errors: every cell's status is seen


def test_c_cwd_can_be_given(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n")
    sample = session_sample(["print(open('data.csv').read())"], tmp_path)
    assert verify_sample(sample, timeout=60, cwd=str(tmp_path))["verdict"] == "verified"


def test_d_wall_clock_diverges_never_verifies(tmp_path):
    sample = session_sample(["import time\nprint(time.time())"], tmp_path)
    block = verify_sample(sample, timeout=60)
    assert block["verdict"] == "diverged"
    assert block["replay"]["cells"][0]["match"] is False


def test_e_installer_cells_compare_by_status_only(tmp_path):
    sources = ["%pip --version", "%pip install nbformat", "import random\nprint(random.random())"]
    recorded = record_session(sources, tmp_path)
    for cell in recorded[:2]:  # installer chatter differs between runs: pretend it did
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "Successfully installed nothing-1.0\n"}]
    sample = make_sample(sources, recorded, cell_metadata={2: {"nondeterministic": True}})
    assert [cell_kind(c) for c in sample["notebook"]["cells"]] == ["magic", "pip", "python"]
    block = verify_sample(sample, timeout=120)
    assert block["verdict"] == "verified", block
    assert [c["compared"] for c in block["replay"]["cells"]] == ["status", "status", "status"]


def test_e_status_compare_catches_a_status_change(tmp_path):
    sources = ["%pip --version"]
    error = {"output_type": "error", "ename": "OSError", "evalue": "x", "traceback": []}
    recorded = [{"outputs": [error], "execution_count": 1}]
    block = verify_sample(make_sample(sources, recorded), timeout=60)
    cell = block["replay"]["cells"][0]
    assert (cell["compared"], cell["match"], block["verdict"]) == ("status", False, "diverged")
    assert cell["diff"] == "status: recorded error, replayed ok"


def test_f_task_tests_pass_and_fail(good_recorded):
    tests = ["assert x == 21", "assert y == [0, 1, 4, 9]"]
    passing = verify_sample(make_sample(GOOD, good_recorded, tests=tests), timeout=60)
    assert passing["verdict"] == "verified"
    results = [{"index": 0, "status": "passed"}, {"index": 1, "status": "passed"}]
    assert passing["tests"] == {"passed": 2, "failed": 0, "results": results}
    tests = ["assert x == 21", "assert x == 22, 'wrong x'", "1 / 0"]
    failing = verify_sample(make_sample(GOOD, good_recorded, tests=tests), timeout=60)
    assert failing["verdict"] == "failed"
    assert failing["tests"]["passed"] == 1 and failing["tests"]["failed"] == 2
    wrong = failing["tests"]["results"][1]
    assert (wrong["index"], wrong["status"], wrong["error"]["ename"], wrong["error"]["evalue"]) == (
        1, "failed", "AssertionError", "wrong x"
    )
    assert wrong["error"]["traceback"].endswith("AssertionError: wrong x")  # ANSI-stripped, for the verify gate
    assert failing["tests"]["results"][2]["error"]["ename"] == "ZeroDivisionError"
    assert all(c["status"] == "ok" and c["match"] for c in failing["replay"]["cells"])


def test_timeout_fails_and_skips_the_rest():
    sources = ["import time\ntime.sleep(30)", "print(1)"]
    printed = {"output_type": "stream", "name": "stdout", "text": "1\n"}
    recorded = [{"outputs": [], "execution_count": 1}, {"outputs": [printed], "execution_count": 2}]
    block = verify_sample(make_sample(sources, recorded, tests=["assert True"]), timeout=1.5)
    assert block["verdict"] == "failed"
    slow, after = block["replay"]["cells"]
    assert (slow["status"], slow["compared"], slow["match"]) == ("timeout", "none", False)
    assert (after["status"], after["compared"]) == ("skipped", "none")
    assert block["tests"]["results"] == [{"index": 0, "status": "skipped"}] and block["tests"]["failed"] == 1


def test_kernel_death_fails():
    sources = ["import os\nos._exit(1)", "print(1)"]
    recorded = [{"outputs": [], "execution_count": 1}, {"outputs": [], "execution_count": 2}]
    block = verify_sample(make_sample(sources, recorded), timeout=30)
    assert block["verdict"] == "failed"
    dead, after = block["replay"]["cells"]
    assert dead["status"] == "error" and dead["error"]["ename"] == "DeadKernelError"
    assert after["status"] == "skipped"


def test_truncated_recordings_compare_by_status(good_recorded):
    sample = make_sample(GOOD[:2], good_recorded[:2])
    sample["steps"][4]["truncated"] = True  # the execution of cell-1
    sample["notebook"]["cells"][1]["outputs"][0]["text"] = "answer 4[… 3 bytes dropped …]2\n"
    block = verify_sample(sample, timeout=60)
    assert [c["compared"] for c in block["replay"]["cells"]] == ["exact", "status"]
    assert block["verdict"] == "verified"


def test_no_notebook_or_no_code_is_unverified(good_recorded):
    sample = make_sample(GOOD[:1], good_recorded[:1])
    assert verify_sample(dict(sample, notebook=None))["verdict"] == "unverified"
    markdown_only = copy.deepcopy(sample)
    markdown_only["notebook"]["cells"] = [{"cell_type": "markdown", "id": "m", "source": "# hi", "metadata": {}}]
    block = verify_sample(markdown_only)
    assert block == {**block, "replay": None, "tests": None, "verdict": "unverified", "criteria_version": "0.4"}


def test_plain_notebook_without_aiev_metadata(tmp_path):
    sources = ["%pip --version", "print(2)"]
    sample = session_sample(sources, tmp_path)
    for cell in sample["notebook"]["cells"]:
        del cell["metadata"]["aiev"]
        cell["source"] = cell["source"].splitlines(keepends=True)  # on-disk list form
    assert [cell_kind(c) for c in sample["notebook"]["cells"]] == ["pip", "python"]
    block = verify_sample(sample, timeout=60)
    assert [c["compared"] for c in block["replay"]["cells"]] == ["status", "exact"]
    assert block["verdict"] == "verified"


def test_sync_api_inside_a_running_loop(good_recorded):
    sample = make_sample(GOOD[:1], good_recorded[:1])

    async def inside():
        return verify_sample(dict(sample, notebook=None))

    assert asyncio.run(inside())["verdict"] == "unverified"


def test_bad_input_and_unknown_kernel(good_recorded):
    with pytest.raises(InvalidSample):
        verify_sample([1, 2])
    with pytest.raises(InvalidSample):
        verify_sample({"cells": []})
    with pytest.raises(InvalidSample):
        verify_sample({"notebook": None, "task": {"tests": "assert 1"}})
    with pytest.raises(ReplayStartError, match="no-such-kernel"):
        verify_sample(make_sample(GOOD[:1], good_recorded[:1]), kernel_name="no-such-kernel")


def test_rules_without_kernels():
    installer = {"cell_type": "code", "source": "# deps\n!pip install -q x", "metadata": {}}
    assert comparison_mode(installer) == "status"
    assert comparison_mode({"source": "%conda install x", "metadata": {}}) == "status"
    assert comparison_mode({"source": "print('%pip')", "metadata": {}}) == "exact"
    assert comparison_mode({"source": "x", "metadata": {"aiev": {"nondeterministic": True}}}) == "status"
    ok = {"status": "ok", "match": True}
    assert decide_verdict([], None) == "unverified"
    assert decide_verdict([ok, ok], {"failed": 0}) == "verified"
    assert decide_verdict([ok, dict(ok, match=False)], None) == "diverged"
    assert decide_verdict([dict(ok, match=False), dict(ok, status="error")], None) == "failed"
    assert decide_verdict([ok, dict(ok, match=False)], {"failed": 1}) == "failed"


SECRET = "no-known-shape-4242"
PRINTS_SECRET = ["import os\nprint('value:', os.environ['SOME_SECRET'])"]


@pytest.fixture
def secret_recorded(tmp_path, monkeypatch):
    """A session's cell that printed a secret of its kernel's environment, recorded scrubbed."""
    monkeypatch.setenv("SOME_SECRET", SECRET)
    recorded = record_session(PRINTS_SECRET, tmp_path)  # the kernel inherits SOME_SECRET
    assert recorded[0]["outputs"][0]["text"] == f"value: {SECRET}\n"
    recorded[0]["outputs"][0]["text"] = "value: [REDACTED]\n"  # what the session wrote
    return recorded


def test_a_kernel_secret_listed_by_name_verifies(secret_recorded):
    sample = make_sample(PRINTS_SECRET, secret_recorded, tests=["assert False, os.environ['SOME_SECRET']"])
    sample["environment"]["secret_env_names"] = ["SOME_SECRET"]
    block = verify_sample(sample, timeout=60)
    assert block["replay"]["cells"][0] == {
        "cell_id": "cell-0", "status": "ok", "compared": "exact", "match": True, "content": ["text"]
    }
    # errors are scrubbed too (here a failing test whose message is the secret)
    error = block["tests"]["results"][0]["error"]
    assert (error["ename"], error["evalue"]) == ("AssertionError", "[REDACTED]")
    assert SECRET not in json.dumps(block)


def test_a_kernel_secret_not_listed_diverges(secret_recorded):
    sample = make_sample(PRINTS_SECRET, secret_recorded)
    assert verify_sample(sample, timeout=60)["verdict"] == "diverged"
    sample["environment"]["secret_env_names"] = ["SOME_OTHER_NAME"]
    assert verify_sample(sample, timeout=60)["verdict"] == "diverged"


def test_secret_values_rules(monkeypatch):
    sample = {"environment": {"secret_env_names": ["A", "SHORT", "UNSET"]}}
    assert secret_values(sample, {"A": "12345678", "SHORT": "1234567"}) == ["12345678"]
    assert secret_values({"environment": {}}, {"A": "12345678"}) == []
    assert redact_values({"x": ["a 12345678 b", 3]}, ["12345678"]) == {"x": ["a [REDACTED] b", 3]}
    with pytest.raises(InvalidSample, match="secret_env_names"):
        check_sample({"notebook": None, "environment": {"secret_env_names": "A"}})
