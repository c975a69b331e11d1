"""Criteria 0.3 on real kernel output: what notebooks people leave behind print, replayed in fresh kernels.

Each rule is checked on outputs a real kernel produced (``record_session``), against a second real run that differs
the way a replay does (a fresh folder, another figure size, another order of summation), and the cases that must
still diverge are checked too.
"""

from __future__ import annotations

import copy

from python_kernel_bridge.images import image_difference, images_of
from python_kernel_bridge.normalise import canonical_outputs, texts_match
from python_kernel_bridge.verify import comparison_mode, verify_sample

from .samples import make_sample, record_session

PLOT = "import matplotlib.pyplot as plt\nimport numpy as np\n%matplotlib inline\n"
SEEDED = PLOT + "rng = np.random.default_rng(0)\nplt.scatter(rng.random(50), rng.random(50))\nplt.show()"
UNSEEDED = PLOT + "plt.scatter(np.random.rand(50), np.random.rand(50))\nplt.show()"


def canonical(source: str, cwd) -> str:
    return canonical_outputs(record_session([source], cwd)[0]["outputs"])


def test_a_multi_line_warning_is_dropped_whole(tmp_path):
    source = "import warnings\nwarnings.warn('first line\\nsecond line\\nthird line')\nprint('after')"
    outputs = record_session([source], tmp_path)[0]["outputs"]
    stderr = "".join(o["text"] for o in outputs if o.get("name") == "stderr")
    assert "UserWarning: first line\nsecond line\nthird line\n  warnings.warn(" in stderr  # what the kernel printed
    assert canonical_outputs(outputs) == "[stdout]\nafter"
    # Other stderr text after a warning is kept.
    kept = canonical(source + "\nimport sys\nprint('real problem', file=sys.stderr)", tmp_path)
    assert kept.endswith("[stderr]\nreal problem")


def test_file_magic_writing_and_overwriting_compare_equal(tmp_path):
    cell = "%%file helper_mod.py\ndef f():\n    return 1\n"
    first, again = record_session([cell, cell], tmp_path)
    assert first["outputs"][0]["text"] == "Writing helper_mod.py\n"
    assert again["outputs"][0]["text"] == "Overwriting helper_mod.py\n"
    assert canonical_outputs(first["outputs"]) == canonical_outputs(again["outputs"])
    assert canonical_outputs(first["outputs"]) != canonical(cell.replace("helper_mod", "other_mod"), tmp_path)


def test_figure_size_text_is_not_compared_but_the_axes_are(tmp_path):
    small, default = record_session([PLOT + "plt.figure(figsize=(4.32, 2.88))", "plt.figure()"], tmp_path)
    assert small["outputs"][0]["data"]["text/plain"] == "<Figure size 432x288 with 0 Axes>"
    assert default["outputs"][0]["data"]["text/plain"] == "<Figure size 640x480 with 0 Axes>"
    assert canonical_outputs(small["outputs"]) == canonical_outputs(default["outputs"])
    assert canonical_outputs(small["outputs"]).startswith("[execute_result text/plain]\n<Figure with 0 Axes>")
    assert "<Figure with 2 Axes>" in canonical(PLOT + "plt.subplots(1, 2)[0]", tmp_path)


def test_an_axes_repr_compares_across_matplotlib_versions(tmp_path):
    # What this matplotlib prints for a pandas-style plot cell, and what older versions printed for the same cell
    # (a real notebook recorded with matplotlib < 3.3 said the first of them).
    now = record_session([PLOT + "ax = plt.gca()\nax.set_xlabel('x')\nax"], tmp_path)[0]["outputs"]
    assert now[0]["data"]["text/plain"] == "<Axes: xlabel='x'>"
    for old in ("<matplotlib.axes._subplots.AxesSubplot at 0x7f3a2c1b5e10>", "<AxesSubplot:xlabel='x'>"):
        recorded = copy.deepcopy(now)
        recorded[0]["data"]["text/plain"] = old
        assert canonical_outputs(recorded) == canonical_outputs(now)
    other = copy.deepcopy(now)
    other[0]["data"]["text/plain"] = "<matplotlib.lines.Line2D at 0x7f3a2c1b5e10>"
    assert canonical_outputs(other) != canonical_outputs(now)


