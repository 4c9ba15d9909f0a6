"""Data-parallel training of chapter 5's GPT on the CPU, checked against one process.

    python tools/ddp_check.py                     # launches torchrun itself, prints the result
    python tools/ddp_check.py --timeout 120 --steps 3
    python tools/ddp_check.py --master-port 29512 # an explicit port instead of --standalone
    torchrun --standalone --nproc_per_node=2 tools/ddp_check.py   # the ranks, launched by hand

Every rank builds the same small GPT (same seed), wraps it in PyTorch's
`DistributedDataParallel` (gloo backend) and draws the same batch of Tiny Shakespeare windows
(same generator seed); rank r trains on its slice of the batch. DDP all-reduces the gradients
during `backward`, so every rank holds the gradient of the whole batch's mean loss and AdamW
takes the same step everywhere. Rank 0 then trains a plain copy on the whole batch in one
process and prints the largest differences of gradients and of weights, relative to the
largest reference value, with PASS or FAIL against a float32 round-off tolerance.

The gradients are the sharp test: AdamW divides each step by the gradient's running RMS, so
a gradient twice too large (ranks summed, not averaged) moves the weights nearly as the right
one does: after this script's two steps the weights differ by 1.7e-4 of the largest weight
(only AdamW's eps tells the two apart), the gradients by 0.5.

It also does DDP's job by hand once: each rank's own gradient, summed over ranks with
`dist.all_reduce(op=SUM)` and divided by the world size, must equal DDP's gradient.

The ranks run with one thread each (OMP_NUM_THREADS=1) and a 60 s timeout on every collective;
the launcher runs torchrun in its own process group and kills the whole group when the run
overruns its timeout, so nothing hangs. A failed rank, a port already taken or a timeout gives
a message that says what happened and a non-zero exit status. The script lives in tools/, not
in `book`, so that importing the package never touches torch.distributed; a notebook cannot
hand a function it defines to `torch.multiprocessing.spawn` (it cannot be pickled), so a
chapter launches this file with torchrun instead.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
WORLD_SIZE = 2
# float32 keeps about 7 significant digits; summing in another order (the all-reduce adds the
# ranks' halves, one process adds the whole batch) moves the last ones. Differences are measured
# relative to the largest reference value, so 1e-5 leaves room for round-off and none for a bug
# (a missing average is off by a factor 2, a wrong shard by O(1)).
GRAD_RTOL = 1e-5
WEIGHT_RTOL = 1e-5
RESULT_TAG = "DDP_RESULT "
COLLECTIVE_TIMEOUT_S = 60
EXIT_FAIL, EXIT_ERROR, EXIT_TIMEOUT, EXIT_PORT = 1, 2, 3, 4


def relative_difference(got: Mapping[str, torch.Tensor], want: Mapping[str, torch.Tensor]
                        ) -> float:
    """Largest |got - want| over all named tensors, divided by the largest |want|.

    Both mappings must have the same names and shapes (a ValueError says which differ); a
    reference that is all zeros gives the plain largest absolute difference.
    """
    if set(got) != set(want):
        raise ValueError(f"the tensors differ in names: only in got {sorted(set(got) - set(want))}"
                         f", only in want {sorted(set(want) - set(got))}")
    if not want:
        raise ValueError("nothing to compare: the mappings are empty")
    diff = scale = 0.0
    for name, ref in want.items():
        if got[name].shape != ref.shape:
            raise ValueError(f"{name}: shape {tuple(got[name].shape)} against {tuple(ref.shape)}")
        diff = max(diff, (got[name].double() - ref.double()).abs().max().item())
        scale = max(scale, ref.double().abs().max().item())
    return diff / scale if scale > 0 else diff


def parse_result(output: str) -> dict:
    """The result rank 0 printed (the JSON after RESULT_TAG on its last such line).

    Raises ValueError when no rank printed one, which means the run failed before comparing.
    """
    lines = [line for line in output.splitlines() if line.startswith(RESULT_TAG)]
    if not lines:
        raise ValueError(f"no '{RESULT_TAG.strip()}' line in the output: the ranks failed "
                         "before rank 0 could compare (read the messages above)")
    return json.loads(lines[-1][len(RESULT_TAG):])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a TCP server could bind `port` on `host` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that the operating system reports free on `host` (it may be taken again
    before it is used; torchrun's --standalone avoids that race by choosing its own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def descendants(pid: int, parents: Mapping[int, int]) -> list[int]:
    """Every process below `pid` (children, their children, ...) given each process's parent
    (`parents[child] = parent`), parents before their children."""
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def process_parents() -> dict[int, int]:
    """Each running process's parent id, read from Linux's /proc (empty elsewhere)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (command) state ppid ...": the command may hold spaces and parentheses
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue                                 # the process ended while being read
        parents[int(stat.parent.name)] = int(fields[1])
    return parents


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every process below it. Its process group is not enough: torchrun
    starts each rank in a session of its own, so killing the group leaves the ranks running
    (until their rendezvous times out). The tree is read before anything is killed, since an
    orphan's parent becomes process 1."""
    for _ in range(2):                               # a second pass for late-started children
        for p in [pid, *descendants(pid, process_parents())]:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


