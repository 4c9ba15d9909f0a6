// Gradient descent on a 2-D loss, drawn in the browser: the view works on the static website with
// no kernel. State (see DescentView in descent.py):
//   grid: ny x nx losses at x = linspace(xmin, xmax, nx), y = linspace(ymin, ymax, ny), row 0 = ymin;
//   extent: [xmin, xmax, ymin, ymax]; minimum: [x, y, loss], the smallest grid value;
//   optimizers: names in order; lrs: {optimizer: [learning-rate labels, ascending]};
//   paths: {optimizer: {lr: [[x, y, loss or null], ...]}}, ending in null when the run became NaN;
//   title; optimizer, lr: the run shown; step: steps shown (-1 = all); compare: overlay them all.

// Colour scale for the loss (YlGnBu): pale yellow = low loss, dark blue = high loss.
const STOPS = [[255, 255, 217], [237, 248, 177], [199, 233, 180], [127, 205, 187], [65, 182, 196],
  [29, 145, 192], [34, 94, 168], [37, 52, 148], [8, 29, 88]];
// One colour per optimiser (lines get a white halo, so they read on pale and dark cells alike).
const RUN_COLOURS = ["#d62728", "#7b2cbf", "#e67700", "#111111", "#d6338a", "#0b7285", "#8d5524"];
const N_ISO = 8; // iso-lines at t = 1/8 ... 7/8 of the colour scale
const ACTIVE = "llm-descent-active"; // the class of a chosen button

// 256 colours along the scale, for the heat map's pixels
const LUT = Array.from({ length: 256 }, (_, i) => blendRgb(STOPS, i / 255));

// The log-like colour scale: t = log(1 + (L - Lmin)/δ) / log(1 + (Lmax - Lmin)/δ), with δ the 5th
// percentile of L - Lmin over the grid; it spreads colours over the decades near the minimum.
function lossScale(grid) {
  let lo = Infinity, hi = -Infinity;
  for (const row of grid) for (const v of row) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const range = hi - lo;
  const above = [];
  for (const row of grid) for (const v of row) if (v > lo) above.push(v - lo);
  above.sort((a, b) => a - b);
  const p5 = above.length ? above[Math.floor(0.05 * (above.length - 1))] : 1;
  const delta = Math.max(p5, range * 1e-6, 1e-12);
  const top = Math.log1p(range / delta) || 1;
  return {
    lo, hi,
    t: (v) => Math.min(1, Math.max(0, Math.log1p(Math.max(0, v - lo) / delta) / top)),
    value: (t) => lo + delta * Math.expm1(t * top),
  };
}

// Numbers as a reader wants them: 4 significant digits, exponents only for very small or large.
function fmtLoss(v) {
  if (v === null || v === undefined) return "unknown";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return String(Number(v.toPrecision(4)));
  const [m, e] = v.toExponential(3).split("e");
  return `${Number(m)}e${e}`;
}

const fmtCoord = (v) => (Math.abs(v) >= 1e5 ? fmtLoss(v) : String(Number(v.toPrecision(3))));
const minus = (text) => text.replace(/^-/, "\u2212"); // a typographic minus on the axes

// About n round tick values between a and b.
function niceTicks(a, b, n) {
  const raw = (b - a) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) || 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(a / step - 1e-9) * step; v <= b + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return ticks;
}

// The part of the segment a -> b inside the box, as [t0, t1] in 0..1 (Liang–Barsky), or null.
function clipSegment(a, b, [x0, x1, y0, y1]) {
  let t0 = 0, t1 = 1;
  const dx = b[0] - a[0], dy = b[1] - a[1];
  for (const [p, q] of [[-dx, a[0] - x0], [dx, x1 - a[0]], [-dy, a[1] - y0], [dy, y1 - a[1]]]) {
    if (p === 0) {
      if (q < 0) return null;
    } else {
      const r = q / p;
      if (p < 0) { if (r > t1) return null; if (r > t0) t0 = r; }
      else { if (r < t0) return null; if (r < t1) t1 = r; }
    }
  }
  return [t0, t1];
}

