"""book.optim: the learning-rate schedule, AdamW's parameter groups, and the step-counted loop
that chapter 6's tagger, translators and fine-tuned classifier share."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from book.optim import MuonAdamW, adamw, muon_adamw, train_steps, warmup_cosine


def test_warmup_rises_linearly_then_the_cosine_falls_to_the_floor():
    lrs = [warmup_cosine(s, 1.0, 0.1, 10, 110) for s in range(130)]
    assert lrs[:10] == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert lrs[10] == pytest.approx(1.0)
    assert lrs[60] == pytest.approx(0.55)  # half way down the cosine: the mean of peak and floor
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[110:] == pytest.approx([0.1] * 20)


def test_adamw_decays_matrices_and_embeddings_but_not_biases_or_gains():
    model = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 4), nn.LayerNorm(4))
    decayed, plain = adamw(model, 1e-3, 0.1).param_groups
    assert {p.dim() for p in decayed["params"]} == {2} and decayed["weight_decay"] == 0.1
    assert {p.dim() for p in plain["params"]} == {1} and plain["weight_decay"] == 0.0
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))


class _Blocks(nn.Module):
    """An embedding, two hidden matrices under `blocks.`, a gain and a head."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(5, 4)
        self.blocks = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 4))
        self.norm = nn.LayerNorm(4)
        self.head = nn.Linear(4, 5, bias=False)

    def forward(self, idx):
        return self.head(self.norm(self.blocks(self.emb(idx))))


def test_muon_takes_the_hidden_matrices_and_adamw_the_rest():
    model = _Blocks()
    opt = muon_adamw(model, 1e-2, 0.1)
    assert isinstance(opt.muon, torch.optim.Muon) and isinstance(opt.adamw, torch.optim.AdamW)
    muon_params = {id(p) for g in opt.muon.param_groups for p in g["params"]}
    assert muon_params == {id(model.blocks[0].weight), id(model.blocks[2].weight)}
    every = [p for g in opt.param_groups for p in g["params"]]
    assert sorted(map(id, every)) == sorted(id(p) for p in model.parameters())  # each once
    for group in opt.param_groups:  # the training loops set the schedule through the groups
        group["lr"] = 0.5
    assert opt.muon.param_groups[0]["lr"] == 0.5 and opt.adamw.param_groups[1]["lr"] == 0.5
    with pytest.raises(ValueError, match="Muon has nothing to train"):
        muon_adamw(nn.Linear(3, 3), 1e-2, 0.1)


def test_muon_learns_and_its_state_round_trips():
    model = _Blocks()
    opt = muon_adamw(model, 3e-2, 0.0)
    idx = torch.arange(5).repeat(4)
    losses = []
    for _ in range(60):
        loss = nn.functional.cross_entropy(model(idx), idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    state = opt.state_dict()
    again = muon_adamw(_Blocks(), 1e-2, 0.0)
    again.load_state_dict(state)
    momentum = next(iter(state["muon"]["state"].values()))["momentum_buffer"]
    loaded = next(iter(again.state_dict()["muon"]["state"].values()))["momentum_buffer"]
    assert torch.equal(momentum, loaded)
    with pytest.raises(ValueError, match="not a MuonAdamW"):
        again.load_state_dict(adamw(_Blocks(), 1e-2, 0.0).state_dict())
    assert isinstance(again, MuonAdamW)


class _Recorder(nn.Module):
    """A linear model that records the batches and the learning rates it was trained with."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)  # the same start whatever ran before in this process
        self.lin = nn.Linear(2, 1)
        self.seen: list[list[int]] = []


def _regression(n=12):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 2, generator=gen)
    return x, x @ torch.tensor([[2.0], [-1.0]]) + 0.5


def _loop(model, x, y, steps, batch=4, **kw):
    def loss_of(index):
        model.seen.append(list(index))
        return ((model.lin(x[index]) - y[index]) ** 2).mean()

    def batches_of_epoch(epoch):
        order = np.random.default_rng(epoch).permutation(len(x))
        return [order[i:i + batch] for i in range(0, len(x), batch)]

    settings = dict(min_lr=0.0, warmup=2, weight_decay=0.0, clip=1.0, progress=False) | kw
    return train_steps(model, loss_of, batches_of_epoch, steps, 0.1, **settings)


def test_it_takes_exactly_the_steps_asked_for_across_epochs_and_learns():
    x, y = _regression()
    model = _Recorder()
    losses = _loop(model, x, y, steps=40)  # 3 batches an epoch: 13 epochs and a bit
    assert len(losses) == len(model.seen) == 40
    assert sorted(sum(model.seen[:3], [])) == list(range(12))  # one epoch covers the data once
    assert model.seen[:3] != model.seen[3:6]  # and the next one comes in a new order
    assert np.mean(losses[-5:]) < 0.1 * np.mean(losses[:5])
    assert not model.training  # ends in eval mode


def test_the_same_call_gives_the_same_losses():
    x, y = _regression()
    assert _loop(_Recorder(), x, y, steps=10) == _loop(_Recorder(), x, y, steps=10)


def test_gradients_are_clipped_to_the_given_norm():
    x, y = _regression()
    model = _Recorder()
    _loop(model, x, 1000 * y, steps=1, clip=0.5, warmup=1)  # a gradient far above 0.5
    # the gradients of the last step are still there, clipped in place before the update
    total = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert total.item() == pytest.approx(0.5, rel=1e-5)


def test_frozen_parameters_are_left_alone_and_all_frozen_is_refused():
    x, y = _regression()
    model = _Recorder()
    model.lin.bias.requires_grad_(False)
    before = model.lin.bias.detach().clone()
    _loop(model, x, y, steps=5)
    assert torch.equal(model.lin.bias, before)
    model.lin.weight.requires_grad_(False)
    with pytest.raises(ValueError, match="every parameter is frozen"):
        _loop(model, x, y, steps=5)


def test_no_data_or_no_steps_is_a_clear_error_not_an_endless_loop():
    model = _Recorder()
    with pytest.raises(ValueError, match="no batches"):
        train_steps(model, lambda index: None, lambda epoch: [], 3, 0.1, min_lr=0.0, warmup=1,
                    weight_decay=0.0, clip=1.0, progress=False)
    with pytest.raises(ValueError, match="steps >= 1"):
        _loop(model, *_regression(), steps=0)
