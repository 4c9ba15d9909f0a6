// Attention as a soft dictionary lookup, computed in the browser: the view works on the static
// website with no kernel. State (see LookupView in lookup.py):
//   key_vectors: N x [k1, k2]; value_vectors: N x [v...]; labels: N names; colours: values are RGB in [0, 1];
//   extent: the plane shows [-extent, extent]²; title;
//   query: [q1, q2]; temperature: τ > 0.
// Every step is recomputed here: s_i = q·k_i / τ, w = softmax(s), output = Σ_i w_i v_i.

const SIZE = 290, PAD = 22; // the plane, in pixels
const KEY_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#8c564b"];
const LOG_T_MIN = -1.3, LOG_T_MAX = 1.3; // τ from about 0.05 to 20, on a log scale

// The lookup itself: scores, softmax weights (shifted by the largest score, so exp never
// overflows) and the weighted sum of the values.
export function lookup(q, keys, values, temperature) {
  const scores = keys.map((k) => (q[0] * k[0] + q[1] * k[1]) / temperature);
  const top = Math.max(...scores);
  const e = scores.map((s) => Math.exp(s - top));
  const total = e.reduce((a, b) => a + b, 0);
  const weights = e.map((x) => x / total);
  const output = values[0].map((_, j) => values.reduce((sum, v, i) => sum + weights[i] * v[j], 0));
  return { scores, weights, output };
}

const rgb = (v) => `rgb(${v.map((c) => Math.round(255 * Math.min(1, Math.max(0, c)))).join(",")})`;
const fmt = (v, places) => {
  const text = v.toFixed(places);
  return Number(text) === 0 ? (0).toFixed(places) : text.replace(/^-/, "\u2212");
};
const fmtT = (t) => (t >= 10 ? t.toFixed(1) : t >= 1 ? t.toFixed(2) : t.toPrecision(2));
const vec = (v, places) => `(${v.map((x) => fmt(x, places)).join(", ")})`;

