"""tools/ddp_check.py: two gloo ranks of DistributedDataParallel train chapter 5's GPT as one
process does (slow: torchrun's start-up takes seconds), a failed rank or a taken port is
reported with a non-zero status, a timeout kills every process; and its helpers (fast)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from site_tools import load_tool

ddp_check = load_tool("ddp_check")

# the launcher kills the run after this many seconds, so no test can hang on a rank
RUN_TIMEOUT_S = 150


def _gone(pid: int) -> bool:
    """Whether process `pid` has ended (gone from /proc, or a zombie nobody reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


# ------------------------------------------------------------------------------ fast helpers

def test_relative_difference_of_equal_tensors_is_zero():
    a = {"w": torch.randn(3, 4), "b": torch.randn(4)}
    assert ddp_check.relative_difference(a, {k: v.clone() for k, v in a.items()}) == 0.0


def test_relative_difference_is_the_largest_gap_over_the_largest_reference_value():
    want = {"w": torch.tensor([[1.0, -4.0], [0.5, 2.0]]), "b": torch.tensor([0.25])}
    got = {"w": want["w"].clone(), "b": want["b"] + 0.5}
    got["w"][1, 0] += 0.1
    assert ddp_check.relative_difference(got, want) == pytest.approx(0.5 / 4.0)


def test_relative_difference_of_a_zero_reference_is_the_absolute_gap():
    assert ddp_check.relative_difference({"g": torch.tensor([0.0, 3e-3])},
                                         {"g": torch.zeros(2)}) == pytest.approx(3e-3)


def test_relative_difference_refuses_different_names_shapes_or_nothing():
    with pytest.raises(ValueError, match="only in got \\['x'\\]"):
        ddp_check.relative_difference({"x": torch.zeros(1)}, {"y": torch.zeros(1)})
    with pytest.raises(ValueError, match="shape"):
        ddp_check.relative_difference({"x": torch.zeros(2)}, {"x": torch.zeros(3)})
    with pytest.raises(ValueError, match="empty"):
        ddp_check.relative_difference({}, {})


def test_parse_result_reads_the_last_tagged_line_and_refuses_a_crash():
    out = (f"noise\n{ddp_check.RESULT_TAG}" + '{"passed": false}\n'
           f"{ddp_check.RESULT_TAG}" + '{"passed": true, "grad_diff": 1e-7}\nmore\n')
    assert ddp_check.parse_result(out) == {"passed": True, "grad_diff": 1e-7}
    with pytest.raises(ValueError, match="failed before rank 0 could compare"):
        ddp_check.parse_result("Traceback (most recent call last):\n  RuntimeError\n")


def test_port_is_free_sees_a_listening_socket():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert not ddp_check.port_is_free(s.getsockname()[1])
    assert ddp_check.port_is_free(ddp_check.free_port())


def test_launch_on_a_taken_port_says_so_without_starting_torchrun():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        status, out, _ = ddp_check.launch(master_port=port, timeout=5)
    assert status == ddp_check.EXIT_PORT
    assert f"port {port} is already in use" in out and "--master-port" in out


def test_descendants_walks_the_whole_tree_and_nothing_else():
    parents = {2: 1, 3: 1, 4: 2, 5: 4, 6: 9, 7: 6}
    assert ddp_check.descendants(1, parents) == [2, 3, 4, 5]
    assert ddp_check.descendants(5, parents) == []


def test_kill_tree_kills_a_grandchild_in_a_session_of_its_own():
    # as torchrun does with its ranks: the grandchild escapes a kill of the process group
    code = ("import subprocess, time; p = subprocess.Popen(['sleep', '60'], "
            "start_new_session=True); print(p.pid, flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        grandchild = int(child.stdout.readline())
        ddp_check.kill_tree(child.pid)
        child.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not _gone(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(grandchild), "the grandchild survived kill_tree"
    finally:
        child.kill()
        child.wait()


def test_steps_below_one_are_refused(capsys):
    with pytest.raises(SystemExit):
        ddp_check.main(["--steps", "0"])
    assert "--steps must be at least 1" in capsys.readouterr().err


# ------------------------------------------------------------------- the two-process runs

@pytest.fixture
def data_env(monkeypatch):
    """LLM_BOOK_DATA for the ranks: the shared mirror where none is set."""
    if "LLM_BOOK_DATA" not in os.environ:
        monkeypatch.setenv("LLM_BOOK_DATA", "/work/shared/data")


@pytest.mark.slow
def test_ddp_on_two_ranks_matches_one_process(data_env):
    status, out, wall = ddp_check.launch(steps=2, batch_size=8, timeout=RUN_TIMEOUT_S)
    assert status == 0, out
    result = ddp_check.parse_result(out)
    assert result["passed"] and "PASS" in out.splitlines()
    assert result["world_size"] == 2 and result["steps"] == 2
    assert result["allreduce_vs_ddp_grad"] <= ddp_check.GRAD_RTOL
    assert result["grad_diff"] <= ddp_check.GRAD_RTOL
    assert result["weight_diff"] <= ddp_check.WEIGHT_RTOL
    # the steps moved the weights far more than the two runs differ: the match means something
    assert result["weight_change"] > 100 * max(result["weight_diff"], ddp_check.WEIGHT_RTOL)


@pytest.mark.slow
def test_a_failed_rank_gives_a_message_and_a_non_zero_status(data_env):
    status, out, _ = ddp_check.launch(steps=1, fail_rank=1, timeout=RUN_TIMEOUT_S)
    assert status == ddp_check.EXIT_ERROR
    assert "rank 1 failed on purpose" in out and "a rank failed" in out
    with pytest.raises(ValueError):
        ddp_check.parse_result(out)
