"""The model-cost view (book/widgets/model_cost.py): the Python side stores the presets (chapter 5's
GPTs and book.scale.PUBLIC_MODELS) with book.scale's parameter counts; the JavaScript side
(model_cost.js), loaded by the harness page of tests/conftest.py in headless Chromium (no site
build, no kernel), computes parameters, FLOPs per token, training and serving memory exactly as
book.scale does, for settings chosen by moving the controls and for random ones.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from book import scale
from book.textgen import CPU_CONFIG, GPU_CONFIG, GPTConfig
from book.widgets import ModelCostView
from book.widgets.model_cost import costs, default_models, our_models, shape_of

EXACT = 2 ** 53  # integers below this are exact in a JavaScript number


def expected(s: dict) -> dict[str, int]:
    """What book.scale says for the view's settings `s` (the widget module's `costs`), checked
    here against book.scale called directly for two of its numbers."""
    want = costs(s)
    shape = shape_of(s)
    assert want["params.total"] == shape.params()["total"]
    assert want["training.total"] == scale.training_memory(
        shape, s["batch"], s["context"], s["train_precision"], s["optimizer"],
        recompute_attention=s["recompute_attention"], dropout=s["dropout"])["total"]
    return want


def assert_agree(got: dict, want: dict, what) -> None:
    """Every number in `got` equals book.scale's: exactly below 2^53, else to 1e-9 relative."""
    assert got, f"no numbers shown for {what}"
    for key, value in got.items():
        assert key in want, (key, what)
        if want[key] < EXACT:
            assert value == want[key], (key, value, want[key], what)
        else:
            assert value == pytest.approx(want[key], rel=1e-9), (key, what)


# --- Python side ---


def test_presets_are_our_gpts_and_the_public_models_with_book_scales_counts(widget_state):
    state = widget_state(ModelCostView())
    names = [p["name"] for p in state["presets"]]
    assert names == ["cpu-gpt", "gpu-gpt", *scale.PUBLIC_MODELS]
    models = default_models()
    for p in state["presets"]:
        shape = models[p["name"]]
        assert p["params"] == shape.params()["total"]
        assert p["public"] == (p["name"] in scale.PUBLIC_MODELS)
        stored = {**p, "context": p["max_len"]}
        assert shape_of(stored).params() == shape.params()
        assert (p["num_kv_heads"], p["mlp_hidden"] or 4 * p["embed_dim"]) == (shape.kv_heads,
                                                                               shape.hidden)
        on_sliders = {"context": p["max_len"], "mlp_hidden": shape.hidden} | {
            k: p[k] for k in ("num_layers", "embed_dim", "num_heads", "vocab_size")}
        for key, value in on_sliders.items():  # every preset is on the sliders
            assert value in state["choices"][key], (p["name"], key)
    cpu = {p["name"]: p for p in state["presets"]}["cpu-gpt"]
    assert cpu["params"] == scale.param_count(GPTConfig(**CPU_CONFIG["model"]))["total"]
    assert (cpu["vocab_size"], cpu["embed_dim"], cpu["num_layers"], cpu["dropout"]) == (
        65, 128, 4, False)
    assert our_models()["gpu-gpt"].embed_dim == GPU_CONFIG["model"]["embed_dim"]
    llama70 = {p["name"]: p for p in state["presets"]}["llama-2-70b"]
    assert (llama70["num_heads"], llama70["num_kv_heads"], llama70["dropout"]) == (64, 8, None)


def test_settings_describe_the_chosen_preset():
    v = ModelCostView(preset="llama-2-70b", batch=4, serve_precision="fp32",
                      train_precision="bf16-mixed")
    assert shape_of(v.settings).params() == scale.PUBLIC_MODELS["llama-2-70b"].params()
    assert v.shape().kv_heads == 8 and v.settings["context"] == 4096
    assert (v.settings["batch"], v.settings["dropout"]) == (4, True)  # unknown: scale's default
    assert ModelCostView().settings["dropout"] is False  # our CPU GPT trains without dropout
    assert repr(v) == ("ModelCostView(8 presets; L=80, E=8192, nh=64, nkv=8, V=32000, T=4096, "
                       "B=4)")


