// What a Transformer costs, recomputed in the browser: parameters, FLOPs per token, training and
// serving memory, with the formulas of book/scale.py (the tests compare the two). State:
// presets (shapes with a label and their parameter count), choices (slider name -> values),
// settings (book.scale's names: vocab_size, context = T = max_len, embed_dim, num_layers,
// num_heads, num_kv_heads, mlp_hidden (0: 4 E), mlp, norm, tied, positions, bias, batch,
// serve_precision, train_precision, optimizer, recompute_attention, dropout), title.

export const BYTES = { fp32: 4, bf16: 2, fp16: 2 };
const OPTIMIZER_STATE = { adamw: 2, sgd: 0 }; // fp32 numbers kept per parameter

const ALLOWED = { mlp: ["gelu", "swiglu"], norm: ["layernorm", "rmsnorm"],
  positions: ["learned", "rope"], serve_precision: ["fp32", "bf16"],
  train_precision: ["fp32", "bf16-mixed"], optimizer: ["adamw", "sgd"] };

// An Error unless the settings describe a shape book.scale.TransformerShape accepts.
function check(s) {
  for (const k of ["vocab_size", "context", "embed_dim", "num_layers", "num_heads",
    "num_kv_heads", "batch"]) {
    if (!(Number.isInteger(s[k]) && s[k] > 0)) throw new Error(`${k} must be a whole number > 0, got ${s[k]}`);
  }
  if (!(Number.isInteger(s.mlp_hidden) && s.mlp_hidden >= 0)) {
    throw new Error(`mlp_hidden must be a whole number (0 for 4 E), got ${s.mlp_hidden}`);
  }
  for (const [k, allowed] of Object.entries(ALLOWED)) {
    if (!allowed.includes(s[k])) throw new Error(`${k} must be one of ${allowed.join(", ")}, got ${s[k]}`);
  }
  if (s.embed_dim % s.num_heads) {
    throw new Error(`width E = ${s.embed_dim} is not a multiple of the heads nh = ${s.num_heads}: ` +
      "every head gets hd = E / nh features");
  }
  if (s.num_heads % s.num_kv_heads) {
    throw new Error(`KV heads nkv = ${s.num_kv_heads} must divide the heads nh = ${s.num_heads}: ` +
      "each key/value head serves a whole group of query heads");
  }
}

// Korthikanti et al. (2022), eq. 1, as book.scale._activation_bytes_per_layer counts it.
function activationBytesPerLayer(s, valueBytes) {
  const sbh = s.context * s.batch * s.embed_dim;
  const as2b = s.num_heads * s.context * s.context * s.batch;
  let values = 16 * sbh, masks = 2 * sbh;
  if (!s.recompute_attention) {
    values += 2 * as2b;
    masks += as2b;
  }
  return values * valueBytes + (s.dropout ? masks : 0);
}

// Everything the view shows, from the settings alone: book.scale's TransformerShape.params,
// flops_per_token (causal), kv_cache_bytes_per_token, inference_memory and training_memory for
// the shape with max_len = context, on B sequences of T = context tokens.
export function costs(s) {
  check(s);
  const V = s.vocab_size, T = s.context, E = s.embed_dim, L = s.num_layers, B = s.batch;
  const nh = s.num_heads, nkv = s.num_kv_heads, hd = E / nh;
  const F = s.mlp_hidden || 4 * E, b = s.bias ? 1 : 0;
  const attnW = E * nh * hd + 2 * E * nkv * hd + nh * hd * E;
  const attention = attnW + b * (nh * hd + 2 * nkv * hd + E);
  const nMat = s.mlp === "gelu" ? 2 : 3;
  const mlpW = nMat * E * F;
  const mlp = mlpW + b * ((nMat - 1) * F + E);
  const norm = E * (s.norm === "layernorm" && s.bias ? 2 : 1);
  const params = { token_embedding: V * E,
    position_embedding: s.positions === "learned" ? T * E : 0,
    attention, mlp, norms: 2 * norm, blocks: L * (attention + mlp + 2 * norm),
    final_norm: norm, head: s.tied ? 0 : V * E };
  params.total = params.token_embedding + params.position_embedding + params.blocks +
    params.final_norm + params.head;
  params.non_embedding = params.blocks + params.final_norm;
  params.matmul_weights = L * (attnW + mlpW);
  const N = params.total;

  // matrix products only, 2 FLOPs per multiply-add; a causal query sees T / 2 keys on average
  const flops = { dense: 2 * params.matmul_weights, attention: 2 * L * T * nh * hd, head: 2 * E * V };
  flops.forward = flops.dense + flops.attention + flops.head;
  flops.kaplan = flops.dense + flops.attention;
  flops.training = 3 * flops.forward;

  const kvPerToken = 2 * L * nkv * hd * BYTES[s.serve_precision];
  const serving = { weights: N * BYTES[s.serve_precision], kv_cache: B * T * kvPerToken };
  serving.total = serving.weights + serving.kv_cache;

  const mixed = s.train_precision === "bf16-mixed";
  const w = mixed ? BYTES.bf16 : BYTES.fp32;
  const training = { weights: w * N, gradients: w * N,
    optimizer: 4 * N * (OPTIMIZER_STATE[s.optimizer] + (mixed ? 1 : 0)),
    activations: L * activationBytesPerLayer(s, w), logits: 4 * B * T * V };
  training.total = training.weights + training.gradients + training.optimizer +
    training.activations + training.logits;
  return { params, flops, kv_cache_bytes_per_token: kvPerToken, serving, training };
}