# ---------------------------------------------------------------------------------- the ranks

def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Copies of the parameters' gradients, by name (zeros where a gradient is missing)."""
    return {n: (p.grad if p.grad is not None else torch.zeros_like(p)).detach().clone()
            for n, p in model.named_parameters()}


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Copies of the parameters, by name."""
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _train_steps(model: torch.nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]],
                 lr: float) -> list[dict[str, torch.Tensor]]:
    """AdamW steps (`book.optim.adamw`), one per batch; returns each step's gradients."""
    from book.optim import adamw

    inner = getattr(model, "module", model)          # DDP keeps the model as .module
    opt = adamw(inner, lr, weight_decay=0.1)
    grads = []
    for x, y in batches:
        opt.zero_grad(set_to_none=True)
        _, loss = model(x, y)
        loss.backward()
        grads.append(_grads(inner))
        opt.step()
    return grads


def run_rank(steps: int, batch_size: int, fail_rank: int | None) -> int:
    """One rank's work under torchrun (reads RANK and WORLD_SIZE); returns the exit status."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    if str(ROOT) not in sys.path:                    # torchrun by hand, without PYTHONPATH
        sys.path.insert(0, str(ROOT))
    from book import data
    from book import textgen as tg

    torch.set_num_threads(1)
    dist.init_process_group("gloo", timeout=timedelta(seconds=COLLECTIVE_TIMEOUT_S))
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        if batch_size % world:
            raise ValueError(f"batch size {batch_size} does not split into {world} equal "
                             f"shards: choose a multiple of {world}")
        if fail_rank == rank:
            raise RuntimeError(f"rank {rank} failed on purpose (--fail-rank {fail_rank})")
        text = data.load("tinyshakespeare")
        tok = tg.CharTokenizer(text)
        ids = torch.tensor(tok.encode(tg.nanogpt_split(text)[0]))
        cfg = tg.GPTConfig(vocab_size=tok.vocab_size, max_len=32, num_layers=2, num_heads=2,
                           embed_dim=64, dropout=0.0)
        torch.manual_seed(0)                         # the same initial weights on every rank
        model = tg.GPT(cfg)
        gen = torch.Generator().manual_seed(1)       # the same batches on every rank
        batches = [tg.get_batch(ids, batch_size, cfg.max_len, generator=gen)
                   for _ in range(steps)]
        shard = batch_size // world
        mine = [(x[rank * shard:(rank + 1) * shard], y[rank * shard:(rank + 1) * shard])
                for x, y in batches]

        # DDP's job by hand: this rank's gradient, summed over the ranks, divided by their number
        by_hand = copy.deepcopy(model)
        by_hand(*mine[0])[1].backward()
        manual = _grads(by_hand)
        for g in manual.values():
            dist.all_reduce(g, op=dist.ReduceOp.SUM)
            g /= world

        ddp = DDP(copy.deepcopy(model))              # broadcasts rank 0's weights to all
        t0 = time.perf_counter()
        ddp_grads = _train_steps(ddp, mine, lr=1e-3)
        ddp_s = time.perf_counter() - t0
        ddp_weights = _weights(ddp.module)
        if rank != 0:
            return 0

        t0 = time.perf_counter()
        single = copy.deepcopy(model)                # one process, the whole batch
        single_grads = _train_steps(single, batches, lr=1e-3)
        result = {
            "world_size": world, "steps": steps, "batch_size": batch_size,
            "params": sum(p.numel() for p in model.parameters()),
            "allreduce_vs_ddp_grad": relative_difference(manual, ddp_grads[0]),
            "grad_diff": max(relative_difference(d, s) for d, s in zip(ddp_grads, single_grads)),
            "weight_diff": relative_difference(ddp_weights, _weights(single)),
            "weight_change": relative_difference(_weights(single), _weights(model)),
            "grad_rtol": GRAD_RTOL, "weight_rtol": WEIGHT_RTOL,
            "ddp_s": round(ddp_s, 3), "single_s": round(time.perf_counter() - t0, 3),
        }
        result["passed"] = (result["allreduce_vs_ddp_grad"] <= GRAD_RTOL
                            and result["grad_diff"] <= GRAD_RTOL
                            and result["weight_diff"] <= WEIGHT_RTOL)
        print(f"{world} ranks x {shard} windows of {cfg.max_len} tokens, {steps} AdamW steps, "
              f"GPT of {result['params']:,} parameters")
        print(f"all_reduce(SUM)/world vs DDP gradient: {result['allreduce_vs_ddp_grad']:.2e}")
        print(f"DDP vs one process, gradients:         {result['grad_diff']:.2e} "
              f"(tolerance {GRAD_RTOL:.0e}, relative to the largest value)")
        print(f"DDP vs one process, final weights:     {result['weight_diff']:.2e} "
              f"(tolerance {WEIGHT_RTOL:.0e}; the steps moved them by "
              f"{result['weight_change']:.2e})")
        print(f"time on rank 0: {ddp_s:.2f} s for the DDP steps, {result['single_s']:.2f} s for "
              "the one-process steps (the rest of the wall time is start-up and rendezvous)")
        print("PASS" if result["passed"] else "FAIL", flush=True)
        print(RESULT_TAG + json.dumps(result), flush=True)
        return 0 if result["passed"] else EXIT_FAIL
    finally:
        dist.destroy_process_group()


# ------------------------------------------------------------------------------- the launcher

def launch(steps: int = 2, batch_size: int = 8, timeout: float = 150.0,
           master_port: int | None = None, fail_rank: int | None = None
           ) -> tuple[int, str, float]:
    """Run the ranks under torchrun in their own process group; returns (exit status, the
    combined output, wall seconds). The whole group is killed when `timeout` passes."""
    if master_port is not None and not port_is_free(master_port):
        return (EXIT_PORT, f"port {master_port} is already in use on 127.0.0.1: choose another "
                f"with --master-port (for instance {free_port()}) or leave it out to let "
                "torchrun --standalone pick one", 0.0)
    where = (["--standalone"] if master_port is None else
             ["--master_addr=127.0.0.1", f"--master_port={master_port}"])
    cmd = [sys.executable, "-m", "torch.distributed.run", *where,
           f"--nproc_per_node={WORLD_SIZE}", __file__, "--rank-mode",
           f"--steps={steps}", f"--batch-size={batch_size}"]
    if fail_rank is not None:
        cmd.append(f"--fail-rank={fail_rank}")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        wall = time.perf_counter() - t0
        kill_tree(proc.pid)                          # torchrun and every rank it started
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:            # a survivor still holds the pipe
            out = ""
        return (EXIT_TIMEOUT, (out or "") + f"\nthe run took longer than {timeout:.0f} s and "
                "was killed (torchrun and all ranks): the machine may be busy; raise --timeout",
                wall)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        try:
            parse_result(out)                        # rank 0 compared: a FAIL, not a crash
            status = EXIT_FAIL
        except ValueError:
            status = EXIT_ERROR
            out += (f"\ntorchrun exited with status {proc.returncode}: a rank failed "
                    "(its traceback is above)")
        return status, out, wall
    return 0, out, wall


def main(argv: list[str] | None = None) -> int:
    """Command line: launch the ranks (default) or be one (--rank-mode, set by the launcher;
    torchrun without it is detected from its environment)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=2, help="AdamW steps (default 2)")
    p.add_argument("--batch-size", type=int, default=8,
                   help=f"windows per step, split over {WORLD_SIZE} ranks (default 8)")
    p.add_argument("--timeout", type=float, default=150.0,
                   help="seconds before the launcher kills the run (default 150)")
    p.add_argument("--master-port", type=int, default=None,
                   help="rendezvous on this port instead of torchrun --standalone")
    p.add_argument("--fail-rank", type=int, default=None,
                   help="make this rank raise, to see how a failure is reported")
    p.add_argument("--rank-mode", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be at least 1")
    if args.rank_mode or "LOCAL_RANK" in os.environ:
        return run_rank(args.steps, args.batch_size, args.fail_rank)
    status, out, wall = launch(args.steps, args.batch_size, args.timeout, args.master_port,
                               args.fail_rank)
    print(out.rstrip())
    print(f"wall time of the {WORLD_SIZE}-process run: {wall:.1f} s (exit status {status})")
    return status


if __name__ == "__main__":
    sys.exit(main())