def test_costs_are_book_scales_numbers():
    v = ModelCostView(preset="llama-2-7b", batch=2)
    c = v.costs()
    shape = scale.PUBLIC_MODELS["llama-2-7b"]
    assert c["params.total"] == 6_738_415_616 == shape.params()["total"]
    assert c["kv_cache_bytes_per_token"] == 524_288  # 2 L nkv hd x 2 bytes (bf16)
    assert c["serving.kv_cache"] == 2 * 4096 * 524_288
    assert c["flops.training"] == scale.flops_per_token(shape, 4096).training
    assert c["training.logits"] == 4 * 2 * 4096 * 32000
    assert c["training.optimizer"] == 8 * shape.params()["total"]  # fp32 AdamW: 2 moments
    assert set(c) == {f"params.{k}" for k in shape.params()} | {
        f"flops.{k}" for k in ("dense", "attention", "head", "forward", "kaplan", "training")} | {
        f"training.{k}" for k in scale.training_memory(shape, 1)} | {
        f"serving.{k}" for k in ("weights", "kv_cache", "total")} | {"kv_cache_bytes_per_token"}


def test_other_models_can_be_the_presets():
    mine = replace(scale.PUBLIC_MODELS["gpt2"], embed_dim=96, num_heads=3, num_layers=5)
    v = ModelCostView({"mine": mine}, preset="mine", batch=3)
    assert [p["label"] for p in v.presets] == ["mine"]
    assert 96 in v.choices["embed_dim"] and 3 in v.choices["batch"]
    assert v.presets[0]["params"] == mine.params()["total"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(preset="gpt5"), "preset 'gpt5' is not one of the models"),
    (dict(models={}), "between 1 and 16 models"),
    (dict(models={"x": GPTConfig()}, preset="x"), r"TransformerShape.from_config\(cfg\)"),
    (dict(batch=0), "batch must be a whole number from 1 to 4096"),
    (dict(serve_precision="int8"), "serve_precision must be one of 'fp32', 'bf16'"),
    (dict(train_precision="bf16"), "train_precision must be one of"),
    (dict(optimizer="adam"), "optimizer must be one of 'adamw', 'sgd'"),
])
def test_bad_input_says_what_to_do(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelCostView(**kwargs)


# --- the JavaScript formulas ---


def random_settings(rng: random.Random) -> dict:
    """Settings over the whole range of the sliders, grouped-query attention included."""
    nh = rng.choice([1, 2, 3, 4, 6, 8, 12, 25, 32, 64, 96, 128])
    hd = rng.choice([8, 16, 64, 128])
    return {"vocab_size": rng.choice([65, 512, 32000, 50257, 256000]),
            "context": rng.choice([8, 64, 1024, 4096, 32768, 131072]),
            "embed_dim": nh * hd, "num_layers": rng.randint(1, 128), "num_heads": nh,
            "num_kv_heads": rng.choice([d for d in range(1, nh + 1) if nh % d == 0]),
            "mlp_hidden": rng.choice([0, 64, 11008, 28672]),
            "mlp": rng.choice(["gelu", "swiglu"]), "norm": rng.choice(["layernorm", "rmsnorm"]),
            "tied": rng.random() < 0.5, "positions": rng.choice(["learned", "rope"]),
            "bias": rng.random() < 0.5, "batch": rng.choice([1, 3, 16, 512, 4096]),
            "serve_precision": rng.choice(["fp32", "bf16"]),
            "train_precision": rng.choice(["fp32", "bf16-mixed"]),
            "optimizer": rng.choice(["adamw", "sgd"]),
            "recompute_attention": rng.random() < 0.5, "dropout": rng.random() < 0.5}


FLAT = """([list]) => import('./widget.js').then((m) => list.map((s) => {
  const c = m.costs(s), out = {};
  for (const group of ['params', 'flops', 'training', 'serving']) {
    for (const [k, v] of Object.entries(c[group])) out[`${group}.${k}`] = v;
  }
  out.kv_cache_bytes_per_token = c.kv_cache_bytes_per_token;
  return out;
}))"""


def test_costs_in_javascript_equal_book_scale_for_random_settings(load):
    page, problems = load(ModelCostView(), "cost-formulas")
    rng = random.Random(0)
    settings = [random_settings(rng) for _ in range(300)]
    settings += [{**s, "num_kv_heads": None} | ModelCostView(preset=n).settings
                 for n, s in zip(default_models(), settings)]  # every preset too
    for s, got in zip(settings, page.evaluate(FLAT, [settings])):
        want = expected(s)
        assert set(got) == set(want)
        assert_agree(got, want, s)
    assert any(s["num_kv_heads"] < s["num_heads"] for s in settings)
    assert any(s["mlp"] == "swiglu" and s["bias"] for s in settings)
    assert not problems, problems
    page.close()


def test_costs_in_javascript_refuses_what_book_scale_refuses(load):
    page, problems = load(ModelCostView(), "cost-refuses")
    good = ModelCostView(preset="llama-2-70b").settings
    for bad, message in [({"num_kv_heads": 3}, "must divide the heads nh = 64"),
                         ({"embed_dim": 8200}, "is not a multiple of the heads nh = 64"),
                         ({"mlp": "relu"}, "mlp must be one of gelu, swiglu"),
                         ({"batch": 0}, "batch must be a whole number > 0")]:
        with pytest.raises(ValueError):
            scale.training_memory(shape_of(good | bad), (good | bad)["batch"])
        err = page.evaluate("""([s]) => import('./widget.js').then((m) => {
            try { m.costs(s); return null; } catch (e) { return e.message; } })""", [good | bad])
        assert err is not None and message in err, (bad, err)
    assert not problems, problems
    page.close()


# --- the view, moved by its controls ---

SHOWN = """() => Object.fromEntries([...document.querySelectorAll('#el .llm-cost-v[data-value]')]
  .map((e) => [e.dataset.key, Number(e.dataset.value)]))"""


def _slide(page, view: ModelCostView, key: str, value: int) -> None:
    page.locator(f'.llm-cost-slider[data-key="{key}"]').fill(str(view.choices[key].index(value)))


def _check(page, s: dict, what: str) -> dict:
    """The page's state is `s`, and every number it shows is book.scale's for `s`."""
    assert page.evaluate("window.model.get('settings')") == s, what
    got = page.evaluate(SHOWN)
    want = expected(s)
    assert_agree(got, want, what)
    # the numbers that matter are all shown (the others are parts of these)
    assert {"params.total", "params.blocks", "flops.forward", "flops.training", "training.total",
            "training.weights", "training.gradients", "training.optimizer",
            "training.activations", "serving.weights", "serving.kv_cache", "serving.total",
            "kv_cache_bytes_per_token"} <= set(got), what
    now = float(page.locator(".llm-cost-now").get_attribute("data-params"))
    assert now == want["params.total"]
    # the bars' parts add up to the whole
    for bar in (".llm-cost-train-bar", ".llm-cost-serve-bar"):
        widths = page.locator(f"{bar} .llm-cost-seg").evaluate_all(
            "segs => segs.map((s) => parseFloat(s.style.width))")
        assert sum(widths) == pytest.approx(100, abs=0.01), (bar, what)
    return got


def test_view_matches_book_scale_as_the_controls_move(load, tmp_path):
    view = ModelCostView()
    page, problems = load(view, "cost-controls")
    s = dict(view.settings)
    got = _check(page, s, "our CPU GPT")
    assert page.locator('button[data-preset="cpu-gpt"]').get_attribute("aria-pressed") == "true"
    assert page.locator('h4 .llm-cost-v[data-key="params.total"]').inner_text() == "804k"

    # 1. Llama 2 70B: grouped-query attention, 8 KV heads for 64 query heads
    page.click('button[data-preset="llama-2-70b"]')
    llama = scale.PUBLIC_MODELS["llama-2-70b"]
    s |= {"vocab_size": 32000, "context": 4096, "embed_dim": 8192, "num_layers": 80,
          "num_heads": 64, "num_kv_heads": 8, "mlp_hidden": 28672, "mlp": "swiglu",
          "norm": "rmsnorm", "tied": False, "positions": "rope", "bias": False}
    got = _check(page, s, "llama-2-70b")
    assert got["params.total"] == llama.params()["total"] == 68_976_648_192
    assert got["kv_cache_bytes_per_token"] == 2 * 80 * 8 * 128 * 2
    assert page.locator(".llm-cost-gqa").inner_text() == "GQA ×8"
    where = page.locator(".llm-cost-where").inner_text()
    assert where == "69.0B parameters: the size of Llama 2 70B"

    # 2. Llama 2 7B with 8 KV heads instead of 32: the KV cache shrinks by 4
    page.click('button[data-preset="llama-2-7b"]')
    s |= {"embed_dim": 4096, "num_layers": 32, "num_heads": 32, "num_kv_heads": 32,
          "mlp_hidden": 11008}
    mha = _check(page, s, "llama-2-7b")["kv_cache_bytes_per_token"]
    page.locator(".llm-cost-nkv").select_option("8")
    s["num_kv_heads"] = 8
    assert _check(page, s, "7b, GQA 8")["kv_cache_bytes_per_token"] * 4 == mha

    # 3. batch, context, precision for serving and training, and the optimizer
    _slide(page, view, "batch", 64)
    _slide(page, view, "context", 32768)
    page.click('button[data-option="serve_precision"][data-value="fp32"]')
    page.click('button[data-option="train_precision"][data-value="bf16-mixed"]')
    page.click('button[data-option="optimizer"][data-value="sgd"]')
    s |= {"batch": 64, "context": 32768, "serve_precision": "fp32",
          "train_precision": "bf16-mixed", "optimizer": "sgd"}
    _check(page, s, "7b GQA, B 64, T 32768, fp32 serving, bf16-mixed sgd")

    # 4. a GPT-2-like shape built by hand: layers, width, heads, F, V, and the switches
    for key, value in [("num_layers", 20), ("embed_dim", 1280), ("num_heads", 20),
                       ("vocab_size", 50257), ("mlp_hidden", 5120)]:
        _slide(page, view, key, value)
        s[key] = value
    s["num_kv_heads"] = 5  # 8 does not divide 20: the largest divisor of 20 below 8
    assert page.locator(".llm-cost-nkv option").evaluate_all("os => os.map((o) => +o.value)") == [
        1, 2, 4, 5, 10, 20]
    for key, value in [("mlp", "gelu"), ("norm", "layernorm"), ("tied", True),
                       ("positions", "learned"), ("bias", True), ("recompute_attention", True),
                       ("dropout", False)]:
        page.click(f'button[data-option="{key}"][data-value="{str(value).lower()}"]')
        s[key] = value
    _check(page, s, "hand-made")
    page.click('button[data-option="mlp_hidden"]')  # back to F = 4 E
    s["mlp_hidden"] = 0
    assert page.locator('.llm-cost-shown[data-key="mlp_hidden"]').inner_text() == "4E = 5120"
    _check(page, s, "hand-made, F = 4E")
    assert page.locator('.llm-cost-presets button[aria-pressed="true"]').count() == 0
    assert not problems, problems
    page.locator("#el").screenshot(path=str(tmp_path / "model_cost.png"))
    page.close()


def test_a_bad_combination_is_shown_as_an_error(load):
    view = ModelCostView(preset="gpt2")
    page, problems = load(view, "cost-bad")
    # nkv is chosen from the divisors of nh only
    assert page.locator(".llm-cost-nkv option").evaluate_all("os => os.map((o) => +o.value)") == [
        1, 2, 3, 4, 6, 12]
    error = page.locator(".llm-cost-error")
    assert error.is_hidden()
    _slide(page, view, "embed_dim", 1600)  # not a multiple of nh = 12
    assert "not a multiple of the heads nh = 12" in error.inner_text()
    assert page.evaluate(SHOWN) == {}  # no numbers for a shape that cannot exist
    assert page.locator('h4 .llm-cost-v[data-key="params.total"]').inner_text() == "–"
    _slide(page, view, "num_heads", 25)  # GPT-2 XL's heads: valid again, nkv 12 -> 5
    assert error.is_hidden()
    _check(page, view.settings | {"embed_dim": 1600, "num_heads": 25, "num_kv_heads": 5},
           "E 1600, nh 25")
    # a state set from Python that no control can make: nkv = 3 for nh = 25
    page.evaluate("window.model.set('settings', {...window.model.get('settings'), "
                  "num_kv_heads: 3})")
    assert "must divide the heads nh = 25" in error.inner_text()
    assert page.evaluate(SHOWN) == {}
    assert not problems, problems
    page.close()