// 3 significant digits with a unit: counts in k/M/B/T, FLOPs in SI, bytes in KiB/MiB/GiB/TiB.
function scaled(x, base, units) {
  let i = 0;
  while (i < units.length - 1 && Math.abs(x) >= base ** (i + 1)) i++;
  const v = x / base ** i;
  return (i === 0 ? String(Math.round(v)) : v.toPrecision(3)) + units[i];
}
const count = (n) => scaled(n, 1000, ["", "k", "M", "B", "T"]);
const flopText = (n) => scaled(n, 1000, [" FLOP", " kFLOP", " MFLOP", " GFLOP", " TFLOP", " PFLOP"]);
const byteText = (n) => scaled(n, 1024, [" B", " KiB", " MiB", " GiB", " TiB", " PiB"]);
const exact = (n) => n.toLocaleString("en-US");

// The controls: sliders move through the values in `choices` (book/widgets/model_cost.py).
const SLIDERS = [["num_layers", "layers L"], ["embed_dim", "width E"], ["num_heads", "heads nh"],
  ["mlp_hidden", "MLP hidden F"], ["vocab_size", "vocabulary V"], ["context", "context T"],
  ["batch", "batch B"]];
const OPTIONS = [
  ["mlp", "MLP", [["gelu", "GELU"], ["swiglu", "SwiGLU"]]],
  ["norm", "norm", [["layernorm", "LayerNorm"], ["rmsnorm", "RMSNorm"]]],
  ["tied", "head", [[true, "tied"], [false, "own matrix"]]],
  ["positions", "positions", [["learned", "learned"], ["rope", "RoPE"]]],
  ["bias", "biases", [[true, "yes"], [false, "no"]]],
  ["serve_precision", "serving in", [["fp32", "fp32"], ["bf16", "bf16"]]],
  ["train_precision", "training in", [["fp32", "fp32"], ["bf16-mixed", "bf16-mixed"]]],
  ["optimizer", "optimizer", [["adamw", "AdamW"], ["sgd", "SGD"]]],
  ["recompute_attention", "attention", [[false, "kept"], [true, "recomputed"]]],
  ["dropout", "dropout", [[true, "on"], [false, "off"]]],
];
const SHAPE_KEYS = ["vocab_size", "embed_dim", "num_layers", "num_heads", "num_kv_heads",
  "mlp_hidden", "mlp", "norm", "tied", "positions", "bias"];
const TRAIN_PARTS = [["weights", "weights"], ["gradients", "gradients"],
  ["optimizer", "optimizer state"], ["activations", "activations"], ["logits", "logits"]];
const SERVE_PARTS = [["weights", "weights"], ["kv_cache", "KV cache"]];
const PARAM_PARTS = [["token_embedding", "token embedding V·E"],
  ["position_embedding", "position table T·E"], ["attention", "attention, per block"],
  ["mlp", "MLP, per block"], ["norms", "norms, per block"], ["blocks", "all L blocks"],
  ["final_norm", "final norm"], ["head", "head V·E (untied)"]];
const FLOP_PARTS = [["dense", "weight matrices 2·N"], ["attention", "attention 2·L·T·E"],
  ["head", "logits 2·E·V"]];

const divisors = (n) => [...Array(n).keys()].map((i) => i + 1).filter((d) => n % d === 0);
const nearestIndex = (values, v) => values.reduce((best, x, i) =>
  (Math.abs(x - v) < Math.abs(values[best] - v) ? i : best), 0);

