// Helpers shared by every widget. The Python side (book/widgets/_base.py, `_esm`) puts this file
// in front of each widget's own JavaScript, so one ES module holds both and these top-level
// functions are in scope in the widget's code. A widget file must not define these names again
// (tests/test_widgets_common.py checks), and this file must not use names a widget defines.

// The markup of one SVG element: svgTag("rect", { x: 1, width: 2 }) gives <rect x="1" width="2"/>.
function svgTag(name, attrs, inner) {
  const list = Object.entries(attrs).map(([k, v]) => `${k}="${v}"`).join(" ");
  return inner === undefined ? `<${name} ${list}/>` : `<${name} ${list}>${inner}</${name}>`;
}

// Text that is safe inside markup and attribute values.
function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

// Tokens as a reader can see them: spaces, newlines and tabs made visible.
function visible(token) {
  if (token === "") return "∅";
  return token.replace(/ /g, "␣").replace(/\n/g, "↵").replace(/\t/g, "⇥");
}

// At most n characters, the last one "…" when the text was cut.
function shorten(text, n) {
  return text.length > n ? text.slice(0, n - 1) + "…" : text;
}

// Colour scales are lists of RGB stops; x in [0, 1] runs from the first stop to the last.
// blendRgb gives [r, g, b] (for canvas pixels), blend a CSS colour.
function blendRgb(stops, x) {
  const pos = Math.min(1, Math.max(0, x)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(pos));
  return stops[i].map((a, j) => Math.round(a + (pos - i) * (stops[i + 1][j] - a)));
}

function blend(stops, x) {
  return `rgb(${blendRgb(stops, x).join(",")})`;
}

// A CSS gradient through the stops, left to right, for a legend.
function cssGradient(stops) {
  return `linear-gradient(to right, ${stops.map((s) => `rgb(${s.join(",")})`).join(", ")})`;
}

// A grid of values (grid[i][j] at x = linspace(x0, x1, nx)[j], y = linspace(y0, y1, ny)[i]) as a
// function of (x, y) anywhere in the box, by bilinear interpolation between the grid points.
function sampler(grid, [x0, x1, y0, y1]) {
  const ny = grid.length, nx = grid[0].length;
  return (x, y) => {
    const fx = ((x - x0) / (x1 - x0)) * (nx - 1), fy = ((y - y0) / (y1 - y0)) * (ny - 1);
    const j = Math.min(nx - 2, Math.max(0, Math.floor(fx)));
    const i = Math.min(ny - 2, Math.max(0, Math.floor(fy)));
    const u = Math.min(1, Math.max(0, fx - j)), v = Math.min(1, Math.max(0, fy - i));
    return (1 - v) * ((1 - u) * grid[i][j] + u * grid[i][j + 1]) +
      v * ((1 - u) * grid[i + 1][j] + u * grid[i + 1][j + 1]);
  };
}

// The line where the grid crosses `level`, by marching squares: an SVG path "d". gx and gy map a
// (fractional) column and row index of the grid to pixels.
function isoLines(grid, level, gx, gy) {
  const ny = grid.length, nx = grid[0].length;
  const d = [];
  const cross = (va, vb, xa, ya, xb, yb) => {
    const f = (level - va) / (vb - va);
    return [xa + f * (xb - xa), ya + f * (yb - ya)];
  };
  for (let i = 0; i < ny - 1; i++) {
    for (let j = 0; j < nx - 1; j++) {
      const v00 = grid[i][j], v01 = grid[i][j + 1], v10 = grid[i + 1][j], v11 = grid[i + 1][j + 1];
      const a00 = v00 > level, a01 = v01 > level, a10 = v10 > level, a11 = v11 > level;
      if (a00 === a01 && a00 === a10 && a00 === a11) continue;
      // crossings on the edges: bottom (00-01), right (01-11), top (10-11), left (00-10)
      const e = {};
      if (a00 !== a01) e.b = cross(v00, v01, j, i, j + 1, i);
      if (a01 !== a11) e.r = cross(v01, v11, j + 1, i, j + 1, i + 1);
      if (a10 !== a11) e.t = cross(v10, v11, j, i + 1, j + 1, i + 1);
      if (a00 !== a10) e.l = cross(v00, v10, j, i, j, i + 1);
      const keys = Object.keys(e);
      let pairs;
      if (keys.length === 2) pairs = [keys];
      else { // a saddle: the centre decides which corners are joined
        const centreAbove = (v00 + v01 + v10 + v11) / 4 > level;
        pairs = centreAbove === a00 ? [["b", "r"], ["t", "l"]] : [["b", "l"], ["t", "r"]];
      }
      for (const [p, q] of pairs) {
        d.push(`M${gx(e[p][0]).toFixed(1)},${gy(e[p][1]).toFixed(1)}` +
          `L${gx(e[q][0]).toFixed(1)},${gy(e[q][1]).toFixed(1)}`);
      }
    }
  }
  return d.join("");
}

