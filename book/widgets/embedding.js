// A map of word vectors, drawn in the browser: the view works on the static website with no
// kernel. State (see EmbeddingView in embedding.py):
//   words: N words; groups: N group indices (-1 = none); group_names;
//   spaces: names; points: {space: N x [x, y]}; neighbours: {space: N x [[word, cos], ...]};
//   variance: {space: [share on axis 1, share on axis 2]} (may be empty); title;
//   space: the space shown; selected: the index of the selected word (-1 = none).

// One colour per group (Tableau 10), grey for words in no group.
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#bab0ac"];
const NO_GROUP = "#888";
const W = 430, H = 400, PAD = 14;

// Pixel positions for the points of one space: equal units on both axes, so that distances on
// the screen are distances in the projection.
function layout(pts) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [x, y] of pts) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  const span = Math.max(x1 - x0, y1 - y0, 1e-12);
  const k = Math.min((W - 2 * PAD) / Math.max(x1 - x0, span * 1e-3), (H - 2 * PAD) / Math.max(y1 - y0, span * 1e-3));
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return pts.map(([x, y]) => [W / 2 + k * (x - cx), H / 2 - k * (y - cy)]);
}

function render({ model, el }) {
  el.classList.add("llm-card", "llm-emb");
  const uid = uniqueId("llm-emb"); // for the id of the word list
  let draw = () => {};

  function build() {
    const words = model.get("words");
    const groups = model.get("groups");
    const groupNames = model.get("group_names");
    const spaces = model.get("spaces");
    const index = new Map(words.map((w, i) => [w, i]));
    const colourOf = (i) => (groups[i] >= 0 ? PALETTE[groups[i] % PALETTE.length] : NO_GROUP);

    el.innerHTML = `
      <div class="llm-emb-title"></div>
      <div class="llm-emb-controls">
        <span class="llm-emb-spaces"></span>
        <input type="search" class="llm-emb-search" placeholder="find a word…" aria-label="find a word"
          list="${uid}-words" autocomplete="off" spellcheck="false">
        <datalist id="${uid}-words"></datalist>
      </div>
      <div class="llm-emb-hover" aria-live="polite"></div>
      <div class="llm-emb-body">
        <div class="llm-emb-plot-wrap llm-scroll-x"></div>
        <div class="llm-emb-panel" aria-live="polite"></div>
      </div>
      <div class="llm-emb-legend"></div>
      <div class="llm-emb-note"></div>`;
    const title = model.get("title");
    el.querySelector(".llm-emb-title").textContent = title;
    el.querySelector(".llm-emb-title").hidden = !title;

    const spaceBox = el.querySelector(".llm-emb-spaces");
    for (const s of spaces) {
      spaceBox.appendChild(button(s, { space: s }, () => set("space", s)));
    }
    spaceBox.hidden = spaces.length < 2;
    el.querySelector("datalist").innerHTML = words.map((w) => `<option value="${escapeXml(w)}">`).join("");
    const search = el.querySelector(".llm-emb-search");
    const find = () => {
      const w = search.value.trim().toLowerCase();
      if (!w) return;
      if (index.has(w)) {
        set("selected", index.get(w));
        search.classList.remove("llm-emb-missing");
      } else {
        search.classList.add("llm-emb-missing");
        el.querySelector(".llm-emb-hover").textContent = `“${w}” is not on the map`;
      }
    };
    search.addEventListener("change", find);
    search.addEventListener("keydown", (e) => { if (e.key === "Enter") find(); });

    el.querySelector(".llm-emb-legend").innerHTML = groupNames.map((g, k) =>
      `<span class="llm-emb-legend-item"><span class="llm-emb-swatch" style="background: ${PALETTE[k % PALETTE.length]}"></span>${escapeXml(g)}</span>`).join("");

    // The SVG: links to the neighbours (below), the points, then the labels (on top).
    const parts = [svgTag("rect", { class: "llm-emb-bg", x: 0, y: 0, width: W, height: H })];
    parts.push(svgTag("g", { class: "llm-emb-links" }, ""));
    parts.push(svgTag("g", { class: "llm-emb-points" }, words.map((w, i) =>
      svgTag("circle", { class: "llm-emb-point", "data-i": i, r: 4, cx: 0, cy: 0, fill: colourOf(i) })).join("")));
    parts.push(svgTag("g", { class: "llm-emb-labels" }, ""));
    parts.push(svgTag("text", { class: "llm-emb-tip", x: 0, y: 0, visibility: "hidden" }, ""));
    const wrap = el.querySelector(".llm-emb-plot-wrap");
    wrap.innerHTML = plotSvg("llm-emb-plot", W, H, "word vectors projected to two dimensions",
      parts.join(""));
    const svg = wrap.querySelector("svg");
    const circles = Array.from(svg.querySelectorAll(".llm-emb-point"));
    const tip = svg.querySelector(".llm-emb-tip");
    let xy = [];

    function current() {
      const s = spaces.includes(model.get("space")) ? model.get("space") : spaces[0];
      const sel = model.get("selected");
      return { space: s, selected: sel >= 0 && sel < words.length ? sel : -1 };
    }

    function hover(i) {
      const line = el.querySelector(".llm-emb-hover");
      if (i === null) {
        tip.setAttribute("visibility", "hidden");
        line.classList.remove("llm-emb-hover-on");
        line.textContent = "hover a point to see its word · click it to list its nearest neighbours";
        return;
      }
      const [px, py] = xy[i];
      tip.textContent = words[i];
      const labelled = circles[i].classList.contains("llm-emb-selected") ||
        circles[i].classList.contains("llm-emb-neighbour"); // already named on the map
      const right = px > W - 90;
      tip.setAttribute("x", String(right ? px - 8 : px + 8));
      tip.setAttribute("y", String(py < 16 ? py + 16 : py - 7));
      tip.setAttribute("text-anchor", right ? "end" : "start");
      tip.setAttribute("visibility", labelled ? "hidden" : "visible");
      const group = groups[i] >= 0 ? ` · ${groupNames[groups[i]]}` : "";
      line.innerHTML = `<b class="llm-emb-hover-word"></b>${escapeXml(group)}`;
      line.querySelector(".llm-emb-hover-word").textContent = words[i];
      line.classList.add("llm-emb-hover-on");
    }

    draw = function () {
      const { space, selected } = current();
      xy = layout(model.get("points")[space]);
      for (const b of spaceBox.querySelectorAll("button")) {
        setActive(b, b.dataset.space === space, "llm-emb-active");
      }
      const nbs = selected >= 0 ? model.get("neighbours")[space][selected] : [];
      const onMap = new Set(nbs.map(([w]) => index.get(w)).filter((j) => j !== undefined));
      circles.forEach((c, i) => {
        c.setAttribute("cx", xy[i][0].toFixed(1));
        c.setAttribute("cy", xy[i][1].toFixed(1));
        c.classList.toggle("llm-emb-selected", i === selected);
        c.classList.toggle("llm-emb-neighbour", onMap.has(i));
        c.classList.toggle("llm-emb-dim", selected >= 0 && i !== selected && !onMap.has(i));
        c.setAttribute("r", i === selected ? "7" : onMap.has(i) ? "5.5" : "4");
      });
      // the selected point and its neighbours on top of the others
      const layer = svg.querySelector(".llm-emb-points");
      for (const j of [...onMap, selected]) if (j >= 0) layer.appendChild(circles[j]);
      const links = [], labels = [];
      if (selected >= 0) {
        const [sx, sy] = xy[selected];
        for (const j of onMap) {
          links.push(svgTag("line", { class: "llm-emb-link", x1: sx.toFixed(1), y1: sy.toFixed(1),
            x2: xy[j][0].toFixed(1), y2: xy[j][1].toFixed(1) }));
        }
        // Labels, the selected word's first; each moves up or down until it overlaps no other
        // label (boxes estimated from the number of characters).
        const placed = [];
        for (const j of [selected, ...onMap]) {
          const right = xy[j][0] > W - 90;
          const w = 7 * words[j].length + 4, h = 12;
          const x0 = right ? xy[j][0] - 8 - w : xy[j][0] + 8;
          let y = xy[j][1] + 4;
          for (const dy of [0, -13, 13, -26, 26, -39, 39]) {
            const top = xy[j][1] + 4 + dy - h;
            if (!placed.some((b) => x0 < b.x1 && b.x0 < x0 + w && top < b.y1 && b.y0 < top + h)) {
              y = xy[j][1] + 4 + dy;
              break;
            }
          }
          placed.push({ x0, x1: x0 + w, y0: y - h, y1: y });
          labels.push(svgTag("text", { class: `llm-emb-label${j === selected ? " llm-emb-label-selected" : ""}`,
            "data-i": j, x: (right ? xy[j][0] - 8 : xy[j][0] + 8).toFixed(1), y: y.toFixed(1),
            "text-anchor": right ? "end" : "start" }, escapeXml(words[j])));
        }
      }
      svg.querySelector(".llm-emb-links").innerHTML = links.join("");
      svg.querySelector(".llm-emb-labels").innerHTML = labels.join("");
      panel(space, selected, nbs);
      const v = model.get("variance")[space];
      el.querySelector(".llm-emb-note").textContent = v
        ? `The two axes of this picture keep ${(100 * v[0]).toFixed(1)}% + ${(100 * v[1]).toFixed(1)}% ` +
          "of the variance of the vectors; neighbours are found in the full space, so some sit far apart here."
        : "";
    };

    function panel(space, selected, nbs) {
      const box = el.querySelector(".llm-emb-panel");
      if (selected < 0) {
        box.innerHTML = `<div class="llm-emb-panel-empty">Click a point to list its nearest neighbours ` +
          `(by cosine similarity, in the full space).</div>`;
        return;
      }
      const rows = nbs.map(([w, cos], r) => {
        const j = index.get(w);
        const width = Math.max(0, Math.min(1, cos)) * 100;
        return `<li class="llm-emb-nb${j === undefined ? " llm-emb-off-map" : ""}" data-word="${escapeXml(w)}"` +
          `${j === undefined ? ' title="not on the map"' : ""}>` +
          `<span class="llm-emb-rank">${r + 1}</span><span class="llm-emb-nb-word">${escapeXml(w)}</span>` +
          `<span class="llm-emb-bar"><span style="width: ${width.toFixed(0)}%"></span></span>` +
          `<span class="llm-emb-cos">${cos.toFixed(3)}</span></li>`;
      }).join("");
      box.innerHTML = `<div class="llm-emb-panel-head">nearest to <b class="llm-emb-selected-word"></b>` +
        ` <span class="llm-emb-space-name"></span></div><ol class="llm-emb-list">${rows}</ol>` +
        `<div class="llm-emb-panel-foot">cosine similarity · grey italics: not on the map</div>`;
      box.querySelector(".llm-emb-selected-word").textContent = words[selected];
      box.querySelector(".llm-emb-space-name").textContent = spaces.length > 1 ? `(${space})` : "";
    }

    svg.addEventListener("mouseover", (e) => {
      const t = e.target.closest(".llm-emb-point, .llm-emb-label");
      if (t) hover(Number(t.dataset.i));
    });
    svg.addEventListener("mouseout", (e) => {
      if (e.target.closest(".llm-emb-point, .llm-emb-label")) hover(null);
    });
    svg.addEventListener("click", (e) => {
      const t = e.target.closest(".llm-emb-point, .llm-emb-label");
      set("selected", t ? Number(t.dataset.i) : -1); // a click on the background clears
    });
    el.querySelector(".llm-emb-panel").addEventListener("click", (e) => {
      const li = e.target.closest(".llm-emb-nb");
      if (li && index.has(li.dataset.word)) set("selected", index.get(li.dataset.word));
    });
    hover(null);
    draw();
  }

  function set(name, value) {
    model.set(name, value);
    model.save_changes(); // a no-op without a kernel; keeps Python in sync inside Jupyter
    draw();
  }

  for (const name of ["words", "groups", "group_names", "spaces", "points", "neighbours", "variance", "title"]) {
    model.on(`change:${name}`, build);
  }
  for (const name of ["space", "selected"]) model.on(`change:${name}`, () => draw());
  build();
}

export default { render };