// The log-scale strip of parameter counts: the presets, and the current setting marked.
const STRIP_W = 640, STRIP_H = 112, LO = 3, HI = 12, X0 = 24, X1 = 616, AXIS_Y = 46;
// label rows, taken in turn from the smallest model up: far above, near below, near above, far
// below; neighbours alternate sides, and labels in one row are four models apart
const ROWS = [12, AXIS_Y + 46, AXIS_Y - 20, 106];
const stripX = (n) => X0 + ((Math.min(HI, Math.max(LO, Math.log10(n))) - LO) / (HI - LO)) * (X1 - X0);
const DECADES = ["1k", "10k", "100k", "1M", "10M", "100M", "1B", "10B", "100B", "1T"];

function strip(presets, now) {
  let inner = svgTag("line", { x1: X0, x2: X1, y1: AXIS_Y, y2: AXIS_Y, class: "llm-cost-axis" });
  DECADES.forEach((label, i) => {
    const x = stripX(10 ** (LO + i));
    inner += svgTag("line", { x1: x, x2: x, y1: AXIS_Y - 3, y2: AXIS_Y + 3, class: "llm-cost-axis" });
    inner += svgTag("text", { x, y: AXIS_Y + 16, "text-anchor": "middle", class: "llm-cost-tick" }, label);
  });
  const sorted = [...presets].sort((a, b) => a.params - b.params);
  sorted.forEach((p, i) => { // the leaders first, under every label
    const x = stripX(p.params).toFixed(1), y = ROWS[i % 4];
    inner += svgTag("line", { x1: x, x2: x, y1: y < AXIS_Y ? y + 3 : AXIS_Y,
      y2: y < AXIS_Y ? AXIS_Y : y - 10, class: "llm-cost-leader" });
  });
  sorted.forEach((p, i) => {
    const x = stripX(p.params).toFixed(1), y = ROWS[i % 4];
    inner += svgTag("circle", { cx: x, cy: AXIS_Y, r: 4, "data-preset": escapeXml(p.name),
      class: p.public ? "llm-cost-dot llm-cost-public" : "llm-cost-dot llm-cost-ours" },
    svgTag("title", {}, escapeXml(`${p.label}: ${exact(p.params)} parameters`)));
    inner += svgTag("text", { x, y, "text-anchor": "middle", class: "llm-cost-name" },
      escapeXml(p.label.replace(" (ch. 5)", "").replace(/^our /, "")));
  });
  if (now !== null) {
    const x = stripX(now);
    inner += svgTag("path", { d: `M${x.toFixed(1)},${AXIS_Y - 2}l-6,-11h12z`, class: "llm-cost-now",
      "data-params": now }, svgTag("title", {}, `this setting: ${exact(now)} parameters`));
  }
  return plotSvg("llm-cost-strip", STRIP_W, STRIP_H,
    "parameter counts on a log scale: the presets and this setting", inner, 0.75);
}

