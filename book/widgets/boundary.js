// A classifier's decision boundary over training, replayed in the browser: the view works on the
// static website with no kernel. State (see BoundaryView in boundary.py):
//   points: N x [x, y]; labels: N classes (0 or 1); extent: [xmin, xmax, ymin, ymax];
//   runs: names; frames: {run: [{step, loss, train_acc, test_acc, grid}]}, grid[i][j] = p(class 1)
//     in whole percents at x = linspace(xmin, xmax, nx)[j], y = linspace(ymin, ymax, ny)[i];
//   title; run: the run shown; frame: the snapshot shown (-1 = the last).

const PLOT = 360, M = { left: 34, right: 8, top: 8, bottom: 26 };
// Blue (class 0) through white (p = 0.5) to red (class 1), pale enough for the points to show.
const BLUE = [70, 120, 200], WHITE = [255, 255, 255], RED = [215, 70, 60];
const CLASS_COLOURS = ["#1f5fbf", "#c92a2a"];

function shade(p) {
  const [a, b, f] = p < 0.5 ? [BLUE, WHITE, p / 0.5] : [WHITE, RED, (p - 0.5) / 0.5];
  return a.map((c, k) => Math.round(0.55 * (c + f * (b[k] - c)) + 0.45 * 255));
}
const LUT = Array.from({ length: 101 }, (_, i) => shade(i / 100)); // one colour per percent

const pct = (v) => `${(100 * v).toFixed(1)}%`;
const fmtLoss = (v) => (v >= 1e-3 ? String(Number(v.toPrecision(3))) : v.toExponential(1));