// What a run does: its finite points, where it blew up (NaN) and where it left the box for good.
function analyse(path, extent) {
  const nan = path.length > 0 && path[path.length - 1] === null;
  const pts = nan ? path.slice(0, -1) : path;
  const [x0, x1, y0, y1] = extent;
  const inside = pts.map((p) => p[0] >= x0 && p[0] <= x1 && p[1] >= y0 && p[1] <= y1);
  let exit = null; // the first step of the excursion that never comes back
  if (!inside[pts.length - 1]) {
    exit = pts.length - 1;
    while (exit > 1 && !inside[exit - 1]) exit--;
  }
  const last = nan ? pts.length : pts.length - 1; // the largest step
  return { pts, inside, nan, exit, last, diverged: nan || exit !== null };
}

// Plot size: equal units on both axes when the box is not too elongated.
const PLOT_W = 520, PLOT_H = 400, MIN_SIDE = 240;
const M = { left: 46, right: 96, top: 12, bottom: 38 }; // the colour bar sits on the right

function plotSize([x0, x1, y0, y1]) {
  const ratio = (x1 - x0) / (y1 - y0);
  if (ratio * PLOT_H <= PLOT_W) return { W: Math.max(MIN_SIDE, ratio * PLOT_H), H: PLOT_H };
  return { W: PLOT_W, H: Math.max(MIN_SIDE, PLOT_W / ratio) };
}

