// The inside of an LSTM over one sequence, drawn in the browser: the view works on the static
// website with no kernel. State (see LSTMGateView in lstm_gates.py):
//   tokens: T strings; units: the hidden-unit indices shown (U of them);
//   gates: {i, f, g, o, c, h}, each a T x U list of numbers (gates.i[t][k] is unit units[k]
//   at time step t); title: a heading; step: the time cursor.

const QUANTITIES = [
  { key: "i", name: "input gate", scale: "gate",
    note: "σ: how much of the candidate g is written into the cell" },
  { key: "f", name: "forget gate", scale: "gate",
    note: "σ: how much of the old cell state is kept" },
  { key: "g", name: "candidate", scale: "signed",
    note: "tanh: the new content proposed for the cell" },
  { key: "o", name: "output gate", scale: "gate",
    note: "σ: how much of tanh(c) goes out as h" },
  { key: "c", name: "cell state", scale: "cell",
    note: "cₜ = f·cₜ₋₁ + i·g: the memory, unbounded" },
  { key: "h", name: "hidden state", scale: "signed",
    note: "hₜ = o·tanh(cₜ): the output at each step" },
];

// Colour scales, as a few colour stops to blend between (blend, cssGradient: _common.js).
// Sequential (gates, values in [0, 1]): white = closed, dark blue = open.
const BLUES = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
// Diverging (g, h in [-1, 1]; c in [-cMax, cMax]): blue = negative, white = 0, red = positive.
const RED_BLUE = [[33, 102, 172], [103, 169, 207], [247, 247, 247], [239, 138, 98], [178, 24, 43]];

// Where a value falls on its colour scale, from 0 (left end) to 1 (right end).
function position(scale, value, cMax) {
  if (scale === "gate") return value;
  const range = scale === "cell" ? cMax : 1;
  return (value / range + 1) / 2;
}

function colour(scale, value, cMax) {
  return blend(scale === "gate" ? BLUES : RED_BLUE, position(scale, value, cMax));
}

const fmt = (v) => v.toFixed(4);

// Cell sizes: two panels side by side when a sequence is short enough, else one panel per row
// as wide as the book's column (~700 px); sequences too long even for that scroll sideways.
const HALF_PX = 330, COLUMN_PX = 680;
const PANEL_SHRINK = 0.85; // panels scale down to this share of their size before they wrap

function layout(nSteps, units, tokens) {
  const unitW = 14 + 6.5 * Math.max(...units.map((u) => String(u).length)); // room for unit numbers
  const twoUp = unitW + nSteps * 10 <= HALF_PX;
  const cellW = twoUp
    ? Math.min(20, Math.floor((HALF_PX - unitW) / nSteps))
    : Math.max(6, Math.min(16, Math.floor((COLUMN_PX - unitW) / nSteps)));
  const nUnits = units.length;
  const cellH = nUnits <= 8 ? 15 : nUnits <= 16 ? (twoUp ? 11 : 9) : nUnits <= 32 ? 7 : 5;
  const longest = Math.max(...tokens.map((t) => Math.min(8, visible(t).length)));
  const rotate = longest * 6.5 > cellW; // labels wider than a column are written upwards
  const stride = rotate ? Math.max(1, Math.ceil(11 / cellW)) : 1;
  const labelH = rotate ? 10 + longest * 6.5 : 16;
  const panelW = Math.max(twoUp ? 300 : 0, unitW + nSteps * cellW + 4);
  return { unitW, cellW, cellH, rotate, stride, labelH, panelW };
}