def test_float_noise_matches_and_real_differences_do_not(tmp_path):
    noisy, exact, pandas_a, pandas_b = record_session(
        [
            "print(0.1 + 0.2, sum([0.1] * 10))",
            "print(0.3, 1.0)",
            "import pandas as pd\npd.Series([0.1234561])",
            "pd.Series([0.1234569])",
        ],
        tmp_path,
    )
    a, b = canonical_outputs(noisy["outputs"]), canonical_outputs(exact["outputs"])
    assert a == "[stdout]\n0.30000000000000004 0.9999999999999999" and b == "[stdout]\n0.3 1.0"
    assert texts_match(a, b) and not texts_match(a, b, rel_tol=0)
    x, y = canonical_outputs(pandas_a["outputs"]), canonical_outputs(pandas_b["outputs"])
    assert x != y and texts_match(x, y)  # the last printed digit
    assert not texts_match("[stdout]\n0.5", "[stdout]\n0.6")
    assert not texts_match("[stdout]\n7 rows", "[stdout]\n8 rows")


def test_profiler_and_timing_magics_are_compared_by_status(tmp_path):
    sources = ["%prun -q sum(range(1000))", "x = 1\n%timeit -n 2 -r 2 sum(range(100))", "%time y = 2"]
    recorded = record_session(sources, tmp_path)
    sample = make_sample(sources, recorded)
    cells = sample["notebook"]["cells"]
    assert [comparison_mode(c) for c in cells] == ["status", "status", "exact"]
    sample["notebook"]["cells"][1]["outputs"][0]["text"] = "100000 loops, best of 3: 1.2 us per loop\n"  # an old IPython
    block = verify_sample(sample, timeout=60)
    assert block["verdict"] == "verified", block
    assert block["replay"]["compared"]["status"] == 2


def test_unexecuted_cells_run_as_setup_and_must_run_cleanly(tmp_path):
    sources = ["import math", "print(math.sqrt(16))"]
    recorded = record_session(sources, tmp_path)
    recorded[0] = {"outputs": [], "execution_count": None}  # run in an earlier sitting: no count, no outputs
    sample = make_sample(sources, recorded, cell_metadata={0: {"setup": True}})
    block = verify_sample(sample, timeout=60)
    assert block["verdict"] == "verified", block
    assert block["replay"]["cells"][0] == {"cell_id": "cell-0", "status": "ok", "compared": "none", "match": True, "setup": True}
    assert block["replay"]["compared"] == {"text": 1, "image": 0, "status": 0, "setup": 1, "none": 0}
    broken = copy.deepcopy(sample)
    broken["notebook"]["cells"][0]["source"] = "import no_such_module_here"
    assert verify_sample(broken, timeout=60)["verdict"] == "failed"


def test_images_are_compared_perceptually(tmp_path):
    seeded_a, seeded_b, unseeded = record_session([SEEDED, SEEDED, UNSEEDED], tmp_path)
    (_, a), (_, b), (_, c) = (images_of(r["outputs"])[0] for r in (seeded_a, seeded_b, unseeded))
    assert image_difference(a, b) == 0.0
    assert image_difference(a, c) > 0.3
    assert image_difference(a, "bm90IGFuIGltYWdl") == 1.0  # not an image

    verified = verify_sample(make_sample([SEEDED], [seeded_a]), timeout=60)
    assert verified["verdict"] == "verified", verified
    cell = verified["replay"]["cells"][0]
    assert cell["content"] == ["image"] and cell["images"] == {"count": 1, "match": True, "max_difference": 0.0}
    assert verified["replay"]["compared"]["image"] == 1 and verified["replay"]["compared"]["text"] == 0

    diverged = verify_sample(make_sample([UNSEEDED], [unseeded]), timeout=60)
    assert diverged["verdict"] == "diverged"
    cell = diverged["replay"]["cells"][0]
    assert cell["images"]["match"] is False and "of the ink changed" in cell["diff"]


def test_a_failure_while_ipython_formats_a_result_is_named_by_its_exception(tmp_path):
    # A plotting library's renderer failing in IPython's display formatter (plotly without nbformat, as found in a
    # real notebook): the kernel's reply says only "NoneType: None"; the exception is in the cell's error output.
    source = (
        "class Chart:\n    def _repr_mimebundle_(self, include=None, exclude=None):\n"
        "        raise ValueError('Mime type rendering requires nbformat>=4.2.0 but it is not installed')\nChart()"
    )
    recorded = record_session(["print('fine')"], tmp_path)
    sample = make_sample([source], recorded)
    block = verify_sample(sample, timeout=60, cwd=str(tmp_path))
    cell = block["replay"]["cells"][0]
    assert (cell["status"], cell["error"]["ename"]) == ("error", "ValueError")
    assert cell["error"]["evalue"] == "Mime type rendering requires nbformat>=4.2.0 but it is not installed"