function render({ model, el }) {
  el.classList.add("llm-card", "llm-descent");
  const uid = uniqueId("llm-descent"); // for the ids of the clip path and the gradient
  let timer = null; // the "play" interval
  let draw = () => {}; // repaints the runs, controls and readout; set by build()

  function build() {
    stop();
    const grid = model.get("grid");
    const extent = model.get("extent");
    const [x0, x1, y0, y1] = extent;
    const optimizers = model.get("optimizers");
    const lrs = model.get("lrs");
    const paths = model.get("paths");
    const minimum = model.get("minimum");
    const scale = lossScale(grid);
    const colourOf = Object.fromEntries(optimizers.map((o, k) => [o, RUN_COLOURS[k % RUN_COLOURS.length]]));
    // the learning rate remembered for each optimiser (used when switching, and by "compare all")
    const lrOf = Object.fromEntries(optimizers.map((o) => [o, lrs[o][(lrs[o].length - 1) >> 1]]));
    const runs = {};
    for (const o of optimizers) {
      runs[o] = {};
      for (const lr of lrs[o]) runs[o][lr] = analyse(paths[o][lr], extent);
    }

    const { W, H } = plotSize(extent);
    const width = M.left + W + M.right, height = M.top + H + M.bottom;
    const px = (x) => M.left + ((x - x0) / (x1 - x0)) * W;
    const py = (y) => M.top + ((y1 - y) / (y1 - y0)) * H;
    const gx = (j) => px(x0 + (j / (grid[0].length - 1)) * (x1 - x0)); // grid index -> pixel
    const gy = (i) => py(y0 + (i / (grid.length - 1)) * (y1 - y0));

    el.innerHTML = `
      <div class="llm-descent-title"></div>
      <div class="llm-descent-controls">
        <div class="llm-descent-row llm-descent-optimizers"><span class="llm-descent-name">optimizer</span></div>
        <div class="llm-descent-row llm-descent-lrs"><span class="llm-descent-name">learning rate</span></div>
        <div class="llm-descent-row">
          <button type="button" data-action="play" class="llm-descent-play">▶ play</button>
          <input type="range" class="llm-descent-step" min="0" step="1" aria-label="steps shown">
          <span class="llm-descent-step-text"></span>
        </div>
      </div>
      <div class="llm-descent-plot-wrap llm-scroll-x"></div>
      <div class="llm-descent-readout" aria-live="polite"></div>
      <div class="llm-descent-legend"></div>`;
    const title = model.get("title");
    el.querySelector(".llm-descent-title").textContent = title;
    el.querySelector(".llm-descent-title").hidden = !title;

    const optBox = el.querySelector(".llm-descent-optimizers");
    for (const o of optimizers) {
      const b = button("", { optimizer: o }, () => chooseOptimizer(o));
      b.innerHTML = `<span class="llm-descent-swatch" style="background: ${colourOf[o]}"></span>`;
      b.appendChild(document.createTextNode(o));
      optBox.appendChild(b);
    }
    if (optimizers.length > 1) {
      const cmp = button("compare all", { action: "compare" }, () => {
        model.set("compare", !model.get("compare"));
        model.save_changes();
        draw();
      });
      cmp.classList.add("llm-descent-compare");
      cmp.title = "overlay every optimizer, each at the learning rate last chosen for it";
      optBox.appendChild(cmp);
    }
    const lrBox = el.querySelector(".llm-descent-lrs");
    const lrButtons = document.createElement("span");
    lrButtons.className = "llm-descent-lr-buttons";
    lrBox.appendChild(lrButtons);
    lrBox.insertAdjacentHTML("beforeend",
      `<span class="llm-descent-lr-now">lr = <b class="llm-descent-lr"></b></span>`);

    const slider = el.querySelector(".llm-descent-step");
    slider.addEventListener("input", () => setStep(Number(slider.value)));
    el.querySelector('[data-action="play"]').addEventListener("click", () => (timer ? stop() : play()));

    // The fixed layers: heat map, iso-lines, frame, axes, colour bar and the minimum.
    const parts = [];
    parts.push(svgTag("defs", {}, svgTag("clipPath", { id: `${uid}-clip` },
      svgTag("rect", { x: M.left, y: M.top, width: W, height: H }))));
    parts.push(svgTag("image", { class: "llm-descent-heat", x: M.left, y: M.top, width: W, height: H,
      preserveAspectRatio: "none" }));
    const isoParts = [];
    for (let k = 1; k < N_ISO; k++) {
      const level = scale.value(k / N_ISO);
      isoParts.push(svgTag("path", { class: "llm-descent-iso", "data-level": fmtLoss(level),
        d: isoLines(grid, level, gx, gy) }));
    }
    parts.push(svgTag("g", { "clip-path": `url(#${uid}-clip)` }, isoParts.join("")));
    parts.push(svgTag("rect", { class: "llm-descent-frame", x: M.left, y: M.top, width: W, height: H }));
    for (const x of niceTicks(x0, x1, Math.max(3, Math.round(W / 90)))) {
      parts.push(svgTag("line", { class: "llm-descent-tick", x1: px(x), x2: px(x), y1: M.top + H, y2: M.top + H + 4 }));
      parts.push(svgTag("text", { class: "llm-descent-xtick", x: px(x), y: M.top + H + 15 }, minus(fmtCoord(x))));
    }
    for (const y of niceTicks(y0, y1, Math.max(3, Math.round(H / 80)))) {
      parts.push(svgTag("line", { class: "llm-descent-tick", x1: M.left - 4, x2: M.left, y1: py(y), y2: py(y) }));
      parts.push(svgTag("text", { class: "llm-descent-ytick", x: M.left - 6, y: py(y) }, minus(fmtCoord(y))));
    }
    parts.push(svgTag("text", { class: "llm-descent-axis-name", x: M.left + W / 2, y: M.top + H + 32 }, "x"));
    parts.push(svgTag("text", { class: "llm-descent-axis-name",
      transform: `translate(${12},${M.top + H / 2}) rotate(-90)` }, "y"));
    // the colour bar: linear in t, labelled with losses
    const barX = M.left + W + 18, barW = 12;
    const gradStops = [];
    for (let k = 0; k <= 16; k++) {
      gradStops.push(svgTag("stop", { offset: `${(100 * k) / 16}%`, "stop-color": blend(STOPS, 1 - k / 16) }));
    }
    parts.push(svgTag("linearGradient", { id: `${uid}-grad`, x1: 0, x2: 0, y1: 0, y2: 1 }, gradStops.join("")));
    parts.push(svgTag("rect", { class: "llm-descent-bar", x: barX, y: M.top, width: barW, height: H,
      fill: `url(#${uid}-grad)` }));
    for (let k = 1; k < N_ISO; k++) {
      const y = M.top + H * (1 - k / N_ISO);
      parts.push(svgTag("line", { class: "llm-descent-bar-iso", x1: barX, x2: barX + barW, y1: y, y2: y }));
    }
    for (let k = 0; k <= 4; k++) {
      const y = M.top + H * (1 - k / 4);
      parts.push(svgTag("line", { class: "llm-descent-tick", x1: barX + barW, x2: barX + barW + 4, y1: y, y2: y }));
      parts.push(svgTag("text", { class: "llm-descent-bar-label", x: barX + barW + 6, y },
        fmtLoss(Number(scale.value(k / 4).toPrecision(3)))));
    }
    parts.push(svgTag("text", { class: "llm-descent-bar-name", x: barX - 2, y: M.top + H + 15 }, "loss"));
    parts.push(svgTag("g", { class: "llm-descent-runs" }));
    // the minimum of the grid, above the runs
    const mx = px(minimum[0]), my = py(minimum[1]);
    parts.push(svgTag("g", { class: "llm-descent-min" },
      svgTag("path", { class: "llm-descent-min-mark",
        d: `M${mx - 6},${my - 6}L${mx + 6},${my + 6}M${mx - 6},${my + 6}L${mx + 6},${my - 6}` }) +
      svgTag("text", { class: "llm-descent-min-label", x: mx + 8, y: my - 7 }, "min") +
      svgTag("title", {}, `minimum of the grid: loss ${fmtLoss(minimum[2])} at ` +
        `(${fmtCoord(minimum[0])}, ${fmtCoord(minimum[1])})`)));

    const wrap = el.querySelector(".llm-descent-plot-wrap");
    wrap.innerHTML = plotSvg("llm-descent-plot", width, height, "loss surface with the optimizer's path",
      parts.join(""));
    const svg = wrap.querySelector("svg");
    const lossAt = sampler(grid, extent);
    paintHeat(svg.querySelector(".llm-descent-heat"), extent, W, H, LUT,
      (x, y) => Math.round(255 * scale.t(lossAt(x, y))));
    const runLayer = svg.querySelector(".llm-descent-runs");

    function current() {
      let o = model.get("optimizer");
      if (!lrs[o]) o = optimizers[0];
      let lr = model.get("lr");
      if (!runs[o][lr]) lr = lrOf[o];
      lrOf[o] = lr;
      return { o, lr };
    }

    function shown() { // the runs on screen, the selected one last (drawn on top)
      const { o, lr } = current();
      const list = model.get("compare") ? optimizers.filter((x) => x !== o).map((x) => [x, lrOf[x]]) : [];
      list.push([o, lr]);
      return list.map(([name, rate]) => ({ name, lr: rate, run: runs[name][rate], main: name === o }));
    }

    function maxStep() {
      return Math.max(...shown().map((s) => s.run.last));
    }

    function stepNow() {
      const s = model.get("step");
      const top = maxStep();
      return s < 0 || s > top ? top : s;
    }

    draw = function () {
      const { o, lr } = current();
      const list = shown();
      const compare = list.length > 1;
      const top = maxStep(), step = stepNow();
      for (const b of optBox.querySelectorAll("[data-optimizer]")) setActive(b, b.dataset.optimizer === o, ACTIVE);
      const cmp = optBox.querySelector('[data-action="compare"]');
      if (cmp) setActive(cmp, !!model.get("compare"), ACTIVE);
      // learning-rate buttons for the selected optimiser
      if (lrButtons.dataset.optimizer !== o) {
        lrButtons.dataset.optimizer = o;
        lrButtons.innerHTML = "";
        for (const rate of lrs[o]) {
          const b = button(rate, { lr: rate }, () => chooseLr(rate));
          lrButtons.appendChild(b);
        }
      }
      for (const b of lrButtons.querySelectorAll("[data-lr]")) setActive(b, b.dataset.lr === lr, ACTIVE);
      el.querySelector(".llm-descent-lr").textContent = lr;
      slider.max = String(top);
      slider.value = String(step);
      el.querySelector(".llm-descent-step-text").textContent = `step ${step} of ${top}`;

      runLayer.innerHTML = list.map((s) => drawRun(s, Math.min(step, s.run.last), compare)).join("") +
        startMarks(list);
      const ordered = [list[list.length - 1], ...list.slice(0, -1)]; // the selected run first
      const readout = el.querySelector(".llm-descent-readout");
      readout.innerHTML = ordered.map((s) => readoutLine(s, Math.min(step, s.run.last), compare)).join("");
      const legend = el.querySelector(".llm-descent-legend");
      legend.innerHTML = (compare ? ordered.map((s) =>
        `<span class="llm-descent-legend-item" data-optimizer="${escapeXml(s.name)}">` +
        `<span class="llm-descent-swatch" style="background: ${colourOf[s.name]}"></span>` +
        `${escapeXml(s.name)} (lr ${escapeXml(s.lr)})</span>`).join("") + "<br>" : "") +
        `<span class="llm-descent-note">colour: loss on a log-like scale (pale = low) · ` +
        `white lines: iso-loss contours · ✕ min: lowest grid point · ○ start</span>`;
    };

    // One run: polylines for the parts inside the box, point markers, the current point, an arrow
    // where the path leaves the box and a cross where it became NaN.
    function drawRun(s, step, compare) {
      const { run, name } = s;
      const colour = colourOf[name];
      const pts = run.pts.slice(0, Math.min(step, run.pts.length - 1) + 1);
      const pieces = [], exits = [];
      let piece = [pts[0]];
      for (let k = 1; k < pts.length; k++) {
        const a = pts[k - 1], b = pts[k];
        const seg = clipSegment(a, b, extent);
        if (!seg) { if (piece) pieces.push(piece); piece = null; continue; }
        const at = (t) => [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
        if (seg[0] > 0 || !piece) { if (piece) pieces.push(piece); piece = [at(seg[0])]; }
        piece.push(at(seg[1]));
        // a segment between two iterates outside the box that cuts across it: drawn dashed
        if (seg[0] > 0 && seg[1] < 1) piece.pass = true;
        if (seg[1] < 1) {
          exits.push({ p: at(seg[1]), dx: (b[0] - a[0]) * W / (x1 - x0), dy: -(b[1] - a[1]) * H / (y1 - y0), k });
          pieces.push(piece);
          piece = null;
        }
      }
      if (piece) pieces.push(piece);
      const coords = (piece) => piece.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(" ");
      const out = [];
      for (const pc of pieces) {
        if (!pc.pass) out.push(svgTag("polyline", { class: "llm-descent-halo", points: coords(pc) }));
      }
      for (const pc of pieces) {
        out.push(svgTag("polyline", { class: `llm-descent-path${pc.pass ? " llm-descent-pass" : ""}`,
          points: coords(pc), stroke: colour }));
      }
      // a marker per iterate, but none closer than 5 px to the previous one (many tiny steps
      // would otherwise bury the line under markers)
      let lastX = px(pts[0][0]), lastY = py(pts[0][1]);
      pts.forEach((p, k) => {
        if (k === 0 || !run.inside[k]) return;
        const cx = px(p[0]), cy = py(p[1]);
        if (Math.hypot(cx - lastX, cy - lastY) < 5 && k < pts.length - 1) return;
        lastX = cx;
        lastY = cy;
        out.push(svgTag("circle", { class: "llm-descent-point", "data-k": k, cx: cx.toFixed(1),
          cy: cy.toFixed(1), r: 2.4, fill: colour }));
      });
      for (const e of exits) {
        const n = Math.hypot(e.dx, e.dy) || 1, ux = e.dx / n, uy = e.dy / n;
        const tx = px(e.p[0]), ty = py(e.p[1]);
        const bx = tx - 11 * ux, by = ty - 11 * uy;
        out.push(svgTag("path", { class: "llm-descent-exit", "data-k": e.k, fill: colour,
          d: `M${tx.toFixed(1)},${ty.toFixed(1)}L${(bx - 6 * uy).toFixed(1)},${(by + 6 * ux).toFixed(1)}` +
            `L${(bx + 6 * uy).toFixed(1)},${(by - 6 * ux).toFixed(1)}Z` }));
      }
      const last = pts.length - 1;
      const finalExit = run.exit !== null && step >= run.exit ? exits.find((e) => e.k === run.exit) : null;
      if (finalExit && !compare) {
        out.push(edgeLabel(finalExit.p, `left the box at step ${run.exit}`));
      }
      if (run.nan && step >= run.last && run.inside[last]) {
        const cx = px(pts[last][0]), cy = py(pts[last][1]);
        out.push(svgTag("path", { class: "llm-descent-nan", stroke: colour,
          d: `M${cx - 7},${cy - 7}L${cx + 7},${cy + 7}M${cx - 7},${cy + 7}L${cx + 7},${cy - 7}` }));
        if (!compare) out.push(edgeLabel(pts[last], `NaN at step ${run.last}`));
      }
      if (run.inside[last] && !(run.nan && step >= run.last)) {
        out.push(svgTag("circle", { class: "llm-descent-current", "data-k": last, cx: px(pts[last][0]).toFixed(1),
          cy: py(pts[last][1]).toFixed(1), r: s.main ? 6 : 4.5, fill: colour }));
      }
      return svgTag("g", { class: `llm-descent-run${s.main ? " llm-descent-run-main" : ""}`,
        "data-optimizer": escapeXml(name), "data-lr": escapeXml(s.lr) }, out.join(""));
    }

    // A short note next to a point on (or near) the frame, kept inside the plot.
    function edgeLabel(p, text) {
      const x = px(p[0]), y = py(p[1]);
      const right = x > M.left + W / 2;
      const lx = right ? x - 12 : x + 12;
      const ly = Math.min(M.top + H - 8, Math.max(M.top + 14, y + (y > M.top + H / 2 ? -14 : 18)));
      return svgTag("text", { class: "llm-descent-note-label", x: lx, y: ly,
        "text-anchor": right ? "end" : "start" }, escapeXml(text));
    }

    function startMarks(list) {
      const seen = new Set(), out = [];
      for (const s of list) {
        const p = s.run.pts[0], key = `${p[0]},${p[1]}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(svgTag("circle", { class: "llm-descent-start", cx: px(p[0]).toFixed(1), cy: py(p[1]).toFixed(1), r: 6 }));
        const right = px(p[0]) > M.left + W - 50;
        out.push(svgTag("text", { class: "llm-descent-start-label", x: px(p[0]) + (right ? -9 : 9),
          y: py(p[1]) - 8, "text-anchor": right ? "end" : "start" }, "start"));
      }
      return out.join("");
    }

    function readoutLine(s, step, compare) {
      const { run } = s;
      const head = `<b class="llm-descent-run-name" style="color: ${colourOf[s.name]}">${escapeXml(s.name)}</b>` +
        ` · lr ${escapeXml(s.lr)} · ${step} step${step === 1 ? "" : "s"}`;
      let tail;
      const left = run.exit !== null ? `left the box at step ${run.exit}` : "";
      if (run.nan && step >= run.last) {
        tail = `<span class="llm-descent-diverged">diverged</span>: NaN at step ${run.last}` +
          (left && step >= run.exit ? ` (${left})` : "");
      } else if (!run.inside[step]) {
        if (run.exit !== null && step >= run.exit) {
          tail = `<span class="llm-descent-diverged">diverged</span>: ${left}` +
            (run.pts[step][2] !== null ? ` · loss ${fmtLoss(run.pts[step][2])}` : "");
        } else {
          const back = run.inside.indexOf(true, step);
          tail = `outside the box (back in at step ${back}) · loss ${fmtLoss(run.pts[step][2])}`;
        }
      } else {
        const p = run.pts[step];
        tail = `loss <b class="llm-descent-loss">${fmtLoss(p[2])}</b> at (${fmtCoord(p[0])}, ${fmtCoord(p[1])})`;
      }
      return `<div class="llm-descent-readout-line${compare && !s.main ? " llm-descent-readout-other" : ""}" ` +
        `data-optimizer="${escapeXml(s.name)}">${head} · ${tail}</div>`;
    }

    function chooseOptimizer(o) {
      stop();
      model.set("optimizer", o);
      model.set("lr", lrOf[o]);
      model.set("step", -1);
      model.save_changes(); // a no-op without a kernel; keeps Python in sync inside Jupyter
      draw();
    }

    function chooseLr(rate) {
      stop();
      lrOf[current().o] = rate;
      model.set("lr", rate);
      model.set("step", -1);
      model.save_changes();
      draw();
    }

    function setStep(s) {
      const top = maxStep();
      model.set("step", Math.min(top, Math.max(0, s)) === top ? -1 : Math.max(0, s));
      model.save_changes();
      draw();
    }

    function play() {
      const top = maxStep();
      if (top === 0) return;
      if (stepNow() >= top) setStep(0);
      el.querySelector(".llm-descent-play").textContent = "❚❚ pause";
      timer = setInterval(() => {
        const s = stepNow();
        if (s >= maxStep()) stop();
        else setStep(s + 1);
      }, Math.min(250, Math.max(30, 4000 / top)));
    }

    draw();
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    const b = el.querySelector(".llm-descent-play");
    if (b) b.textContent = "▶ play";
  }

  for (const name of ["grid", "extent", "minimum", "optimizers", "lrs", "paths", "title"]) {
    model.on(`change:${name}`, build);
  }
  for (const name of ["optimizer", "lr", "step", "compare"]) model.on(`change:${name}`, () => draw());
  build();
  return () => stop(); // anywidget calls this when the view is removed
}

export default { render };