function render({ model, el }) {
  el.classList.add("llm-card", "llm-lstm");
  let timer = null; // the "play" interval
  let refresh = () => {}; // redraws the cursor; set by build()

  function build() {
    stop();
    const tokens = model.get("tokens");
    const units = model.get("units");
    const gates = model.get("gates");
    const nSteps = tokens.length;
    const cMax = Math.max(1e-6, ...gates.c.flat().map(Math.abs));
    const L = layout(nSteps, units, tokens);

    el.innerHTML = `
      <div class="llm-lstm-title"></div>
      <div class="llm-lstm-controls">
        <button type="button" data-action="prev" title="previous time step">◀ step</button>
        <input type="range" class="llm-lstm-slider" min="0" step="1" aria-label="time step">
        <button type="button" data-action="next" title="next time step">step ▶</button>
        <button type="button" data-action="play" class="llm-lstm-play">▶ play</button>
        <span class="llm-lstm-step" aria-live="polite"></span>
      </div>
      <div class="llm-lstm-tokens" aria-label="the input sequence"></div>
      <div class="llm-lstm-hover"></div>
      <div class="llm-lstm-panels"></div>
      <div class="llm-lstm-readout-head">every shown unit at the current step (bars: gates
        from 0 to 1; g, h from −1 to 1; c from −${cMax.toFixed(2)} to ${cMax.toFixed(2)})</div>
      <div class="llm-lstm-readout"></div>`;
    const title = model.get("title");
    el.querySelector(".llm-lstm-title").textContent = title;
    el.querySelector(".llm-lstm-title").hidden = !title;
    const slider = el.querySelector(".llm-lstm-slider");
    slider.max = String(nSteps - 1);
    slider.addEventListener("input", () => setStep(Number(slider.value)));
    el.querySelector('[data-action="prev"]').addEventListener("click", () => setStep(current() - 1));
    el.querySelector('[data-action="next"]').addEventListener("click", () => setStep(current() + 1));
    el.querySelector('[data-action="play"]').addEventListener("click", () => (timer ? stop() : play()));

    // The sequence as text; click a token to move the cursor there.
    const strip = el.querySelector(".llm-lstm-tokens");
    tokens.forEach((tok, t) => {
      const span = document.createElement("span");
      span.className = "llm-lstm-token";
      span.dataset.t = String(t);
      span.textContent = visible(tok);
      span.title = `t = ${t}`;
      span.addEventListener("click", () => setStep(t));
      strip.appendChild(span);
    });

    const panels = el.querySelector(".llm-lstm-panels");
    // as many columns as fit panels scaled down to PANEL_SHRINK; each panel grows to its size
    panels.style.gridTemplateColumns =
      `repeat(auto-fill, minmax(${Math.ceil(PANEL_SHRINK * L.panelW)}px, 1fr))`;
    for (const q of QUANTITIES) panels.appendChild(panel(q, tokens, units, gates[q.key], cMax, L));
    panels.addEventListener("mouseover", hover);
    panels.addEventListener("mouseleave", () => hover(null));
    panels.addEventListener("click", (event) => {
      const cell = event.target.closest(".llm-lstm-cell, .llm-lstm-col-label");
      if (cell) setStep(Number(cell.dataset.t));
    });
    hover(null);

    el.querySelector(".llm-lstm-readout").appendChild(readoutTable());
    refresh = update;
    update();

    function hover(event) {
      const line = el.querySelector(".llm-lstm-hover");
      const cell = event && event.target.closest(".llm-lstm-cell");
      if (!cell) {
        line.textContent = "rows: hidden units · columns: time steps · " +
          "hover a cell to read it, click it to move the cursor there";
        line.classList.remove("llm-lstm-hover-on");
        return;
      }
      const q = QUANTITIES.find((x) => x.key === cell.dataset.q);
      const t = Number(cell.dataset.t), k = Number(cell.dataset.k);
      line.textContent = `${q.key} (${q.name}) · unit ${units[k]} · t = ${t} · ` +
        `token ${quoted(tokens[t])} · ${fmt(gates[q.key][t][k])}`;
      line.classList.add("llm-lstm-hover-on");
    }

    function readoutTable() {
      const table = document.createElement("table");
      const head = QUANTITIES.map((q) => `<th title="${q.name}">${q.key}</th>`).join("");
      const rows = units.map((u, k) => `<tr><th class="llm-lstm-unit">unit ${u}</th>` +
        QUANTITIES.map((q) => `<td data-q="${q.key}" data-unit="${u}" data-k="${k}">` +
          `<span class="llm-lstm-bar llm-lstm-bar-${q.scale === "gate" ? "gate" : "signed"}">` +
          `<span class="llm-lstm-fill"></span></span>` +
          `<span class="llm-lstm-val"></span></td>`).join("") + "</tr>").join("");
      table.innerHTML = `<thead><tr><th></th>${head}</tr></thead><tbody>${rows}</tbody>`;
      return table;
    }

    function current() {
      return Math.min(nSteps - 1, Math.max(0, model.get("step") | 0));
    }

    function setStep(t) {
      t = Math.min(nSteps - 1, Math.max(0, t));
      model.set("step", t);
      model.save_changes(); // a no-op without a kernel; keeps Python in sync inside Jupyter
      update();
    }

    function play() {
      if (current() >= nSteps - 1) setStep(0);
      el.querySelector(".llm-lstm-play").textContent = "❚❚ pause";
      timer = setInterval(() => {
        if (current() >= nSteps - 1) stop();
        else setStep(current() + 1);
      }, 500);
    }

    // Move the cursor: highlighted column, token, step text and the readout table.
    function update() {
      const t = current();
      slider.value = String(t);
      el.querySelector(".llm-lstm-step").textContent = `t = ${t} · token ${quoted(tokens[t])}`;
      for (const cursor of el.querySelectorAll(".llm-lstm-cursor")) {
        cursor.setAttribute("x", String(L.unitW + t * L.cellW - 1));
        cursor.dataset.t = String(t);
      }
      for (const node of el.querySelectorAll(".llm-lstm-current")) node.classList.remove("llm-lstm-current");
      const now = `.llm-lstm-col-label[data-t="${t}"], .llm-lstm-token[data-t="${t}"]`;
      for (const node of el.querySelectorAll(now)) node.classList.add("llm-lstm-current");
      for (const td of el.querySelectorAll(".llm-lstm-readout td")) {
        const q = QUANTITIES.find((x) => x.key === td.dataset.q);
        const value = gates[q.key][t][Number(td.dataset.k)];
        const fill = td.querySelector(".llm-lstm-fill");
        fill.style.background = colour(q.scale, value, cMax);
        if (q.scale === "gate") {
          fill.style.left = "0";
          fill.style.width = `${100 * Math.min(1, Math.max(0, value))}%`;
        } else { // a bar from the middle, to the right for positive values, to the left for negative
          const half = 50 * Math.min(1, Math.abs(value) / (q.scale === "cell" ? cMax : 1));
          fill.style.left = `${value >= 0 ? 50 : 50 - half}%`;
          fill.style.width = `${half}%`;
        }
        td.querySelector(".llm-lstm-val").textContent = fmt(value);
      }
      scrollCursorIntoView(t);
      scrollTokenIntoView(t);
    }

    // Keep the current token in sight when the sequence takes more lines than its box shows.
    function scrollTokenIntoView(t) {
      const span = strip.children[t];
      const above = span.offsetTop < strip.scrollTop;
      const below = span.offsetTop + span.offsetHeight > strip.scrollTop + strip.clientHeight;
      if (above || below) {
        strip.scrollTop = span.offsetTop - strip.clientHeight / 2 + span.offsetHeight / 2;
      }
    }

    // Keep the cursor in sight when the panels scroll sideways.
    function scrollCursorIntoView(t) {
      if (panels.scrollWidth <= panels.clientWidth) return;
      const map = panels.querySelector(".llm-lstm-map");
      const k = map.getBoundingClientRect().width / map.viewBox.baseVal.width; // the panels' scale
      const x = k * (L.unitW + t * L.cellW), unitW = k * L.unitW, cellW = k * L.cellW;
      if (x < panels.scrollLeft + unitW || x + cellW > panels.scrollLeft + panels.clientWidth) {
        panels.scrollLeft = Math.max(0, x - panels.clientWidth / 2);
      }
    }
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    const playButton = el.querySelector(".llm-lstm-play");
    if (playButton) playButton.textContent = "▶ play";
  }

  for (const name of ["tokens", "units", "gates", "title"]) model.on(`change:${name}`, build);
  model.on("change:step", () => refresh()); // a step set from Python or another view
  build();
  return () => stop(); // anywidget calls this when the view is removed
}

