"""book.profiling: cProfile tables and charts, flame boxes, call graphs, line timings, the torch
profiler on a GPT step, and the LSTM step's fix (skipping dx) against the step without it.

Nothing here compares a time with a number: the planted slow function and line are thousands of
times slower than the rest, and the flame layout is checked against the statistics it is made
from, whatever those say.
"""

from __future__ import annotations

import json
import shutil

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from book import profiling as pf  # noqa: E402


def busy(n: int = 300_000) -> int:
    """Slow on purpose: a pure-Python loop (tens of milliseconds), all in this function's own
    code (a generator expression would be a function of its own)."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def quick() -> int:
    """Fast: next to nothing."""
    return 1 + 1


def leaf() -> int:
    """Called by `shared` only."""
    return busy(20_000)


def shared() -> int:
    """Called by both `caller_a` and `caller_b`, so its time must be shared out between them."""
    return leaf() + busy(10_000)


def caller_a() -> int:
    return shared()


def caller_b() -> int:
    return shared() + shared() + shared()


def program() -> int:
    """The profiled program of the tests: a slow function, a fast one, a shared callee."""
    return busy() + quick() + caller_a() + caller_b()


class Worker:
    def run(self) -> int:
        return quick()


@pytest.fixture(scope="module")
def stats():
    return pf.profile_call(program, repeat=2)


@pytest.fixture(scope="module")
def lstm_stats():
    step = pf.LSTMTrainingStep(T=6, B=3, H=8, V=5, dtype=np.float64)
    return pf.profile_call(step, repeat=2)


def test_the_table_and_the_exercise_find_the_planted_slow_function(stats):
    top = pf.function_table(stats, n=3)
    assert top[0].function.endswith(" busy"), top
    assert top[0].ncalls == 2 + 2 * 4 * 2  # program's 2 calls, and shared's 2 per call of it
    assert pf.slowest_function(stats) == "busy"
    assert pf.function_table(stats, n=1, sort="ncalls")[0].function.endswith(" busy")


def test_shares_sum_to_one_and_the_rows_are_ordered(stats):
    rows = pf.function_table(stats, n=10_000)
    assert len(rows) == len(stats.stats)
    assert sum(r.share for r in rows) == pytest.approx(1.0, abs=1e-9)
    assert all(r.tottime <= r.cumtime + 1e-9 for r in rows)
    assert [r.tottime for r in rows] == sorted((r.tottime for r in rows), reverse=True)
    by_cum = pf.function_table(stats, n=3, sort="cumtime")
    assert by_cum[0].function.endswith(" program") and by_cum[0].ncalls == 2
    assert not any("_lsprof" in r.key[2] for r in rows)  # the profiler's own call is left out
    with pytest.raises(ValueError, match="sort must be one of"):
        pf.function_table(stats, sort="time")
    with pytest.raises(TypeError, match="pass the function itself"):
        pf.profile_call(program(), repeat=1)
    with pytest.raises(ValueError, match="repeat"):
        pf.profile_call(program, repeat=0)


def test_names_are_readable_with_the_class_and_the_line():
    rows = pf.function_table(pf.profile_call(Worker().run), n=100)
    names = [r.function for r in rows]
    line = Worker.run.__code__.co_firstlineno
    assert f"test_profiling.py:{line} Worker.run" in names
    assert pf.function_name(("~", 0, "<method 'reshape' of 'numpy.ndarray' objects>")) == \
        "ndarray.reshape (C)"
    assert pf.function_name(("~", 0, "<built-in method builtins.sum>")) == "builtins.sum (C)"


def _contains(parent: pf.FlameBox, child: pf.FlameBox) -> bool:
    return (child.depth == parent.depth + 1 and parent.start - 1e-12 <= child.start
            and child.start + child.width <= parent.start + parent.width + 1e-12)


def test_flame_boxes_nest_and_share_a_callee_by_the_caller_statistics(stats):
    boxes = pf.flame_boxes(stats, min_share=0.0)
    root = boxes[0]
    assert root.depth == 0 and root.function.endswith(" program")
    assert root.width == stats.stats[root.key][3]
    for box in boxes[1:]:
        parents = [p for p in boxes if _contains(p, box)]
        assert parents, f"{box} lies outside every box above it"
    for parent in boxes:
        children = [b for b in boxes if _contains(parent, b)]
        assert sum(b.width for b in children) <= parent.width * (1 + 1e-9)
    # shared() under caller_b: exactly the time pstats records for that edge (caller_b is called
    # only from program, the root, so no sharing out happens above it) ...
    key = {b.function.split()[-1]: b for b in boxes if b.depth == 1}["caller_b"].key
    under_b = [b for b in boxes if b.function.endswith(" shared")
               and any(_contains(p, b) and p.key == key for p in boxes)]
    assert len(under_b) == 1
    shared_key = under_b[0].key
    assert under_b[0].width == pytest.approx(stats.stats[shared_key][4][key][3], rel=1e-9)
    # ... and leaf() below it gets shared()'s time to leaf in proportion to that box's width
    leaf_box = next(b for b in boxes if _contains(under_b[0], b) and b.function.endswith(" leaf"))
    leaf_key = leaf_box.key
    expected = (stats.stats[leaf_key][4][shared_key][3] * under_b[0].width
                / stats.stats[shared_key][3])
    assert leaf_box.width == pytest.approx(expected, rel=1e-9)
    # a threshold drops narrow boxes, and the same statistics give the same layout
    wide = pf.flame_boxes(stats, min_share=0.2)
    assert all(b.width >= 0.2 * root.width for b in wide) and len(wide) < len(boxes)
    assert pf.flame_boxes(stats, min_share=0.0) == boxes


def test_flame_chart_draws_a_box_for_each_and_starts_where_asked(stats):
    boxes = pf.flame_boxes(stats, root="shared")
    assert boxes[0].function.endswith(" shared") and boxes[0].depth == 0
    ax = pf.flame_chart(stats, root="caller_b", min_share=0.0)
    assert len(ax.patches) == len(pf.flame_boxes(stats, root="caller_b", min_share=0.0))
    plt.close("all")
    with pytest.raises(ValueError, match="no function 'caler_b'.*caller_b"):
        pf.flame_boxes(stats, root="caler_b")


def test_profile_chart_has_a_bar_pair_per_row(stats):
    rows = pf.function_table(stats, n=4)
    ax = pf.profile_chart(rows, calls=2)
    assert len(ax.patches) == 2 * len(rows)
    at = {round(t.get_position()[1]): t.get_text() for t in ax.get_yticklabels()}
    assert [at[y] for y in range(len(rows) - 1, -1, -1)] == [r.function for r in rows]  # 1st on top
    plt.close("all")
    with pytest.raises(ValueError, match="no rows"):
        pf.profile_chart([])


def test_the_call_graph_names_the_lstm_functions(lstm_stats):
    dot = pf.call_graph_dot(lstm_stats, node_thres=0, edge_thres=0)
    assert dot.lstrip().startswith("digraph")
    for name in ("LSTM.forward", "LSTM.backward", "_Recurrent._param_grads", "Adam.step",
                 "LSTMTrainingStep.__call__"):
        assert name in dot, name
    with pytest.raises(ValueError, match="percentage"):
        pf.call_graph_dot(lstm_stats, node_thres=150)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_the_call_graph_renders_to_a_scalable_svg(lstm_stats):
    svg = pf.call_graph_svg(lstm_stats, node_thres=0, edge_thres=0)
    assert svg.startswith('<svg width="100%"') and "viewBox" in svg[:300]
    assert "LSTM.backward" in svg and svg.rstrip().endswith("</svg>")


def planted(n: int) -> int:
    total = 0
    for i in range(3):
        total += i
    total += sum(j * j for j in range(n))  # the slow line
    return total


def test_line_profile_puts_the_time_on_the_planted_slow_line():
    rows = pf.line_profile(planted, lambda: planted(200_000))
    assert rows[0].source.startswith("def planted") and rows[0].hits == 0
    hottest = max(rows, key=lambda r: r.time)
    assert "the slow line" in hottest.source and hottest.share > 0.9
    loop_body = next(r for r in rows if r.source.strip() == "total += i")
    assert loop_body.hits == 3
    assert sum(r.share for r in rows) == pytest.approx(1.0)
    with pytest.raises(TypeError, match="Python function"):
        pf.line_profile(len, lambda: len("abc"))
    with pytest.raises(ValueError, match="never ran"):
        pf.line_profile(planted, lambda: None)


def test_line_profile_of_a_method_of_the_lstm_step():
    from book.np_nn import LSTM

    step = pf.LSTMTrainingStep(T=5, B=2, H=4, V=3)
    rows = pf.line_profile(LSTM.forward, lambda: [step() for _ in range(2)])
    loop = next(r for r in rows if "np.matmul(self.weight_hh_l0" in r.source)
    assert loop.hits == 2 * 5  # two steps of T = 5 time steps


def test_markdown_table_keeps_code_readable():
    row = pf.LineRow(3, 2, 0.004, 0.5, "    x = a | b  # `a` or b")
    never = pf.LineRow(4, 0, 0.0, 0.0, "    # a comment")
    text = pf.markdown_table([row, never]).data
    body = text.splitlines()[2:]
    assert body[0].startswith("| 3 | 2 | 4.00 |") and "50%" in body[0]
    assert body[0].endswith("| \u00a0\u00a0\u00a0\u00a0``x = a \\| b  # `a` or b`` |")
    assert body[1].startswith("|  |  |  |  |")  # a line that never ran: no numbers
    assert len(pf.markdown_table([row, never], min_share=0.1).data.splitlines()) == 3
    with pytest.raises(TypeError, match="ProfileRow, LineRow or OperatorRow"):
        pf.markdown_table([1, 2])


@pytest.fixture(scope="module")
def gpt_profile(tmp_path_factory):
    import torch

    from book.textgen import GPT, GPTConfig

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=17, max_len=16, num_layers=1, num_heads=2, embed_dim=32))
    batch = torch.randint(0, 17, (2, 4, 16)).unbind(0)
    trace = tmp_path_factory.mktemp("trace") / "gpt.json"
    return pf.profile_torch_step(model, tuple(batch), "cpu", trace_path=trace, steps=1), trace


def test_the_operator_table_of_a_gpt_step_lists_its_matrix_products(gpt_profile):
    prof, _ = gpt_profile
    rows = pf.torch_operator_table(prof, n=1000)
    names = {r.name for r in rows}
    assert names & {"aten::mm", "aten::addmm"}, sorted(names)
    assert not names & {"forward", "backward", "optimizer.step"}  # labels, not operators
    assert sum(r.share for r in rows) == pytest.approx(1.0)
    assert all(r.self_device_ms == 0 for r in rows)  # the CPU: no GPU kernels
    top = pf.torch_operator_table(prof, n=3, sort_by="count")
    assert [r.calls for r in top] == sorted((r.calls for r in rows), reverse=True)[:3]
    by_memory = pf.torch_operator_table(prof, n=1000, sort_by="self_cpu_memory_usage")
    assert all(0 <= r.share <= 1 for r in by_memory)  # net memory can be negative: not shares
    assert sum(r.share for r in by_memory) == pytest.approx(1.0)
    shaped = pf.torch_operator_table(prof, n=5, group_by_input_shape=True)
    assert all(r.input_shapes.startswith("[") for r in shaped)
    with pytest.raises(ValueError, match="sort_by must be one of"):
        pf.torch_operator_table(prof, sort_by="cuda_time")


def test_the_trace_is_json_with_the_three_phases(gpt_profile):
    _, trace = gpt_profile
    events = json.loads(trace.read_text())["traceEvents"]
    assert events
    names = {e.get("name") for e in events}
    assert {"forward", "backward", "optimizer.step"} <= names


def test_the_cpu_profile_writes_nothing_to_stderr(capfd):
    import torch

    from book.textgen import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, max_len=8, num_layers=1, num_heads=1, embed_dim=8))
    ids = torch.randint(0, 11, (2, 8))
    pf.profile_torch_step(model, (ids, ids), "cpu", steps=1)
    assert capfd.readouterr().err == ""
    with pytest.raises(ValueError, match="pair"):
        pf.profile_torch_step(model, ids, "cpu")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_skipping_dx_changes_no_weight_and_no_loss(dtype):
    before = pf.LSTMTrainingStep(T=7, B=3, H=6, V=4, dtype=dtype)
    after = pf.LSTMTrainingStep(T=7, B=3, H=6, V=4, dtype=dtype, needs_input_grad=False)
    losses = [(before(), after()) for _ in range(3)]
    assert all(a == b for a, b in losses) and losses[0] != losses[-1]  # it trains, identically
    for name, value in before.parameters().items():
        assert np.array_equal(value, after.parameters()[name]), name
    assert after.lstm.backward(np.ones((7, 3, 6), dtype)) is None
    assert before.lstm.backward(np.ones((7, 3, 6), dtype)).shape == (7, 3, 6)


def test_the_step_checks_its_sizes():
    with pytest.raises(ValueError, match="T, B, H and V"):
        pf.LSTMTrainingStep(T=0)
    with pytest.raises(ValueError, match="float32 or float64"):
        pf.LSTMTrainingStep(dtype=np.float16)


def test_blas_report_names_the_library():
    assert "BLAS" in pf.blas_report()
