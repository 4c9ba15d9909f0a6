// Attention weights, drawn in the browser: the view works on the static website with no kernel.
// State (see AttentionView in attention.py):
//   tokens: S key tokens; query_tokens: T query tokens;
//   weights: L x nh x T x S numbers (weights[layer][head][query][key], each row sums to 1,
//     except in signed layers);
//   signed: L booleans (may be missing): true for a layer of signed values, such as the
//     gradient dL/dS of the attention scores, drawn on a diverging scale centred at 0;
//   layer_names: L strings; title: a heading;
//   layer, head (-1 = the average of the heads), query: what is shown and which row is selected.

// Colour scales, as lists of RGB stops from white (nothing) to the darkest colour.
// Weights go from white at 0 to dark blue at the top of the scale, the largest weight of the
// matrix shown (so that a head whose weights are all below 0.1 is not drawn almost blank);
// signed values go from white at 0 to dark blue (negative) or dark red (positive), symmetric
// about 0 up to the largest |value| shown.
const BLUES = [[255, 255, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
const NEGATIVE = [[255, 255, 255], [209, 229, 240], [103, 169, 207], [33, 102, 172], [5, 48, 97]];
const POSITIVE = [[255, 255, 255], [253, 219, 199], [239, 138, 98], [178, 24, 43], [103, 0, 31]];

// The colour of a value as [r, g, b]: a weight w in [0, scale], or a signed value v, with
// -scale the darkest blue and +scale the darkest red.
const colourRgb = (v, scale, signed) =>
  (signed ? blendRgb(v < 0 ? NEGATIVE : POSITIVE, Math.abs(v) / scale) : blendRgb(BLUES, v / scale));

// The top of the weights' colour scale: the largest weight of the matrix, rounded up to 2
// significant digits (0.0714 -> 0.072; 0.9966 -> 1), so that the legend's number is exact.
function weightScale(m) {
  const top = Math.max(...m.map((row) => Math.max(...row)));
  if (!(top > 0)) return 1;
  const unit = 10 ** (Math.floor(Math.log10(top)) - 1);
  return Math.min(1, Number((Math.ceil(top / unit - 1e-9) * unit).toPrecision(2)));
}

// CSS gradients for the legend.
const GRADIENT = cssGradient(BLUES);
const GRADIENT_NEGATIVE = cssGradient([...NEGATIVE].reverse()); // dark blue ... white
const GRADIENT_POSITIVE = cssGradient(POSITIVE); // white ... dark red

// Signed numbers, written with their sign: +0.0300, −0.1100 (a true minus sign), and 0.0000
// (no sign) for what rounds to zero.
// `decimals(scale, digits)` is how many decimals show `digits` significant digits of `scale`.
function decimals(scale, digits) {
  return Math.max(0, digits - 1 - Math.floor(Math.log10(scale)));
}

function signedText(v, places) {
  const text = Math.abs(v).toFixed(places);
  if (Number(text) === 0) return text;
  return (v < 0 ? "−" : "+") + text;
}

const LABEL_CHARS = 10; // longer token labels are cut with "…"

// The T x S matrix shown: one head, or the average of the heads of a layer (of signed
// values too: the mean of the heads' gradients, say).
function matrix(weights, layer, head) {
  const heads = weights[layer];
  if (head >= 0) return heads[head];
  return heads[0].map((row, t) => row.map((_, s) =>
    heads.reduce((sum, h) => sum + h[t][s], 0) / heads.length));
}

function render({ model, el }) {
  el.classList.add("llm-card", "llm-attn");
  let draw = () => {}; // repaints for the current layer, head and query; set by build()

  function build() {
    const keys = model.get("tokens");
    const queries = model.get("query_tokens");
    const weights = model.get("weights");
    const layerNames = model.get("layer_names");
    const nLayers = weights.length, nHeads = weights[0].length;
    const signedLayers = weights.map((_, l) => Boolean((model.get("signed") || [])[l]));
    const nQ = queries.length, nK = keys.length;
    // self-attention: the query is one of the keys, marked in the shaded text
    const selfAttention = nQ === nK && queries.every((q, i) => q === keys[i]);

    el.innerHTML = `
      <div class="llm-attn-title"></div>
      <div class="llm-attn-controls">
        <div class="llm-attn-layers"><span class="llm-attn-control-name">layer</span></div>
        <div class="llm-attn-heads"><span class="llm-attn-control-name">head</span></div>
      </div>
      <div class="llm-attn-hover"></div>
      <div class="llm-attn-grid-wrap llm-scroll-x"></div>
      <div class="llm-attn-row-readout" aria-live="polite"></div>
      <div class="llm-attn-sentence"></div>
      <div class="llm-attn-legend"></div>`;
    const title = model.get("title");
    el.querySelector(".llm-attn-title").textContent = title;
    el.querySelector(".llm-attn-title").hidden = !title;

    // Buttons: one per layer, one per head and "mean of heads" (rows hidden when there is one).
    const layerBox = el.querySelector(".llm-attn-layers");
    layerNames.forEach((name, l) => {
      layerBox.appendChild(button(name, { layer: String(l) }, () => choose("layer", l)));
    });
    layerBox.hidden = nLayers < 2;
    const headBox = el.querySelector(".llm-attn-heads");
    for (let h = 0; h < nHeads; h++) {
      headBox.appendChild(button(`head ${h}`, { head: String(h) }, () => choose("head", h)));
    }
    headBox.appendChild(button("mean of heads", { head: "mean" }, () => choose("head", -1)));
    headBox.hidden = nHeads < 2;
    el.querySelector(".llm-attn-controls").hidden = nLayers < 2 && nHeads < 2;

    // Sizes: square cells that fit a ~700 px column for up to ~48 keys; more keys scroll sideways.
    const cell = Math.max(10, Math.min(32, Math.floor(520 / nK)));
    const keyLen = Math.max(...keys.map((k) => shorten(visible(k), LABEL_CHARS).length));
    const qLen = Math.max(...queries.map((q) => shorten(visible(q), LABEL_CHARS).length));
    const rotate = keyLen * 7 > cell - 2;
    const left = Math.max(36, 14 + qLen * 7.2);
    const top = rotate ? 10 + keyLen * 7 : 18;
    const gridW = nK * cell, gridH = nQ * cell;
    // bars: 0 to 1 upwards for weights; from a zero line in the middle for signed values
    const barTop = top + gridH + 16, barH = signedLayers.some(Boolean) ? 80 : 60;
    const height = barTop + barH + (rotate ? 10 + keyLen * 7 : 20);
    const width = left + gridW + 8;
    const showNumbers = cell >= 28;

    const parts = []; // SVG markup, joined once at the end (faster than one DOM call per cell)
    const label = (text) => escapeXml(shorten(visible(text), LABEL_CHARS));
    const keyLabel = (s, y, below) => {
      const x = left + (s + 0.5) * cell;
      if (!rotate) {
        return svgTag("text", { class: "llm-attn-klabel", "data-k": s, x, y: below ? y + 12 : y - 5 },
          label(keys[s]));
      }
      // written downwards under the bars, upwards above the grid
      const transform = below
        ? `translate(${x + 3},${y + 4}) rotate(90)`
        : `translate(${x + 3},${y - 4}) rotate(-90)`;
      return svgTag("text", { class: "llm-attn-klabel llm-attn-rotated", "data-k": s, transform },
        label(keys[s]));
    };
    for (let s = 0; s < nK; s++) parts.push(keyLabel(s, top, false));
    for (let t = 0; t < nQ; t++) {
      const y = top + t * cell;
      parts.push(svgTag("text", { class: "llm-attn-qlabel", "data-q": t, x: left - 6, y: y + cell / 2 },
        label(queries[t])));
      for (let s = 0; s < nK; s++) {
        const x = left + s * cell;
        parts.push(svgTag("rect", { class: "llm-attn-cell", "data-q": t, "data-k": s,
          x, y, width: cell, height: cell }));
        if (showNumbers) {
          parts.push(svgTag("text", { class: "llm-attn-num", "data-q": t, "data-k": s,
            x: x + cell / 2, y: y + cell / 2 }, ""));
        }
      }
    }
    parts.push(svgTag("rect", { class: "llm-attn-frame", x: left, y: top, width: gridW, height: gridH }));
    parts.push(svgTag("rect", { class: "llm-attn-row-highlight",
      x: left - 1, y: top, width: gridW + 2, height: cell }));
    // The selected row as bars, one under each key column. The axis (the zero line), the gridlines
    // and their labels are placed by draw(): weights go on a 0 to 1 axis, signed values on a
    // -scale to +scale axis with the zero line in the middle.
    const base = barTop + barH;
    parts.push(svgTag("line", { class: "llm-attn-gridline", "data-at": "top",
      x1: left, x2: left + gridW, y1: barTop, y2: barTop }));
    parts.push(svgTag("line", { class: "llm-attn-gridline", "data-at": "bottom",
      x1: left, x2: left + gridW, y1: base, y2: base }));
    parts.push(svgTag("line", { class: "llm-attn-axis", x1: left, x2: left + gridW, y1: base, y2: base }));
    for (const at of ["top", "zero", "bottom"]) {
      parts.push(svgTag("text", { class: "llm-attn-axis-label", "data-at": at, x: left - 6, y: base }, ""));
    }
    for (let s = 0; s < nK; s++) {
      parts.push(svgTag("rect", { class: "llm-attn-bar", "data-k": s, x: left + s * cell + 1, y: base,
        width: Math.max(1, cell - 2), height: 0 }));
      parts.push(keyLabel(s, base, true));
    }

    const wrap = el.querySelector(".llm-attn-grid-wrap");
    wrap.innerHTML = plotSvg("llm-attn-map", width, height, "attention weights: queries by keys",
      parts.join(""), 0.75);
    const svg = wrap.querySelector("svg");
    const rowHighlight = svg.querySelector(".llm-attn-row-highlight");

    // The key tokens as running text, each in its own box shaded by how much the selected query
    // reads it; white space is shown (␣, ↵), and a token with a newline ends its line.
    const sentence = el.querySelector(".llm-attn-sentence");
    sentence.innerHTML = `<span class="llm-attn-sentence-head"></span>`;
    const words = keys.map((k, s) => {
      const span = document.createElement("span");
      span.className = "llm-attn-word";
      span.dataset.k = String(s);
      span.textContent = visible(k);
      sentence.appendChild(span);
      if (k.includes("\n")) sentence.appendChild(document.createElement("br"));
      return span;
    });

    // What is on screen, set by draw(): the matrix, whether it is signed, the top of the colour
    // scale (the largest weight, or for signed values the largest |value|) and, for signed
    // values, how many decimals to write.
    let shown = null, signed = false, scale = 1;
    let places = { exact: 4, cell: 2, axis: 0 };

    // A value as the hover line, the readout and the tooltips write it.
    const exact = (v) => (signed ? signedText(v, places.exact) : v.toFixed(4));

    function current() {
      const layer = Math.min(nLayers - 1, Math.max(0, model.get("layer") | 0));
      const head = model.get("head") < 0 ? -1 : Math.min(nHeads - 1, model.get("head") | 0);
      const query = Math.min(nQ - 1, Math.max(0, model.get("query") | 0));
      return { layer, head, query };
    }

    function describe(t, s) {
      return `query ${quoted(queries[t])} (t=${t}) → key ${quoted(keys[s])} (s=${s}): ` +
        exact(shown[t][s]);
    }

    function legend() {
      const box = el.querySelector(".llm-attn-legend");
      const axes = "rows: queries (the position that reads) · columns: keys (the positions read)";
      if (!signed) {
        box.innerHTML = `weight <span>0</span>
          <span class="llm-attn-gradient" style="background: ${GRADIENT}"></span><span class="llm-attn-scale">${scale}</span>
          (the colours span 0 to the largest weight shown) · ${axes} · each row sums to 1`;
        return;
      }
      // −scale [dark blue … white] 0 [white … dark red] +scale
      const half = (gradient) => `<span class="llm-attn-gradient llm-attn-gradient-half" style="background: ${gradient}"></span>`;
      box.innerHTML = `value <span>${signedText(-scale, places.axis)}</span>
        ${half(GRADIENT_NEGATIVE)}<span>0</span>${half(GRADIENT_POSITIVE)}<span>${signedText(scale, places.axis)}</span>
        (signed: blue &lt; 0 &lt; red, up to the largest |value| shown) · ${axes}`;
    }

    // The bar axis: the zero line and the gridlines at the ends, with their labels.
    function placeAxis(zeroY) {
      const ends = { top: barTop, zero: zeroY, bottom: base };
      const labels = signed
        ? { top: signedText(scale, places.axis), zero: "0", bottom: signedText(-scale, places.axis) }
        : { top: String(scale), zero: "0", bottom: "" };
      for (const line of svg.querySelectorAll(".llm-attn-gridline")) {
        line.style.display = line.dataset.at === "bottom" && !signed ? "none" : "";
      }
      for (const text of svg.querySelectorAll(".llm-attn-axis-label")) {
        text.setAttribute("y", String(ends[text.dataset.at] + (text.dataset.at === "top" ? 4 : 0)));
        text.textContent = labels[text.dataset.at];
      }
      const axis = svg.querySelector(".llm-attn-axis");
      axis.setAttribute("y1", String(zeroY));
      axis.setAttribute("y2", String(zeroY));
    }

    draw = function () {
      const { layer, head, query } = current();
      shown = matrix(weights, layer, head);
      signed = signedLayers[layer];
      if (signed) {
        scale = Math.max(...shown.map((r) => Math.max(...r.map(Math.abs)))) || 1;
        places = { exact: Math.max(4, decimals(scale, 4)), cell: Math.min(2, decimals(scale, 2)),
          axis: decimals(scale, 2) };
      } else {
        scale = weightScale(shown);
      }
      // Cell numbers are hidden when small: below 0.005 for weights; for signed values, below 3%
      // of the scale or when they would round to 0. They are all hidden when the widest would
      // not fit in a cell (more than 5 characters, like −0.12).
      const hideBelow = signed ? Math.max(0.03 * scale, 0.5 * 10 ** -places.cell) : 0.005;
      const numbersFit = !signed || signedText(-scale, places.cell).length <= 5;
      const fill = (v) => `rgb(${colourRgb(v, scale, signed).join(",")})`;
      const dark = (v) => inkOn(colourRgb(v, scale, signed)) === "#fff"; // white text on dark cells
      legend();
      for (const b of el.querySelectorAll("[data-layer]")) setActive(b, Number(b.dataset.layer) === layer, "llm-attn-active");
      for (const b of el.querySelectorAll("[data-head]")) {
        setActive(b, b.dataset.head === "mean" ? head === -1 : Number(b.dataset.head) === head,
          "llm-attn-active");
      }
      for (const rect of svg.querySelectorAll(".llm-attn-cell")) {
        const w = shown[Number(rect.dataset.q)][Number(rect.dataset.k)];
        rect.setAttribute("fill", fill(w));
        rect.dataset.w = w.toFixed(signed ? places.exact : 4);
      }
      for (const text of svg.querySelectorAll(".llm-attn-num")) {
        const w = shown[Number(text.dataset.q)][Number(text.dataset.k)];
        const number = signed ? signedText(w, places.cell) : w.toFixed(2);
        text.textContent = numbersFit && Math.abs(w) >= hideBelow ? number : "";
        text.classList.toggle("llm-attn-num-dark", dark(w));
      }
      // The selected row: highlight, bars, shaded text and the readout.
      rowHighlight.setAttribute("y", String(top + query * cell));
      for (const label of svg.querySelectorAll(".llm-attn-qlabel")) {
        label.classList.toggle("llm-attn-selected", Number(label.dataset.q) === query);
      }
      const row = shown[query];
      // Weights: bars up from 0 at the bottom, the scale's top at the top. Signed values: bars
      // up (positive) or down (negative) from a zero line in the middle, +-scale at the top and
      // the bottom.
      const zeroY = signed ? barTop + barH / 2 : base;
      const unit = signed ? barH / 2 / scale : barH / scale; // pixels per 1.0
      placeAxis(zeroY);
      for (const bar of svg.querySelectorAll(".llm-attn-bar")) {
        const w = row[Number(bar.dataset.k)];
        const h = unit * Math.min(scale, Math.abs(w));
        bar.setAttribute("y", String(w >= 0 ? zeroY - h : zeroY));
        bar.setAttribute("height", String(h));
        // a quarter of the scale's colour at least, so that short bars stay visible
        const shade = Math.sign(w) * (0.25 * scale + 0.75 * Math.abs(w));
        bar.setAttribute("fill", fill(shade));
        bar.dataset.w = w.toFixed(signed ? places.exact : 4);
      }
      words.forEach((span, s) => {
        span.style.background = fill(row[s]);
        span.classList.toggle("llm-attn-word-dark", dark(row[s]));
        span.classList.toggle("llm-attn-word-query", selfAttention && s === query);
        span.title = exact(row[s]);
      });
      // The key read most: the largest weight, or for signed values the largest |value|.
      const size = signed ? Math.abs : (w) => w;
      const top1 = row.reduce((best, w, s) => (size(w) > size(row[best]) ? s : best), 0);
      const headName = head < 0 ? "mean of heads" : `head ${head}`;
      const where = nLayers > 1 || nHeads > 1 ? ` · ${layerNames[layer]}, ${headName}` : "";
      const token = '<b class="llm-attn-token llm-code"></b>';
      el.querySelector(".llm-attn-row-readout").innerHTML = signed
        ? `query ${token} (t=${query}): largest |value| at key ` +
          `${token} (s=${top1}): <b>${exact(row[top1])}</b>${where}`
        : `query ${token} (t=${query}) attends most to key ` +
          `${token} (s=${top1}): <b>${exact(row[top1])}</b>${where}`;
      const [qTok, kTok] = el.querySelectorAll(".llm-attn-row-readout .llm-attn-token");
      qTok.textContent = quoted(queries[query]);
      kTok.textContent = quoted(keys[top1]);
      const sentenceHead = el.querySelector(".llm-attn-sentence-head");
      sentenceHead.innerHTML = `query ${token} ${signed ? "(its row of values):" : "reads:"}`;
      sentenceHead.querySelector(".llm-attn-token").textContent = quoted(queries[query]);
      // the hint under the controls names weights or values, as the layer shown holds
      if (!el.querySelector(".llm-attn-hover-on")) hover(null);
    };

    function hover(event) {
      const line = el.querySelector(".llm-attn-hover");
      const target = event && event.target.closest("[data-k]");
      if (!target || !shown) {
        line.textContent = `hover a cell to read its ${signed ? "value" : "weight"} · ` +
          "click a query (row) to read its whole row";
        line.classList.remove("llm-attn-hover-on");
        return;
      }
      const s = Number(target.dataset.k);
      const t = target.dataset.q !== undefined ? Number(target.dataset.q) : current().query;
      line.textContent = describe(t, s);
      line.classList.add("llm-attn-hover-on");
    }

    svg.addEventListener("mouseover", hover);
    sentence.addEventListener("mouseover", hover);
    svg.addEventListener("mouseleave", () => hover(null));
    sentence.addEventListener("mouseleave", () => hover(null));
    svg.addEventListener("click", (event) => {
      const target = event.target.closest("[data-q]");
      if (target) choose("query", Number(target.dataset.q));
    });
    draw();
  }

  function choose(name, value) {
    model.set(name, value);
    model.save_changes(); // a no-op without a kernel; keeps Python in sync inside Jupyter
    draw();
  }

  for (const name of ["tokens", "query_tokens", "weights", "signed", "layer_names", "title"]) {
    model.on(`change:${name}`, build);
  }
  for (const name of ["layer", "head", "query"]) model.on(`change:${name}`, () => draw());
  build();
}

export default { render };