// One heat map: rows = shown units, columns = time steps, token labels under the columns.
function panel(q, tokens, units, values, cMax, L) {
  const nSteps = tokens.length, nUnits = units.length;
  const gridW = nSteps * L.cellW, gridH = nUnits * L.cellH;
  const width = L.unitW + gridW + 4, height = 3 + gridH + L.labelH;
  const parts = []; // SVG markup, joined once at the end (faster than one DOM call per cell)
  for (let k = 0; k < nUnits; k++) {
    for (let t = 0; t < nSteps; t++) {
      parts.push(svgTag("rect", { class: "llm-lstm-cell", "data-q": q.key, "data-t": t, "data-k": k,
        x: L.unitW + t * L.cellW, y: 2 + k * L.cellH, width: L.cellW, height: L.cellH,
        fill: colour(q.scale, values[t][k], cMax) }));
    }
  }
  const unitStride = L.cellH >= 10 ? 1 : Math.ceil(10 / L.cellH); // label every unit, or every 2nd...
  units.forEach((u, k) => {
    if (k % unitStride) return;
    const y = 2 + (k + 0.5) * L.cellH;
    parts.push(svgTag("text", { class: "llm-lstm-unit-label", x: L.unitW - 4, y }, u));
  });
  tokens.forEach((tok, t) => {
    if (t % L.stride) return;
    const x = L.unitW + (t + 0.5) * L.cellW, y = 2 + gridH + 4;
    const text = escapeXml(shorten(visible(tok), 8));
    parts.push(L.rotate // long labels hang down from the grid, written upwards
      ? svgTag("text", { class: "llm-lstm-col-label llm-lstm-rotated", "data-t": t,
        transform: `translate(${x + 3},${y}) rotate(-90)` }, text)
      : svgTag("text", { class: "llm-lstm-col-label", "data-t": t, x, y: y + 9 }, text));
  });
  parts.push(svgTag("rect", { class: "llm-lstm-cursor", "data-t": 0,
    x: L.unitW - 1, y: 1, width: L.cellW + 2, height: gridH + 2 }));

  const div = document.createElement("div");
  div.className = "llm-lstm-panel";
  div.dataset.q = q.key;
  const ends = q.scale === "gate" ? ["0", "1"] : q.scale === "signed" ? ["−1", "1"]
    : [`−${cMax.toFixed(2)}`, cMax.toFixed(2)];
  div.innerHTML = `
    <div class="llm-lstm-panel-head">
      <span class="llm-lstm-name"><b>${q.key}</b> ${q.name}</span>
      <span class="llm-lstm-scale" title="colour scale">${ends[0]}
        <span class="llm-lstm-gradient" style="background: ${cssGradient(q.scale === "gate" ? BLUES : RED_BLUE)}"></span>${ends[1]}</span>
    </div>
    <div class="llm-lstm-note">${q.note}</div>
    ${plotSvg("llm-lstm-map", width, height, `${q.name}: units by time steps`, parts.join(""), PANEL_SHRINK)}`;
  return div;
}

export default { render };
