"""Training a language model: the configuration, the batches, one step, and the loop.

`train(model, train_ids, val_ids, TrainConfig(...))` trains with AdamW (`book.optim.adamw`) and
a warm-up + cosine schedule (`book.optim.warmup_cosine`), clipping, bf16 autocast and optional
`torch.compile` on CUDA, evaluations and checkpoints (`book.textgen.checkpoint`), and can
resume a run exactly. Training is counted in steps; a `Budget` (for benchmarks) stops it by
the clock instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from book import env
from book.optim import MuonAdamW, adamw, muon_adamw, warmup_cosine
from book.textgen import run_cache
from book.textgen.checkpoint import TrainState, resume, rng_states, save_checkpoint

__all__ = ["OPTIMIZERS", "Budget", "TrainConfig", "TrainLog", "estimate_loss", "get_batch",
           "lr_at", "make_optimizer", "train", "train_step"]


@dataclass
class TrainConfig:
    """How to train: batch, steps, AdamW and its schedule, evaluation, compile, seed."""

    batch_size: int = 32
    max_iters: int = 2000
    lr: float = 1e-3            # the peak, reached at the end of the warm-up
    min_lr: float = 1e-4        # the end of the cosine
    warmup_iters: int = 100
    weight_decay: float = 0.1   # on matrices and embeddings only (see make_optimizer)
    beta1: float = 0.9
    beta2: float = 0.99         # shorter memory than the default 0.999: few, noisy steps
    grad_clip: float = 1.0      # max global gradient norm; 0 = no clipping
    eval_interval: int = 250    # evaluate every this many steps (0: at the end only)
    eval_iters: int = 20        # batches per evaluation (0: never evaluate inside train)
    compile: bool = False       # torch.compile the model for the training steps
    compile_mode: str | None = None  # torch.compile's mode ("reduce-overhead": CUDA graphs)
    seed: int = 0


@dataclass
class TrainLog:
    """What train returns: evaluations, steps and tokens done, and the time they took."""

    history: list[dict] = field(default_factory=list)  # step, train_loss, val_loss, lr, elapsed_s
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0          # wall time of the training loop, compile and evaluations included
    steady_tokens_per_s: float = 0.0  # after the first steps (compilation, warm caches)


def lr_at(step: int, cfg: TrainConfig, total: int | None = None) -> float:
    """Learning rate at `step`: `book.optim.warmup_cosine` with cfg's peak, floor and warm-up,
    the cosine ending at step `total` (default cfg.max_iters)."""
    total = cfg.max_iters if total is None else total
    return warmup_cosine(step, cfg.lr, cfg.min_lr, cfg.warmup_iters, total)


def get_batch(data: torch.Tensor, batch_size: int, max_len: int,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of a token tensor: inputs x (B, T) and targets y = x shifted by one.

    `data` lives on the training device and the offsets are drawn there too, so a batch is
    one gather on the device and nothing crosses from the CPU per step.
    """
    ix = torch.randint(len(data) - max_len, (batch_size,), device=data.device,
                       generator=generator)                                      # (B,)
    offsets = ix[:, None] + torch.arange(max_len + 1, device=data.device)    # (B, T + 1)
    chunk = data[offsets]                                                       # (B, T + 1)
    return chunk[:, :-1], chunk[:, 1:]


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (matmuls in bf16, reductions in fp32); nothing elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def estimate_loss(model: nn.Module, data: torch.Tensor, batch_size: int,
                  eval_iters: int | None = None, seed: int = 1234) -> float:
    """Mean next-token cross-entropy (nats) of `model` on a token tensor.

    eval_iters=None: the whole split, cut into non-overlapping windows of max_len (every
    token is predicted once; the tail shorter than a window is left out). Otherwise
    eval_iters random batches, drawn with a generator seeded by `seed`: the same windows at
    every evaluation, so that two points of a curve differ by the model only.
    """
    T = model.config.max_len
    if len(data) <= T:
        raise ValueError(f"the split has {len(data)} tokens; estimate_loss needs more than "
                         f"max_len = {T}")
    if eval_iters is None:
        starts = torch.arange((len(data) - 1) // T, device=data.device) * T   # (N,)
    else:
        g = torch.Generator(device=data.device).manual_seed(seed)
        starts = torch.randint(len(data) - T, (eval_iters * batch_size,), device=data.device,
                               generator=g)
    was_training = model.training
    model.eval()  # no dropout
    total = torch.zeros((), device=data.device)
    for s in starts.split(batch_size):
        chunk = data[s[:, None] + torch.arange(T + 1, device=data.device)]  # (b, T + 1)
        with _autocast(data.device):
            _, loss = model(chunk[:, :-1], chunk[:, 1:])
        total += loss.float() * len(s)  # stays on the device: no sync per batch
    model.train(was_training)
    return (total / len(starts)).item()


OPTIMIZERS = ("adamw", "muon")


def make_optimizer(model: nn.Module, cfg: TrainConfig, device_type: str = "cpu",
                   optimizer: str = "adamw") -> torch.optim.AdamW | MuonAdamW:
    """`book.optim.adamw` (or, with optimizer="muon", `book.optim.muon_adamw`) with cfg's
    learning rate, weight decay and betas."""
    if optimizer == "muon":
        return muon_adamw(model, cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2))
    if optimizer != "adamw":
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {optimizer!r}")
    return adamw(model, cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2), device_type)


