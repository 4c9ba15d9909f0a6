// The next-token distribution of a language model, reshaped in the browser: temperature, then
// top-k, then top-p, as book.textgen.sample_next does it. State: prompts (P strings), tokens
// (V labels), logits (P x V numbers), prompt (index), temperature, top_k (0 = off),
// top_p (1 = off), show (bars drawn), title.

function softmax(z) {
  const top = Math.max(...z.filter((v) => v > -Infinity));
  const e = z.map((v) => (v === -Infinity ? 0 : Math.exp(v - top)));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

// Like top_k_filter: keep every logit >= the k-th largest (ties with it are kept).
function topK(z, k) {
  if (!k || k >= z.length) return z;
  const kth = [...z].sort((a, b) => b - a)[k - 1];
  return z.map((v) => (v < kth ? -Infinity : v));
}

// Like top_p_filter: keep the most probable tokens until their mass reaches p (at least one;
// tokens as probable as the last one kept are kept too).
function topP(z, p) {
  if (p >= 1) return z;
  const probs = softmax(z);
  const sorted = [...probs].sort((a, b) => b - a);
  let before = 0, smallest = sorted[0];
  for (const q of sorted) {
    if (before >= p) break;
    smallest = q;
    before += q;
  }
  return z.map((v, i) => (probs[i] < smallest ? -Infinity : v));
}

export function distribution(logits, temperature, k, p) {
  const tempered = logits.map((v) => v / temperature);
  const before = softmax(tempered);
  const after = softmax(topP(topK(tempered, k), p));
  return { before, after };
}

const T_MIN = 0.1, T_MAX = 5;
const toSlider = (t) => Math.round((1000 * Math.log(t / T_MIN)) / Math.log(T_MAX / T_MIN));
const fromSlider = (v) => T_MIN * Math.pow(T_MAX / T_MIN, v / 1000);
const pct = (x) => (x >= 0.1 ? (100 * x).toFixed(1) : (100 * x).toFixed(2)) + "%";

function render({ model, el }) {
  el.classList.add("llm-card", "llm-next");
  el.innerHTML = `
    <div class="llm-next-title"></div>
    <div class="llm-next-prompts" role="group" aria-label="prompt"></div>
    <div class="llm-next-controls">
      <label>temperature <b class="llm-next-t"></b>
        <input type="range" min="0" max="1000" step="1" class="llm-next-temp"
               aria-label="temperature"></label>
      <span class="llm-next-tpresets"></span>
    </div>
    <div class="llm-next-controls">
      <label>top-k <b class="llm-next-k"></b>
        <input type="range" min="0" step="1" class="llm-next-topk" aria-label="top-k"></label>
      <span class="llm-next-kpresets"></span>
    </div>
    <div class="llm-next-controls">
      <label>top-p <b class="llm-next-p"></b>
        <input type="range" min="5" max="100" step="1" class="llm-next-topp"
               aria-label="top-p"></label>
      <span class="llm-next-ppresets"></span>
    </div>
    <div class="llm-next-legend"><span class="llm-next-key-before"></span> after temperature
      <span class="llm-next-key-after"></span> sampled from, after top-k and top-p</div>
    <div class="llm-next-bars" role="list"></div>
    <div class="llm-next-summary" aria-live="polite"></div>`;
  const q = (s) => el.querySelector(s);
  const V = model.get("tokens").length;
  q(".llm-next-topk").max = String(V);

  const set = (name, value) => {
    model.set(name, value);
    model.save_changes(); // a no-op without a kernel; keeps Python in sync inside Jupyter
    draw();
  };
  model.get("prompts").forEach((text, i) =>
    q(".llm-next-prompts").appendChild(button(JSON.stringify(text).slice(1, -1) || "(empty)",
      { prompt: i }, () => set("prompt", i))));
  for (const t of [0.5, 1, 2]) {
    q(".llm-next-tpresets").appendChild(button(`T = ${t}`, { temperature: t },
      () => set("temperature", t)));
  }
  for (const k of [1, 5, 20, 0]) {
    if (k > V) continue;
    q(".llm-next-kpresets").appendChild(button(k ? `k = ${k}` : "off", { topk: k },
      () => set("top_k", k)));
  }
  for (const p of [0.5, 0.9, 1]) {
    q(".llm-next-ppresets").appendChild(button(p < 1 ? `p = ${p}` : "off", { topp: p },
      () => set("top_p", p)));
  }
  q(".llm-next-temp").addEventListener("input", (e) =>
    set("temperature", Number(fromSlider(Number(e.target.value)).toFixed(2))));
  q(".llm-next-topk").addEventListener("input", (e) => set("top_k", Number(e.target.value)));
  q(".llm-next-topp").addEventListener("input", (e) => set("top_p", Number(e.target.value) / 100));

  function draw() {
    const tokens = model.get("tokens");
    const i = Math.min(model.get("prompt"), model.get("prompts").length - 1);
    const logits = model.get("logits")[i];
    const t = model.get("temperature"), k = model.get("top_k"), p = model.get("top_p");
    const { before, after } = distribution(logits, t, k, p);
    q(".llm-next-title").textContent = model.get("title");
    // the chosen prompt, and the presets that match the settings, are shown pressed
    el.querySelectorAll("[data-prompt]").forEach((b) => setActive(b, Number(b.dataset.prompt) === i, "llm-next-on"));
    el.querySelectorAll("[data-temperature]").forEach((b) =>
      setActive(b, Math.abs(Number(b.dataset.temperature) - t) < 1e-9, "llm-next-on"));
    el.querySelectorAll("[data-topk]").forEach((b) => setActive(b, Number(b.dataset.topk) === k, "llm-next-on"));
    el.querySelectorAll("[data-topp]").forEach((b) =>
      setActive(b, Math.abs(Number(b.dataset.topp) - p) < 1e-9, "llm-next-on"));
    q(".llm-next-t").textContent = t.toFixed(2);
    q(".llm-next-temp").value = String(toSlider(t));
    q(".llm-next-k").textContent = k ? String(k) : "off";
    q(".llm-next-topk").value = String(k);
    q(".llm-next-p").textContent = p < 1 ? p.toFixed(2) : "off";
    q(".llm-next-topp").value = String(Math.round(100 * p));

    const order = logits.map((_, j) => j).sort((a, b) => logits[b] - logits[a]);
    const shown = order.slice(0, model.get("show"));
    const top = Math.max(...before);
    const bars = q(".llm-next-bars");
    bars.innerHTML = "";
    for (const j of shown) {
      const cut = after[j] === 0;
      const row = document.createElement("div");
      row.className = "llm-next-row" + (cut ? " llm-next-cut" : "");
      row.setAttribute("role", "listitem");
      row.dataset.token = tokens[j];
      row.dataset.p = after[j].toFixed(6);
      row.title = `logit ${logits[j].toFixed(2)} (relative to the largest) · ` +
        `after temperature ${pct(before[j])} · ` + (cut ? "cut off" : `sampled with ${pct(after[j])}`);
      row.innerHTML = `<span class="llm-next-tok"></span>
        <span class="llm-next-track"><span class="llm-next-before"></span>
          <span class="llm-next-after"></span></span>
        <span class="llm-next-val"></span>`;
      row.querySelector(".llm-next-tok").textContent = tokens[j];
      // bars are scaled to the most probable token, so small ones stay visible
      row.querySelector(".llm-next-before").style.width = `${(100 * before[j] / top).toFixed(1)}%`;
      row.querySelector(".llm-next-after").style.width =
        `${(100 * Math.min(after[j], top) / top).toFixed(1)}%`;
      row.querySelector(".llm-next-val").textContent = cut ? "cut" : pct(after[j]);
      bars.appendChild(row);
    }
    const rest = order.slice(shown.length);
    if (rest.length) {
      const mass = rest.reduce((s, j) => s + after[j], 0);
      const row = document.createElement("div");
      row.className = "llm-next-row llm-next-rest";
      row.textContent = `… ${rest.length} more tokens: ${pct(mass)} together`;
      bars.appendChild(row);
    }
    const kept = after.filter((x) => x > 0).length;
    const cutMass = before.reduce((s, x, j) => s + (after[j] === 0 ? x : 0), 0);
    const best = order[0];
    q(".llm-next-summary").textContent =
      `sampling from ${kept} of ${tokens.length} tokens · the filters cut ${pct(cutMass)} ` +
      `of the tempered probability · most likely ${quoted(tokens[best])} ${pct(after[best])}`;
  }

  for (const name of ["prompt", "temperature", "top_k", "top_p", "logits"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
}

export default { render };