function render({ model, el }) {
  el.classList.add("llm-card", "llm-boundary");
  let timer = null;
  let draw = () => {};

  function build() {
    stop();
    const points = model.get("points");
    const labels = model.get("labels");
    const extent = model.get("extent");
    const [x0, x1, y0, y1] = extent;
    const runs = model.get("runs");
    const frames = model.get("frames");
    const ratio = (x1 - x0) / (y1 - y0);
    const W = ratio >= 1 ? PLOT : PLOT * ratio, H = ratio >= 1 ? PLOT / ratio : PLOT;
    const px = (x) => M.left + ((x - x0) / (x1 - x0)) * W;
    const py = (y) => M.top + ((y1 - y) / (y1 - y0)) * H;

    el.innerHTML = `
      <div class="llm-boundary-title"></div>
      <div class="llm-boundary-controls">
        <div class="llm-boundary-runs"></div>
        <div class="llm-boundary-row">
          <button type="button" data-action="play" class="llm-boundary-play">▶ play</button>
          <input type="range" class="llm-boundary-step" min="0" step="1" aria-label="snapshot">
          <span class="llm-boundary-step-text"></span>
        </div>
      </div>
      <div class="llm-boundary-plot-wrap llm-scroll-x"></div>
      <div class="llm-boundary-readout" aria-live="polite"></div>
      <div class="llm-boundary-legend">
        <span><span class="llm-boundary-dot" style="background: ${CLASS_COLOURS[0]}"></span>class 0</span>
        <span><span class="llm-boundary-dot" style="background: ${CLASS_COLOURS[1]}"></span>class 1</span>
        <span>background: the model's p(class 1), <span class="llm-boundary-ramp"></span>
        0 → 1; black line: p = 0.5, the decision boundary</span>
      </div>`;
    const title = model.get("title");
    el.querySelector(".llm-boundary-title").textContent = title;
    el.querySelector(".llm-boundary-title").hidden = !title;
    const runBox = el.querySelector(".llm-boundary-runs");
    for (const r of runs) {
      runBox.appendChild(button(r, { run: r }, () => chooseRun(r)));
    }
    runBox.hidden = runs.length < 2;
    const ramp = el.querySelector(".llm-boundary-ramp");
    ramp.style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map((p) => `rgb(${shade(p).join(",")})`).join(", ")})`;

    const parts = [];
    parts.push(svgTag("image", { class: "llm-boundary-heat", x: M.left, y: M.top, width: W, height: H, preserveAspectRatio: "none" }));
    parts.push(svgTag("path", { class: "llm-boundary-line", d: "" }));
    parts.push(svgTag("g", { class: "llm-boundary-points" }, points.map(([x, y], n) =>
      svgTag("circle", { class: "llm-boundary-point", "data-label": labels[n], cx: px(x).toFixed(1), cy: py(y).toFixed(1),
        r: 3, fill: CLASS_COLOURS[labels[n]] })).join("")));
    parts.push(svgTag("rect", { class: "llm-boundary-frame", x: M.left, y: M.top, width: W, height: H }));
    for (const v of [x0, (x0 + x1) / 2, x1]) {
      parts.push(svgTag("text", { class: "llm-boundary-xtick", x: px(v), y: M.top + H + 14 }, String(Number(v.toPrecision(3)))));
    }
    for (const v of [y0, (y0 + y1) / 2, y1]) {
      parts.push(svgTag("text", { class: "llm-boundary-ytick", x: M.left - 5, y: py(v) }, String(Number(v.toPrecision(3)))));
    }
    const width = M.left + W + M.right, height = M.top + H + M.bottom;
    const wrap = el.querySelector(".llm-boundary-plot-wrap");
    wrap.innerHTML = plotSvg("llm-boundary-plot", width, height,
      "training points and the classifier's decision boundary", parts.join(""));
    const svg = wrap.querySelector("svg");
    const slider = el.querySelector(".llm-boundary-step");
    slider.addEventListener("input", () => { stop(); set("frame", Number(slider.value)); });
    el.querySelector('[data-action="play"]').addEventListener("click", () => (timer ? stop() : play()));

    function current() {
      const run = runs.includes(model.get("run")) ? model.get("run") : runs[0];
      const list = frames[run];
      const f = model.get("frame");
      return { run, list, k: f < 0 || f >= list.length ? list.length - 1 : f };
    }

    draw = function () {
      const { run, list, k } = current();
      const snap = list[k];
      for (const b of runBox.querySelectorAll("button")) {
        setActive(b, b.dataset.run === run, "llm-boundary-active");
      }
      slider.max = String(list.length - 1);
      slider.value = String(k);
      el.querySelector(".llm-boundary-step-text").textContent = `step ${snap.step} (${k + 1} of ${list.length})`;
      const grid = snap.grid, ny = grid.length, nx = grid[0].length;
      const percentAt = sampler(grid, extent); // the grid holds whole percents
      const pAt = (x, y) => percentAt(x, y) / 100; // p(class 1) anywhere in the box
      paintHeat(svg.querySelector(".llm-boundary-heat"), extent, W, H, LUT,
        (x, y) => Math.round(100 * pAt(x, y)));
      // the decision boundary, p = 0.5
      svg.querySelector(".llm-boundary-line").setAttribute("d", isoLines(grid, 50,
        (j) => px(x0 + (j / (nx - 1)) * (x1 - x0)), (i) => py(y0 + (i / (ny - 1)) * (y1 - y0))));
      el.querySelector(".llm-boundary-readout").innerHTML =
        `<b>${escapeXml(run)}</b> · step <b class="llm-boundary-step-now">${snap.step}</b> · ` +
        `loss <b class="llm-boundary-loss">${fmtLoss(snap.loss)}</b> · accuracy: training ` +
        `<b class="llm-boundary-train">${pct(snap.train_acc)}</b>, test <b class="llm-boundary-test">${pct(snap.test_acc)}</b>`;
    };

    // Another run at the same point of training: the snapshot shown keeps its step, or the
    // nearest earlier one the run has (its first if it has none); the end stays the end.
    function chooseRun(r) {
      stop();
      if (model.get("frame") >= 0) {
        const { list, k } = current();
        const step = list[k].step, other = frames[r] || [];
        let j = 0;
        while (j + 1 < other.length && other[j + 1].step <= step) j++;
        model.set("frame", j);
      }
      set("run", r);
    }

    function play() {
      const { list } = current();
      if (list.length < 2) return;
      if (current().k >= list.length - 1) model.set("frame", 0);
      el.querySelector(".llm-boundary-play").textContent = "❚❚ pause";
      draw();
      timer = setInterval(() => {
        const { k, list: l } = current();
        if (k >= l.length - 1) stop();
        else set("frame", k + 1);
      }, 350);
    }
    draw();
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    const b = el.querySelector(".llm-boundary-play");
    if (b) b.textContent = "▶ play";
  }

  function set(name, value) {
    model.set(name, value);
    model.save_changes(); // a no-op without a kernel; keeps Python in sync inside Jupyter
    draw();
  }

  for (const name of ["points", "labels", "extent", "runs", "frames", "title"]) model.on(`change:${name}`, build);
  for (const name of ["run", "frame"]) model.on(`change:${name}`, () => draw());
  build();
  return () => stop(); // anywidget calls this when the view is removed
}

export default { render };