@dataclass
class Budget:
    """A time budget for `train`: stop once `seconds` have passed since `t0`, and fit the
    cosine into the budget, its end re-estimated at each step from the measured speed.

    `t0` defaults to the moment the Budget is made (a benchmark passes its process start);
    `clock` is `time.perf_counter` unless a test passes a fake one.
    """

    seconds: float
    t0: float | None = None
    clock: Callable[[], float] = time.perf_counter
    _steady: tuple[int, float] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.t0 is None:
            self.t0 = self.clock()

    def spent(self) -> bool:
        """Whether the time is up."""
        return self.clock() - self.t0 >= self.seconds

    def step_done(self, step: int) -> None:
        """Note that `step` steps are done; the speed is measured from the 5th (the first ones
        compile and warm caches)."""
        if self._steady is None and step >= 5:
            self._steady = (step, self.clock())

    def last_step(self, step: int, max_iters: int) -> int:
        """The step at which the budget will run out, at the speed measured so far."""
        if self._steady is None or step <= self._steady[0]:
            return max_iters
        now = self.clock()
        per_step = (now - self._steady[1]) / (step - self._steady[0])
        return min(max_iters, step + int((self.seconds - (now - self.t0)) / max(per_step, 1e-9)))


def _as_ids(ids: Sequence[int] | torch.Tensor, name: str, vocab_size: int,
            max_len: int) -> torch.Tensor:
    """A 1-D LongTensor of `ids`, after checking that the model can train on it."""
    t = torch.as_tensor(ids, dtype=torch.long).flatten()
    if len(t) <= max_len:
        raise ValueError(f"{name} has {len(t)} tokens, but a training window needs max_len "
                         f"+ 1 = {max_len + 1}: use a smaller max_len or more text")
    lo, hi = int(t.min()), int(t.max())
    if lo < 0 or hi >= vocab_size:
        raise ValueError(f"{name} holds token ids from {lo} to {hi}, but the model's vocab_size "
                         f"is {vocab_size}: build the model with vocab_size=tokenizer.vocab_size"
                         " of the tokenizer that encoded this text")
    return t


def train_step(fwd: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               lr: float, grad_clip: float) -> torch.Tensor:
    """One AdamW step on the batch (x, y) at learning rate lr; returns the loss, detached.

    The loss stays a tensor: reading its value (.item()) would make the CPU wait for the GPU.
    """
    return _step(fwd, opt, x, y, lr, grad_clip)[0]