// A heat map of the box [x0, x1] x [y0, y1] painted on a canvas and shown in the SVG <image>
// (sharp on high-resolution screens: up to 2 canvas pixels per CSS pixel). Each pixel gets
// lut[indexAt(x, y)], an [r, g, b] colour.
function paintHeat(image, [x0, x1, y0, y1], W, H, lut, indexAt) {
  const k = Math.min(2, Math.max(1, window.devicePixelRatio || 1));
  const w = Math.round(W * k), h = Math.round(H * k);
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const img = ctx.createImageData(w, h);
  for (let r = 0; r < h; r++) {
    const y = y1 - ((r + 0.5) / h) * (y1 - y0);
    for (let c = 0; c < w; c++) {
      const rgb = lut[indexAt(x0 + ((c + 0.5) / w) * (x1 - x0), y)];
      const o = 4 * (r * w + c);
      img.data[o] = rgb[0];
      img.data[o + 1] = rgb[1];
      img.data[o + 2] = rgb[2];
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  image.setAttribute("href", canvas.toDataURL("image/png"));
}

// A control button: button("T = 1", { temperature: 1 }, onClick) has data-temperature="1".
function button(text, data, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  Object.assign(b.dataset, data);
  b.addEventListener("click", onClick);
  return b;
}

// Marks a button as chosen (the widget's CSS class `activeClass`, and aria-pressed).
function setActive(b, on, activeClass) {
  b.classList.toggle(activeClass, on);
  b.setAttribute("aria-pressed", String(on));
}

// An id that no other widget on the page has. Each widget's module is loaded afresh for every
// view (anywidget imports its code from a new URL), so a counter inside the module would start
// again at 1 for each view; the counter lives on the page instead.
function uniqueId(prefix) {
  globalThis.__llmWidgetIds = (globalThis.__llmWidgetIds || 0) + 1;
  return `${prefix}-${globalThis.__llmWidgetIds}`;
}

// A token in quotes, as Python's repr writes a string, with visible() characters: '4', '␣the',
// and "'" for the token ' (so that the quotes around a quote cannot be misread).
function quoted(token) {
  const text = visible(token);
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes('"')) return `"${text}"`;
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

// The text colour that reads best on a background [r, g, b]: black or white, whichever has the
// higher contrast (WCAG relative luminance). One of them always has at least 4.5:1.
function inkOn([r, g, b]) {
  const linear = (c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const lum = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  return (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) ? "#000" : "#fff";
}

// The markup of a plot's <svg>: drawn in a width x height box (its viewBox), shown at that size
// when the column has room and scaled down with a narrower one (CSS class llm-fit), but to no
// less than `shrink` of its size, below which its wrapper (class llm-scroll-x) scrolls sideways.
function plotSvg(cls, width, height, label, inner, shrink = 0.7) {
  const w = Math.ceil(width), h = Math.ceil(height);
  return svgTag("svg", { class: `${cls} llm-fit`, width: w, height: h, viewBox: `0 0 ${w} ${h}`,
    style: `max-width: ${w}px; min-width: ${Math.round(shrink * w)}px`, role: "img",
    "aria-label": escapeXml(label) }, inner);
}
