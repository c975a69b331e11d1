"""Normalisation and output canonicalisation: pure functions, no kernel."""

from python_kernel_bridge.normalise import (
    canonical_outputs,
    collapse_carriage_returns,
    drop_warnings,
    mask_addresses,
    mask_kernel_paths,
    mask_timings,
    normalise_text,
    rename_html_ids,
    strip_ansi,
    strip_trailing_whitespace,
)


def stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def result(data, kind="execute_result"):
    out = {"output_type": kind, "data": data, "metadata": {}}
    if kind == "execute_result":
        out["execution_count"] = 1
    return out


def test_ansi_colours_cursor_and_osc_are_removed():
    assert strip_ansi("\x1b[31mred\x1b[0m \x1b[1;32mbold\x1b[39m") == "red bold"
    assert strip_ansi("a\x1b[2K\x1b[1Ab") == "ab"
    assert strip_ansi("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\") == "link"
    assert strip_ansi("\x1b]0;title\x07done") == "done"


def test_crlf_and_carriage_return_progress_collapse():
    assert collapse_carriage_returns("a\r\nb\r\n") == "a\nb\n"
    assert collapse_carriage_returns("10%\r50%\r100%\ndone") == "100%\ndone"
    assert collapse_carriage_returns("50%\r100%\r") == "100%"  # a trailing \r does not blank the line
    assert collapse_carriage_returns("abc\x08\x08d") == "ad"


def test_memory_addresses_and_object_reprs():
    assert mask_addresses("<__main__.Foo object at 0x7f3a1c2b3d40>") == "<__main__.Foo object at 0x…>"
    assert mask_addresses("<function <lambda> at 0x10a2b3c40>") == "<function <lambda> at 0x…>"
    assert mask_addresses("id 0x7ffee4b2c8a0 and 0X1") == "id 0x… and 0X1"
    assert mask_addresses("hex(255) = 0xff") == "hex(255) = 0xff"  # short hex is data, kept


def test_timings():
    assert mask_timings("took 1.23 s, then 123 ms and 4.5µs, 12ns, 3e-05 s") == (
        "took <time>, then <time> and <time>, <time>, <time>"
    )
    magic_time = "CPU times: user 1.2 ms, sys: 0 ns, total: 1.2 ms\nWall time: 2.38 ms"
    assert mask_timings(magic_time) == "CPU times: <time>\nWall time: <time>"
    timeit = "1.23 µs ± 4.56 ns per loop (mean ± std. dev. of 7 runs, 1,000,000 loops each)"
    assert mask_timings(f"before\n{timeit}\nafter") == "before\n<timeit>\nafter"
    tqdm = "100%|##########| 10/10 [00:01<00:00, 9.87it/s]"
    assert mask_timings(tqdm) == "100%|##########| 10/10 [<elapsed>, <rate>]"
    assert mask_timings("10 samples, 3 seconds") == "10 samples, <time>"
    assert mask_timings("v1.2.3 s3 2s") == "v1.2.3 s3 <time>"


def test_kernel_paths_and_trailing_whitespace():
    warning = "/tmp/ipykernel_41234/2893472.py:3: UserWarning: careful"
    assert mask_kernel_paths(warning) == "/tmp/ipykernel_<pid>/<cell>.py:3: UserWarning: careful"
    assert strip_trailing_whitespace("a  \nb\t\n\n\n") == "a\nb"


def test_normalise_text_chains_everything():
    text = "\x1b[32mok\x1b[0m   \r\n<A object at 0x7f00deadbeef>\r\nWall time: 5 s\r\n\r\n"
    assert normalise_text(text) == "ok\n<A object at 0x…>\nWall time: <time>"


def test_streams_merge_and_stdout_stderr_interleaving_is_ignored():
    one = [stream("a\n"), stream("warn\n", "stderr"), stream("b\n")]
    two = [stream("a\nb\n"), stream(["wa", "rn\n"], "stderr")]
    assert canonical_outputs(one) == canonical_outputs(two) == "[stdout]\na\nb\n[stderr]\nwarn"
    # a display between two prints is kept in place
    three = [stream("a\n"), result({"text/plain": "1"}, "display_data"), stream("b\n")]
    assert canonical_outputs(three) != canonical_outputs(two)


def test_mime_bundles_images_by_presence_text_and_json_by_content():
    png_a = result({"image/png": "iVBORw0KGgoAAA", "text/plain": "<Figure size 640x480 with 1 Axes>"}, "display_data")
    png_b = result({"image/png": "iVBORw0KGgoBBB", "text/plain": "<Figure size 640x480 with 1 Axes>"}, "display_data")
    assert canonical_outputs([png_a]) == canonical_outputs([png_b])
    assert "[display_data image/png] <present>" in canonical_outputs([png_a])
    no_png = result({"text/plain": "<Figure size 640x480 with 1 Axes>"}, "display_data")
    assert canonical_outputs([png_a]) != canonical_outputs([no_png])
    assert canonical_outputs([result({"application/json": {"b": 1, "a": [1, 2]}})]) == canonical_outputs(
        [result({"application/json": {"a": [1, 2], "b": 1}})]
    )
    one, two = result({"application/json": {"a": 1}}), result({"application/json": {"a": 2}})
    assert canonical_outputs([one]) != canonical_outputs([two])
    html_one, html_two = result({"text/html": ["<b>", "1</b>"]}), result({"text/html": "<b>2</b>"})
    assert canonical_outputs([html_one]) != canonical_outputs([html_two])
    widget_a = result({"application/vnd.jupyter.widget-view+json": {"model_id": "abc"}}, "display_data")
    widget_b = result({"application/vnd.jupyter.widget-view+json": {"model_id": "def"}}, "display_data")
    assert canonical_outputs([widget_a]) == canonical_outputs([widget_b])


def test_errors_compare_by_name_only():
    err = {"output_type": "error", "ename": "ValueError", "evalue": "x at 0x1", "traceback": ["\x1b[31mTraceback one"]}
    other = dict(err, evalue="different", traceback=["line 99"])
    assert canonical_outputs([err]) == canonical_outputs([other]) == "[error] ValueError"
    assert canonical_outputs([err]) != canonical_outputs([dict(err, ename="KeyError")])
    assert canonical_outputs([]) == ""


def test_python_warnings_are_dropped_from_stderr_only():
    warning = (
        "/tmp/ipykernel_41/2731.py:3: FutureWarning: The default of observed=False is deprecated\n"
        "  df.groupby('a').sum()\n"
    )
    dotted = "/usr/lib/python3/site-packages/sklearn/linear_model/_logistic.py:469: sklearn.exceptions.ConvergenceWarning: lbfgs failed\n"
    assert drop_warnings(warning + "Traceback-free note\n" + dotted) == "Traceback-free note\n"
    assert drop_warnings("row 12: UserWarning-like text without the form\n") == "row 12: UserWarning-like text without the form\n"
    assert drop_warnings("a.py:1: NotAWarningCategory: x\n") == "a.py:1: NotAWarningCategory: x\n"
    # A warning shown in one run and not the other (once per process) compares equal; other stderr text does not.
    quiet, warned = [stream("42\n")], [stream("42\n"), stream(warning, "stderr")]
    assert canonical_outputs(quiet) == canonical_outputs(warned)
    assert canonical_outputs(quiet) != canonical_outputs(warned + [stream("real problem\n", "stderr")])
    # On stdout the same text is content.
    assert canonical_outputs(quiet) != canonical_outputs([stream("42\n" + warning)])


def sklearn_view(counter, estimator="LogisticRegression(max_iter=200)"):
    """The shape of scikit-learn's HTML estimator view: per-process counters in ids, CSS scoped by them."""
    return (
        f"<style>#sk-container-id-{counter} {{color: black;}} #sk-container-id-{counter} pre {{padding: 0;}}</style>"
        f'<div id="sk-container-id-{counter}" class="sk-top-container"><div class="sk-item">'
        f'<input class="sk-toggleable__control" id="sk-estimator-id-{counter * 2}" type="checkbox" checked>'
        f'<label for="sk-estimator-id-{counter * 2}" class="sk-toggleable__label">{estimator}</label></div></div>'
    )


def test_html_ids_are_renamed_in_order_of_appearance():
    assert rename_html_ids(sklearn_view(1)) == rename_html_ids(sklearn_view(7))
    assert "sk-container-id" not in rename_html_ids(sklearn_view(3))
    assert "#aiev-id-1 pre" in rename_html_ids(sklearn_view(3))  # the selectors follow their element
    assert rename_html_ids(sklearn_view(1)) != rename_html_ids(sklearn_view(1, "LogisticRegression(C=0.5)"))
    # A token that merely starts like an id is left alone; a page without ids is unchanged.
    assert rename_html_ids('<p id="T_ab">T_ab_row0 T_ab</p>') == '<p id="aiev-id-1">T_ab_row0 aiev-id-1</p>'
    assert rename_html_ids("<b>no ids</b>") == "<b>no ids</b>"
    # In a bundle: html compared with its ids renamed, text/plain as it is.
    one = result({"text/html": sklearn_view(1), "text/plain": "LogisticRegression(max_iter=200)"})
    two = result({"text/html": sklearn_view(5), "text/plain": "LogisticRegression(max_iter=200)"})
    assert canonical_outputs([one]) == canonical_outputs([two])


def test_pandas_styler_random_ids_compare_equal():
    import pandas  # in requirements-dev.txt
    frame = pandas.DataFrame({"a": [1, 3], "b": [2.5, 0.5]})
    first, second = (frame.style.highlight_max().to_html() for _ in range(2))
    assert first != second  # random uuids: the reason for the renaming
    assert canonical_outputs([result({"text/html": first})]) == canonical_outputs([result({"text/html": second})])
    changed = frame.assign(b=[2.5, 9.0]).style.highlight_max().to_html()
    assert canonical_outputs([result({"text/html": first})]) != canonical_outputs([result({"text/html": changed})])