def _step(fwd: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
          lr: float, grad_clip: float, want_norm: bool = False
          ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """train_step, also returning the gradient's global norm before clipping (None when there
    is no clipping and want_norm is False: then it is not computed)."""
    for group in opt.param_groups:
        group["lr"] = lr
    with _autocast(x.device):
        _, loss = fwd(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for g in opt.param_groups for p in g["params"]]
    norm = None
    if grad_clip > 0:  # rescale a rare huge gradient instead of taking a huge step
        norm = nn.utils.clip_grad_norm_(params, grad_clip)
    elif want_norm:
        norm = nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
    opt.step()
    return loss.detach().float(), norm



def train(model: nn.Module, train_ids: Sequence[int] | torch.Tensor,
          val_ids: Sequence[int] | torch.Tensor | None, cfg: TrainConfig,
          device: str | torch.device = "cpu", *, progress: bool = True,
          budget: Budget | None = None, checkpoint_path: str | Path | None = None,
          resume_from: str | Path | None = None, stop_at: int | None = None,
          on_step: Callable[[int, dict], None] | None = None,
          optimizer: str = "adamw", cache: bool = False) -> TrainLog:
    """Train a language model on random windows of `train_ids` with AdamW; return a TrainLog.

    The learning rate follows lr_at. Every cfg.eval_interval steps and at the end, the
    validation loss on cfg.eval_iters fixed batches goes into the history, next to the mean
    training loss since the previous evaluation (free: those losses were computed anyway).
    checkpoint_path: save there at each evaluation and at the end; resume_from: continue from
    such a checkpoint, which gives the same weights as a run that was never interrupted.
    stop_at: stop after that step, as an interruption would, keeping the schedule of
    cfg.max_iters. budget: stop when its time is spent, with the cosine fitted into it (for
    benchmarks; the chapter counts steps, so that its results repeat).
    on_step(step, info): called after every step with the number of steps done and {"loss":
    the batch's loss, "grad_norm": the gradient's global norm before clipping (0-dim
    tensors; reading one makes the CPU wait for the GPU), "lr": the learning rate used}; it
    only reads, so the run's results are the same with it or without (`book.runlog` logs
    with it). optimizer: "adamw" (the chapters) or "muon" (`book.optim.muon_adamw`: the CPU
    benchmark's recipe, `CPU_CONFIG["optimizer"]`). cache: reuse the result of an identical
    earlier run on this machine, or keep this one for next time (`book.textgen.run_cache`: the
    weights, the log and the random state are those of a real run; CPU only, a plain run only).
    """
    device = env.device(str(device))  # an unavailable device fails here, saying what there is
    V, T = model.config.vocab_size, model.config.max_len
    train_data = _as_ids(train_ids, "train_ids", V, T).to(device)  # the whole split, on device
    evaluate = cfg.eval_iters > 0 and val_ids is not None
    val_data = _as_ids(val_ids, "val_ids", V, T).to(device) if evaluate else None
    if cache:
        extras = {"budget": budget, "checkpoint_path": checkpoint_path,
                  "resume_from": resume_from, "stop_at": stop_at, "on_step": on_step}
        given = [name for name, value in extras.items() if value is not None]
        if given:
            raise ValueError(f"cache=True keeps whole, plain runs; drop {', '.join(given)} "
                             "or cache=False")
        key = run_cache.run_key(model, train_data, val_data, cfg, optimizer, device)
        if key is not None:
            log = run_cache.load_run(key, model)
            if log is not None:
                return TrainLog(**log)
        log = train(model, train_ids, val_ids, cfg, device, progress=progress,
                    optimizer=optimizer)
        if key is not None:
            run_cache.store_run(key, model, log)
        return log
    torch.manual_seed(cfg.seed)  # dropout
    model.to(device)
    opt = make_optimizer(model, cfg, device.type, optimizer)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)  # batches
    state = TrainState()
    if resume_from is not None:
        state = resume(resume_from, model, opt, cfg, gen)
    step, history = state.step, state.history
    # evaluation uses the plain model
    fwd = torch.compile(model, mode=cfg.compile_mode) if cfg.compile else model
    loss_sum, n_loss = torch.tensor(float(state.running_loss[0]), device=device), \
        state.running_loss[1]
    start_step, end = step, cfg.max_iters if stop_at is None else min(stop_at, cfg.max_iters)
    bar = env.progress_bar(end - step, "train", progress)
    t_loop = time.perf_counter()

    def checkpoint() -> None:
        running = (loss_sum.item(), n_loss)
        save_checkpoint(checkpoint_path, model, opt, step, cfg,
                        TrainState(step, history, running, rng_states(gen, device)))

    def record() -> None:
        nonlocal n_loss
        val_loss = estimate_loss(model, val_data, cfg.batch_size, cfg.eval_iters)
        history.append({"step": step, "train_loss": (loss_sum / max(n_loss, 1)).item(),
                        "val_loss": val_loss, "lr": lr,
                        "elapsed_s": time.perf_counter() - t_loop})
        loss_sum.zero_()
        n_loss = 0
        if bar is not None:
            bar.set_postfix(loss=f"{history[-1]['train_loss']:.3f}", val_loss=f"{val_loss:.3f}")
        if checkpoint_path is not None:
            checkpoint()

    steady, total, lr = None, cfg.max_iters, lr_at(step, cfg)
    while step < end:
        if steady is None and step - start_step == 5:  # the first steps compile and warm up
            steady = (step, time.perf_counter())
        if budget is not None:
            if budget.spent():
                break
            total = budget.last_step(step, cfg.max_iters)
        lr = lr_at(step, cfg, total)
        x, y = get_batch(train_data, cfg.batch_size, T, gen)
        loss, norm = _step(fwd, opt, x, y, lr, cfg.grad_clip, on_step is not None)
        loss_sum += loss
        step, n_loss = step + 1, n_loss + 1
        if on_step is not None:
            on_step(step, {"loss": loss, "grad_norm": norm, "lr": lr})
        if budget is not None:
            budget.step_done(step)
        if bar is not None:
            bar.update()
        if evaluate and cfg.eval_interval > 0 and step % cfg.eval_interval == 0:
            record()
    interrupted = step == stop_at and step < cfg.max_iters  # to be resumed: no extra row
    if evaluate and not interrupted and (not history or history[-1]["step"] != step):
        record()
    elif checkpoint_path is not None:
        checkpoint()
    if bar is not None:
        bar.close()
    if device.type == "cuda":
        torch.cuda.synchronize()  # the GPU runs behind the Python loop; wait before timing
    t_end = time.perf_counter()
    steady_tps = 0.0
    if steady is not None and step > steady[0]:
        steady_tps = (step - steady[0]) * cfg.batch_size * T / (t_end - steady[1])
    return TrainLog(history, step, (step - start_step) * cfg.batch_size * T, t_end - t_loop,
                    steady_tps)