function render({ model, el }) {
  el.classList.add("llm-card", "llm-cost");
  el.innerHTML = `
    <div class="llm-cost-title"></div>
    <div class="llm-cost-presets" role="group" aria-label="presets"></div>
    <div class="llm-cost-sliders"></div>
    <div class="llm-cost-options"></div>
    <div class="llm-cost-error" role="alert"></div>
    <div class="llm-cost-results" aria-live="polite">
      <section><h4>parameters <b class="llm-cost-v" data-key="params.total"></b></h4>
        <div class="llm-cost-list llm-cost-params"></div></section>
      <section><h4>FLOPs per token</h4><div class="llm-cost-list llm-cost-flops"></div></section>
      <section><h4>training memory <b class="llm-cost-v" data-key="training.total"></b></h4>
        <div class="llm-cost-bar llm-cost-train-bar"></div>
        <div class="llm-cost-list llm-cost-train"></div></section>
      <section><h4>serving memory <b class="llm-cost-v" data-key="serving.total"></b></h4>
        <div class="llm-cost-bar llm-cost-serve-bar"></div>
        <div class="llm-cost-list llm-cost-serve"></div></section>
    </div>
    <div class="llm-cost-where"></div>
    <div class="llm-scroll-x llm-cost-strip-wrap"></div>`;
  const q = (sel) => el.querySelector(sel);
  const choices = model.get("choices");
  const presets = model.get("presets");

  const update = (changes) => {
    model.set("settings", { ...model.get("settings"), ...changes });
    model.save_changes(); // a no-op without a kernel; keeps Python in sync inside Jupyter
    draw();
  };

  for (const p of presets) {
    q(".llm-cost-presets").appendChild(button(p.label, { preset: p.name }, () => {
      const changes = { context: p.max_len };
      for (const k of SHAPE_KEYS) changes[k] = p[k];
      if (p.dropout !== null) changes.dropout = p.dropout; // known for our GPTs only
      update(changes);
    }));
  }

  // one row per slider, and the KV heads as a list of the divisors of nh
  const rows = q(".llm-cost-sliders");
  for (const [key, label] of SLIDERS) {
    const row = document.createElement("label");
    row.className = "llm-cost-row";
    row.innerHTML = `<span>${label}</span><input type="range" min="0" step="1"
      class="llm-cost-slider" aria-label="${label}"><b class="llm-cost-shown"></b>`;
    const input = row.querySelector("input");
    input.dataset.key = key;
    input.max = String(choices[key].length - 1);
    input.addEventListener("input", () => {
      const v = choices[key][Number(input.value)];
      const s = model.get("settings");
      const changes = { [key]: v };
      // a new nh keeps nkv if it still divides nh, else takes the largest divisor below it
      if (key === "num_heads" && v % s.num_kv_heads) {
        changes.num_kv_heads = Math.max(...divisors(v).filter((d) => d <= s.num_kv_heads));
      }
      update(changes);
    });
    row.querySelector("b").dataset.key = key;
    rows.appendChild(row);
    if (key === "num_heads") {
      const kv = document.createElement("label");
      kv.className = "llm-cost-row";
      kv.innerHTML = `<span>KV heads nkv</span><select class="llm-cost-nkv"
        aria-label="KV heads nkv"></select><b class="llm-cost-gqa"></b>`;
      kv.querySelector("select").addEventListener("change", (e) =>
        update({ num_kv_heads: Number(e.target.value) }));
      rows.appendChild(kv);
    }
    if (key === "mlp_hidden") {
      row.appendChild(button("4E", { option: "mlp_hidden", value: "0" },
        () => update({ mlp_hidden: 0 })));
    }
  }
  for (const [key, label, options] of OPTIONS) {
    const group = document.createElement("span");
    group.className = "llm-cost-group";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", label);
    group.innerHTML = `<span>${label}</span>`;
    for (const [value, text] of options) {
      group.appendChild(button(text, { option: key, value: String(value) },
        () => update({ [key]: value })));
    }
    q(".llm-cost-options").appendChild(group);
  }

  // a list of labelled numbers; each value carries its exact number in data-value for tests
  function list(sel, prefix, parts, total, fmt, colours) {
    q(sel).innerHTML = "";
    for (const [k, label] of parts) {
      const line = document.createElement("div");
      line.innerHTML = `<span class="llm-cost-key"></span><span class="llm-cost-label"></span>
        <span class="llm-cost-v"></span>`;
      line.querySelector(".llm-cost-label").textContent = label;
      const v = line.querySelector(".llm-cost-v");
      v.dataset.key = `${prefix}.${k}`;
      v.dataset.value = String(total[k]);
      v.textContent = fmt(total[k]);
      v.title = exact(total[k]);
      const key = line.querySelector(".llm-cost-key");
      if (colours) key.classList.add(`llm-cost-c-${k}`);
      else key.remove();
      q(sel).appendChild(line);
    }
  }

  function bar(sel, parts, values) {
    q(sel).innerHTML = "";
    for (const [k, label] of parts) {
      const seg = document.createElement("span");
      seg.className = `llm-cost-seg llm-cost-c-${k}`;
      seg.dataset.key = k;
      seg.style.width = `${(100 * values[k] / values.total).toFixed(3)}%`;
      seg.title = `${label}: ${byteText(values[k])} (${(100 * values[k] / values.total).toFixed(1)}%)`;
      q(sel).appendChild(seg);
    }
  }

  function draw() {
    const s = model.get("settings");
    q(".llm-cost-title").textContent = model.get("title");
    el.querySelectorAll("[data-preset]").forEach((b) => {
      if (b.tagName !== "BUTTON") return;
      const p = presets.find((x) => x.name === b.dataset.preset);
      setActive(b, p.max_len === s.context && SHAPE_KEYS.every((k) => p[k] === s[k]), "llm-cost-on");
    });
    el.querySelectorAll("button[data-option]").forEach((b) =>
      setActive(b, String(s[b.dataset.option]) === b.dataset.value, "llm-cost-on"));
    for (const input of el.querySelectorAll(".llm-cost-slider")) {
      const key = input.dataset.key;
      const v = key === "mlp_hidden" ? s.mlp_hidden || 4 * s.embed_dim : s[key];
      input.value = String(nearestIndex(choices[key], v));
      const shown = q(`.llm-cost-shown[data-key="${key}"]`);
      shown.textContent = key === "mlp_hidden" && !s.mlp_hidden ? `4E = ${v}` : exact(v);
    }
    const nkv = q(".llm-cost-nkv");
    nkv.innerHTML = "";
    const options = divisors(s.num_heads);
    if (!options.includes(s.num_kv_heads)) options.push(s.num_kv_heads); // shown, and refused
    for (const d of options) {
      const o = document.createElement("option");
      o.value = String(d);
      o.textContent = d === s.num_heads ? `${d} (multi-head)` : String(d);
      nkv.appendChild(o);
    }
    nkv.value = String(s.num_kv_heads);
    q(".llm-cost-gqa").textContent = s.num_heads % s.num_kv_heads ? "" :
      s.num_kv_heads === s.num_heads ? "MHA" : `GQA ×${s.num_heads / s.num_kv_heads}`;

    let c = null;
    try {
      c = costs(s);
      q(".llm-cost-error").textContent = "";
    } catch (err) {
      q(".llm-cost-error").textContent = `Not a valid shape: ${err.message}.`;
    }
    el.classList.toggle("llm-cost-invalid", c === null);
    q(".llm-cost-strip-wrap").innerHTML = strip(presets, c && c.params.total);
    if (c === null) {
      el.querySelectorAll(".llm-cost-results .llm-cost-v").forEach((v) => {
        v.textContent = "–";
        delete v.dataset.value;
      });
      q(".llm-cost-where").textContent = "";
      return;
    }
    const heads = [["params.total", c.params.total, count], ["training.total", c.training.total, byteText],
      ["serving.total", c.serving.total, byteText]];
    for (const [key, value, fmt] of heads) {
      const v = q(`h4 .llm-cost-v[data-key="${key}"]`);
      v.dataset.value = String(value);
      v.textContent = fmt(value);
      v.title = exact(value);
    }
    const p = c.params;
    list(".llm-cost-params", "params", [...PARAM_PARTS.filter(([k]) =>
      !(k === "head" && s.tied) && !(k === "position_embedding" && s.positions !== "learned")),
    ["non_embedding", "without embeddings and head"]], p, count, false);
    list(".llm-cost-flops", "flops", [...FLOP_PARTS, ["forward", "forward, in all"],
      ["training", "training: 3 × forward"]], c.flops, flopText, false);
    bar(".llm-cost-train-bar", TRAIN_PARTS, c.training);
    list(".llm-cost-train", "training", TRAIN_PARTS, c.training, byteText, true);
    bar(".llm-cost-serve-bar", SERVE_PARTS, c.serving);
    list(".llm-cost-serve", "serving", [...SERVE_PARTS], c.serving, byteText, true);
    const per = document.createElement("div");
    per.innerHTML = `<span class="llm-cost-label">KV cache per token</span>
      <span class="llm-cost-v" data-key="kv_cache_bytes_per_token"></span>`;
    const v = per.querySelector(".llm-cost-v");
    v.dataset.value = String(c.kv_cache_bytes_per_token);
    v.textContent = byteText(c.kv_cache_bytes_per_token);
    v.title = `${exact(c.kv_cache_bytes_per_token)} bytes = 2 · L · nkv · hd · bytes`;
    q(".llm-cost-serve").appendChild(per);
    // where the setting sits among the presets
    const below = presets.filter((x) => x.params <= p.total).sort((a, b) => b.params - a.params)[0];
    const above = presets.filter((x) => x.params > p.total).sort((a, b) => a.params - b.params)[0];
    const times = (r) => (r < 1.005 ? "the size of" : `${r.toPrecision(3)} ×`);
    q(".llm-cost-where").textContent = `${count(p.total)} parameters: ` +
      (below ? `${times(p.total / below.params)} ${below.label}` : `smaller than ${above.label}`) +
      (below && above ? `, ${(above.params / p.total).toPrecision(3)} × smaller than ${above.label}` : "");
  }

  model.on("change:settings", draw);
  draw();
}

export default { render };