function render({ model, el }) {
  el.classList.add("llm-card", "llm-lookup");
  const uid = uniqueId("llm-lookup"); // for the id of the arrow head
  let draw = () => {};

  function build() {
    const keys = model.get("key_vectors");
    const values = model.get("value_vectors");
    const labels = model.get("labels");
    const colours = model.get("colours");
    const r = model.get("extent");
    const N = keys.length;
    const keyColour = (i) => (colours ? rgb(values[i]) : KEY_COLOURS[i % KEY_COLOURS.length]);
    const px = (x) => PAD + ((x + r) / (2 * r)) * (SIZE - 2 * PAD);
    const py = (y) => SIZE - PAD - ((y + r) / (2 * r)) * (SIZE - 2 * PAD);
    const fromPx = (p) => (((p - PAD) / (SIZE - 2 * PAD)) * 2 - 1) * r;

    el.innerHTML = `
      <div class="llm-lookup-title"></div>
      <div class="llm-lookup-formula">scores <i>s<sub>i</sub></i> = <b>q</b>·<b>k</b><sub><i>i</i></sub> / τ
        → weights <i>w</i> = softmax(<i>s</i>) → output = Σ<sub><i>i</i></sub> <i>w<sub>i</sub></i> <b>v</b><sub><i>i</i></sub></div>
      <div class="llm-lookup-controls">
        <label>q<sub>1</sub> <input type="range" class="llm-lookup-q" data-axis="0" aria-label="q1"></label>
        <span class="llm-lookup-qval" data-axis="0"></span>
        <label>q<sub>2</sub> <input type="range" class="llm-lookup-q" data-axis="1" aria-label="q2"></label>
        <span class="llm-lookup-qval" data-axis="1"></span>
        <label>τ <input type="range" class="llm-lookup-t" aria-label="temperature"></label>
        <span class="llm-lookup-tval"></span>
      </div>
      <div class="llm-lookup-body">
        <div class="llm-lookup-plane-wrap llm-scroll-x"></div>
        <div class="llm-lookup-table-wrap"></div>
      </div>
      <div class="llm-lookup-readout" aria-live="polite"></div>`;
    const title = model.get("title");
    el.querySelector(".llm-lookup-title").textContent = title;
    el.querySelector(".llm-lookup-title").hidden = !title;

    for (const s of el.querySelectorAll(".llm-lookup-q")) {
      Object.assign(s, { min: String(-r), max: String(r), step: "0.05" });
      s.addEventListener("input", () => {
        const q = model.get("query").slice();
        q[Number(s.dataset.axis)] = Number(s.value);
        set("query", q);
      });
    }
    const tSlider = el.querySelector(".llm-lookup-t");
    Object.assign(tSlider, { min: String(LOG_T_MIN), max: String(LOG_T_MAX), step: "0.01" });
    tSlider.addEventListener("input", () => set("temperature", Number((10 ** Number(tSlider.value)).toPrecision(3))));

    // The plane: a grid, the axes, a link from the query to every key (its width is the weight),
    // the keys, the query vector as an arrow from the origin, and the query point.
    const parts = [svgTag("rect", { class: "llm-lookup-bg", x: 0, y: 0, width: SIZE, height: SIZE })];
    for (let v = Math.ceil(-r); v <= r; v++) {
      const cls = v === 0 ? "llm-lookup-axis" : "llm-lookup-grid";
      parts.push(svgTag("line", { class: cls, x1: px(v), x2: px(v), y1: py(-r), y2: py(r) }));
      parts.push(svgTag("line", { class: cls, x1: px(-r), x2: px(r), y1: py(v), y2: py(v) }));
    }
    parts.push(svgTag("text", { class: "llm-lookup-tick", x: px(r) - 2, y: py(0) + 12 }, String(r)));
    parts.push(svgTag("text", { class: "llm-lookup-tick", x: px(0) + 4, y: py(r) + 10 }, String(r)));
    parts.push(svgTag("defs", {}, svgTag("marker", { id: `${uid}-head`, viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" }, svgTag("path", { d: "M0,0L10,5L0,10z", fill: "#111" }))));
    parts.push(svgTag("g", { class: "llm-lookup-links" }, keys.map((_, i) =>
      svgTag("line", { class: "llm-lookup-link", "data-i": i, x1: 0, y1: 0, x2: px(keys[i][0]), y2: py(keys[i][1]) })).join("")));
    parts.push(svgTag("line", { class: "llm-lookup-qvec", x1: px(0), y1: py(0), x2: px(0), y2: py(0),
      "marker-end": `url(#${uid}-head)` }));
    keys.forEach(([k1, k2], i) => {
      parts.push(svgTag("circle", { class: "llm-lookup-key", "data-i": i, cx: px(k1), cy: py(k2), r: 8, fill: keyColour(i) }));
      const right = px(k1) > SIZE - 60;
      parts.push(svgTag("text", { class: "llm-lookup-key-label", x: px(k1) + (right ? -11 : 11), y: py(k2) + 4,
        "text-anchor": right ? "end" : "start" }, escapeXml(labels[i])));
    });
    parts.push(svgTag("g", { class: "llm-lookup-query" },
      svgTag("circle", { class: "llm-lookup-query-ring", cx: 0, cy: 0, r: 9 }) +
      svgTag("circle", { class: "llm-lookup-query-dot", cx: 0, cy: 0, r: 6 })));
    parts.push(svgTag("text", { class: "llm-lookup-query-label", x: 0, y: 0 }, "q"));
    const planeWrap = el.querySelector(".llm-lookup-plane-wrap");
    planeWrap.innerHTML = plotSvg("llm-lookup-plane", SIZE, SIZE,
      "keys and the query in the plane; drag or click to move the query", parts.join(""), 0.8);
    const svg = planeWrap.querySelector("svg");

    // The table: one row per key, then the output.
    const valueHead = colours ? "value (RGB)" : "value <b>v</b>";
    const rows = keys.map((k, i) => `<tr data-i="${i}">
        <td class="llm-lookup-name"><span class="llm-lookup-swatch" style="background: ${keyColour(i)}"></span>${escapeXml(labels[i])}</td>
        <td class="llm-lookup-num">${vec(k, 1)}</td>
        <td class="llm-lookup-num llm-lookup-dot"></td>
        <td class="llm-lookup-num llm-lookup-score"></td>
        <td class="llm-lookup-wcell"><span class="llm-lookup-bar"><span></span></span><span class="llm-lookup-weight"></span></td>
        <td class="llm-lookup-num">${vec(values[i], 2)}</td></tr>`).join("");
    el.querySelector(".llm-lookup-table-wrap").innerHTML = `<table class="llm-lookup-table">
      <thead><tr><th>key</th><th><b>k</b></th><th><b>q</b>·<b>k</b></th><th><i>s</i></th><th>weight <i>w</i></th><th>${valueHead}</th></tr></thead>
      <tbody>${rows}</tbody>
      <tfoot><tr><td colspan="4" class="llm-lookup-out-name">output Σ <i>w<sub>i</sub></i> <b>v</b><sub><i>i</i></sub></td>
        <td class="llm-lookup-wsum"></td>
        <td class="llm-lookup-num"><span class="llm-lookup-out-swatch"></span><span class="llm-lookup-output"></span></td></tr></tfoot>
    </table>`;
    const swatch = el.querySelector(".llm-lookup-out-swatch");
    swatch.hidden = !colours;

    draw = function () {
      const q = model.get("query");
      const t = model.get("temperature");
      const { scores, weights, output } = lookup(q, keys, values, t);
      for (const s of el.querySelectorAll(".llm-lookup-q")) s.value = String(q[Number(s.dataset.axis)]);
      for (const s of el.querySelectorAll(".llm-lookup-qval")) s.textContent = fmt(q[Number(s.dataset.axis)], 2);
      tSlider.value = String(Math.log10(t));
      el.querySelector(".llm-lookup-tval").textContent = fmtT(t);
      const [qx, qy] = [px(q[0]), py(q[1])];
      for (const c of svg.querySelectorAll(".llm-lookup-query circle")) {
        c.setAttribute("cx", qx.toFixed(1));
        c.setAttribute("cy", qy.toFixed(1));
      }
      const label = svg.querySelector(".llm-lookup-query-label");
      label.setAttribute("x", (qx + 10).toFixed(1));
      label.setAttribute("y", (qy - 9).toFixed(1));
      const arrow = svg.querySelector(".llm-lookup-qvec");
      arrow.setAttribute("x2", qx.toFixed(1));
      arrow.setAttribute("y2", qy.toFixed(1));
      arrow.style.display = Math.hypot(q[0], q[1]) < 0.05 ? "none" : "";
      const best = weights.reduce((b, w, i) => (w > weights[b] ? i : b), 0);
      for (const line of svg.querySelectorAll(".llm-lookup-link")) {
        const i = Number(line.dataset.i);
        line.setAttribute("x1", qx.toFixed(1));
        line.setAttribute("y1", qy.toFixed(1));
        line.setAttribute("stroke-width", (0.5 + 9 * weights[i]).toFixed(2));
        line.setAttribute("opacity", (0.15 + 0.85 * weights[i]).toFixed(2));
      }
      for (const c of svg.querySelectorAll(".llm-lookup-key")) {
        c.classList.toggle("llm-lookup-best", Number(c.dataset.i) === best);
      }
      for (const tr of el.querySelectorAll("tbody tr")) {
        const i = Number(tr.dataset.i);
        tr.querySelector(".llm-lookup-dot").textContent = fmt(scores[i] * t, 2);
        tr.querySelector(".llm-lookup-score").textContent = fmt(scores[i], 2);
        tr.querySelector(".llm-lookup-weight").textContent = weights[i].toFixed(3);
        tr.querySelector(".llm-lookup-bar > span").style.width = `${(100 * weights[i]).toFixed(1)}%`;
        tr.classList.toggle("llm-lookup-best-row", i === best);
        tr.dataset.weight = String(weights[i]);
      }
      el.querySelector(".llm-lookup-wsum").textContent = `Σ w = ${weights.reduce((a, b) => a + b, 0).toFixed(3)}`;
      el.querySelector(".llm-lookup-output").textContent = vec(output, 3);
      el.querySelector(".llm-lookup-output").dataset.values = JSON.stringify(output);
      if (colours) swatch.style.background = rgb(output);
      const hard = `a hard lookup (a Python dict, or τ → 0) would return only <b class="llm-lookup-best-name"></b>'s value ${vec(values[best], 2)}`;
      el.querySelector(".llm-lookup-readout").innerHTML =
        `<b class="llm-lookup-best-name"></b> gets the largest weight, ${weights[best].toFixed(3)}; ${hard}.`;
      for (const b of el.querySelectorAll(".llm-lookup-best-name")) b.textContent = labels[best];
    };

    // Drag the query, or click anywhere in the plane to put it there.
    let dragging = false;
    const moveTo = (event) => {
      const box = svg.getBoundingClientRect();
      const x = ((event.clientX - box.left) / box.width) * SIZE;
      const y = ((event.clientY - box.top) / box.height) * SIZE;
      const clamp = (v) => Math.round(Math.min(r, Math.max(-r, v)) * 20) / 20; // the sliders' 0.05 steps
      set("query", [clamp(fromPx(x)), clamp(fromPx(SIZE - y))]);
    };
    svg.addEventListener("pointerdown", (e) => {
      dragging = true;
      if (svg.setPointerCapture) svg.setPointerCapture(e.pointerId);
      moveTo(e);
      e.preventDefault();
    });
    svg.addEventListener("pointermove", (e) => { if (dragging) moveTo(e); });
    const stopDrag = () => { dragging = false; };
    svg.addEventListener("pointerup", stopDrag);
    svg.addEventListener("pointercancel", stopDrag);
    draw();
  }

  function set(name, value) {
    model.set(name, value);
    model.save_changes(); // a no-op without a kernel; keeps Python in sync inside Jupyter
    draw();
  }

  for (const name of ["key_vectors", "value_vectors", "labels", "colours", "extent", "title"]) model.on(`change:${name}`, build);
  for (const name of ["query", "temperature"]) model.on(`change:${name}`, () => draw());
  build();
}

export default { render };
