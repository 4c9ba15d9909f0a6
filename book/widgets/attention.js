// Attention weights, drawn in the browser: the view works on the static website with no kernel.
// State (see AttentionView in views.py):
//   tokens: S key tokens; query_tokens: T query tokens;
//   weights: L x nh x T x S numbers (weights[layer][head][query][key], each row sums to 1);
//   layer_names: L strings; title: a heading;
//   layer, head (-1 = the average of the heads), query: what is shown and which row is selected.

// Sequential colour scale for weights in [0, 1]: white = no attention, dark blue = all of it.
const BLUES = [[255, 255, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];

function colour(w) {
  const x = Math.min(1, Math.max(0, w)) * (BLUES.length - 1);
  const i = Math.min(BLUES.length - 2, Math.floor(x));
  const rgb = BLUES[i].map((a, j) => Math.round(a + (x - i) * (BLUES[i + 1][j] - a)));
  return `rgb(${rgb.join(",")})`;
}

const GRADIENT = `linear-gradient(to right, ${BLUES.map((s) => `rgb(${s.join(",")})`).join(", ")})`;

// Tokens as a reader can see them: spaces, newlines and tabs made visible.
function visible(token) {
  if (token === "") return "∅";
  return token.replace(/ /g, "␣").replace(/\n/g, "↵").replace(/\t/g, "⇥");
}

function shorten(text, n) {
  return text.length > n ? text.slice(0, n - 1) + "…" : text;
}

function escapeXml(text) {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const LABEL_CHARS = 10; // longer token labels are cut with "…"

// The markup of one SVG element: svgTag("rect", { x: 1, width: 2 }) gives <rect x="1" width="2"/>.
function svgTag(name, attrs, inner) {
  const list = Object.entries(attrs).map(([k, v]) => `${k}="${v}"`).join(" ");
  return inner === undefined ? `<${name} ${list}/>` : `<${name} ${list}>${inner}</${name}>`;
}

// The T x S matrix shown: one head, or the average of the heads of a layer.
function matrix(weights, layer, head) {
  const heads = weights[layer];
  if (head >= 0) return heads[head];
  return heads[0].map((row, t) => row.map((_, s) =>
    heads.reduce((sum, h) => sum + h[t][s], 0) / heads.length));
}

function render({ model, el }) {
  el.classList.add("llm-attn");
  let draw = () => {}; // repaints for the current layer, head and query; set by build()

  function build() {
    const keys = model.get("tokens");
    const queries = model.get("query_tokens");
    const weights = model.get("weights");
    const layerNames = model.get("layer_names");
    const nLayers = weights.length, nHeads = weights[0].length;
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
      <div class="llm-attn-grid-wrap"></div>
      <div class="llm-attn-row-readout" aria-live="polite"></div>
      <div class="llm-attn-sentence"></div>
      <div class="llm-attn-legend">weight <span>0</span>
        <span class="llm-attn-gradient" style="background: ${GRADIENT}"></span><span>1</span>
        · rows: queries (the position that reads) · columns: keys (the positions read) · each row sums to 1
      </div>`;
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
    const barTop = top + gridH + 16, barH = 60;
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
    // The selected row as bars, one under each key column, on a 0 to 1 axis.
    const base = barTop + barH;
    parts.push(svgTag("line", { class: "llm-attn-axis", x1: left, x2: left + gridW, y1: base, y2: base }));
    parts.push(svgTag("line", { class: "llm-attn-gridline",
      x1: left, x2: left + gridW, y1: barTop, y2: barTop }));
    parts.push(svgTag("text", { class: "llm-attn-axis-label", x: left - 6, y: barTop + 4 }, "1"));
    parts.push(svgTag("text", { class: "llm-attn-axis-label", x: left - 6, y: base }, "0"));
    for (let s = 0; s < nK; s++) {
      parts.push(svgTag("rect", { class: "llm-attn-bar", "data-k": s, x: left + s * cell + 1, y: base,
        width: Math.max(1, cell - 2), height: 0 }));
      parts.push(keyLabel(s, base, true));
    }

    const wrap = el.querySelector(".llm-attn-grid-wrap");
    wrap.innerHTML = svgTag("svg", { class: "llm-attn-map", width, height, viewBox: `0 0 ${width} ${height}`,
      role: "img", "aria-label": "attention weights: queries by keys" }, parts.join(""));
    const svg = wrap.querySelector("svg");
    const rowHighlight = svg.querySelector(".llm-attn-row-highlight");

    // The key tokens as running text, each shaded by how much the selected query reads it.
    const sentence = el.querySelector(".llm-attn-sentence");
    sentence.innerHTML = `<span class="llm-attn-sentence-head"></span>`;
    const words = keys.map((k, s) => {
      const span = document.createElement("span");
      span.className = "llm-attn-word";
      span.dataset.k = String(s);
      span.textContent = k === "" ? "∅" : k.replace(/\n/g, "↵\n");
      sentence.appendChild(span);
      return span;
    });

    let shown = null; // the matrix on screen

    function current() {
      const layer = Math.min(nLayers - 1, Math.max(0, model.get("layer") | 0));
      const head = model.get("head") < 0 ? -1 : Math.min(nHeads - 1, model.get("head") | 0);
      const query = Math.min(nQ - 1, Math.max(0, model.get("query") | 0));
      return { layer, head, query };
    }

    function describe(t, s) {
      return `query '${visible(queries[t])}' (t=${t}) → key '${visible(keys[s])}' (s=${s}): ` +
        shown[t][s].toFixed(4);
    }

    draw = function () {
      const { layer, head, query } = current();
      shown = matrix(weights, layer, head);
      for (const b of el.querySelectorAll("[data-layer]")) setActive(b, Number(b.dataset.layer) === layer);
      for (const b of el.querySelectorAll("[data-head]")) {
        setActive(b, b.dataset.head === "mean" ? head === -1 : Number(b.dataset.head) === head);
      }
      for (const rect of svg.querySelectorAll(".llm-attn-cell")) {
        const w = shown[Number(rect.dataset.q)][Number(rect.dataset.k)];
        rect.setAttribute("fill", colour(w));
        rect.dataset.w = w.toFixed(4);
      }
      for (const text of svg.querySelectorAll(".llm-attn-num")) {
        const w = shown[Number(text.dataset.q)][Number(text.dataset.k)];
        text.textContent = w >= 0.005 ? w.toFixed(2) : "";
        text.classList.toggle("llm-attn-num-dark", w > 0.5);
      }
      // The selected row: highlight, bars, shaded text and the readout.
      rowHighlight.setAttribute("y", String(top + query * cell));
      for (const label of svg.querySelectorAll(".llm-attn-qlabel")) {
        label.classList.toggle("llm-attn-selected", Number(label.dataset.q) === query);
      }
      const row = shown[query];
      for (const bar of svg.querySelectorAll(".llm-attn-bar")) {
        const w = row[Number(bar.dataset.k)], h = barH * Math.min(1, w);
        bar.setAttribute("y", String(barTop + barH - h));
        bar.setAttribute("height", String(h));
        bar.setAttribute("fill", colour(0.25 + 0.75 * w));
        bar.dataset.w = w.toFixed(4);
      }
      words.forEach((span, s) => {
        span.style.background = colour(row[s]);
        span.classList.toggle("llm-attn-word-dark", row[s] > 0.5);
        span.classList.toggle("llm-attn-word-query", selfAttention && s === query);
        span.title = `${row[s].toFixed(4)}`;
      });
      const top1 = row.indexOf(Math.max(...row));
      const headName = head < 0 ? "mean of heads" : `head ${head}`;
      const where = nLayers > 1 || nHeads > 1 ? ` · ${layerNames[layer]}, ${headName}` : "";
      el.querySelector(".llm-attn-row-readout").innerHTML =
        `query <b class="llm-attn-token"></b> (t=${query}) attends most to key ` +
        `<b class="llm-attn-token"></b> (s=${top1}): <b>${row[top1].toFixed(4)}</b>${where}`;
      const [qTok, kTok] = el.querySelectorAll(".llm-attn-row-readout .llm-attn-token");
      qTok.textContent = `'${visible(queries[query])}'`;
      kTok.textContent = `'${visible(keys[top1])}'`;
      el.querySelector(".llm-attn-sentence-head").textContent = `query '${visible(queries[query])}' reads:`;
    };

    function hover(event) {
      const line = el.querySelector(".llm-attn-hover");
      const target = event && event.target.closest("[data-k]");
      if (!target || !shown) {
        line.textContent = "hover a cell to read its weight · click a query (row) to read its whole row";
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
    hover(null);
    draw();
  }

  function button(text, data, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    Object.assign(b.dataset, data);
    b.addEventListener("click", onClick);
    return b;
  }

  function setActive(b, on) {
    b.classList.toggle("llm-attn-active", on);
    b.setAttribute("aria-pressed", String(on));
  }

  function choose(name, value) {
    model.set(name, value);
    model.save_changes(); // a no-op without a kernel; keeps Python in sync inside Jupyter
    draw();
  }

  for (const name of ["tokens", "query_tokens", "weights", "layer_names", "title"]) {
    model.on(`change:${name}`, build);
  }
  for (const name of ["layer", "head", "query"]) model.on(`change:${name}`, () => draw());
  build();
}

export default { render };
