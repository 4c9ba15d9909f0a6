// What a reader would see go wrong on a page, measured in the browser (tests/test_site_quality.py
// evaluates this function once the page and its widgets have rendered). Returns plain data.
() => {
  const article = document.querySelector("article.bd-article") || document.body;
  const describe = (el) => {
    const cls = (el.getAttribute("class") || "").trim().split(/\s+/).slice(0, 2).join(".");
    const section = el.closest("section[id]");
    const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 60);
    return `<${el.tagName.toLowerCase()}${cls ? "." + cls : ""}> in #${section ? section.id : "?"}` +
      (text ? ` "${text}"` : "");
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    const cs = getComputedStyle(el);
    return cs.visibility !== "hidden" && cs.display !== "none";
  };

  // 1. Raw TeX: text a reader sees, outside code, MathJax output, diagrams and widgets (whose
  //    labels show escapes such as "\n" on purpose), that still holds TeX: a "$" opening math,
  //    a backslash command, or a sub/superscript group.
  const skip = "pre, code, kbd, samp, mjx-container, script, style, svg, textarea, .mermaid, " +
    ".widget-subarea";
  const tex = /(^|[^\w])\$(?=[\\a-zA-Z{(])|\\[a-zA-Z]{2,}|[_^]\{/;
  const rawTex = [];
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !tex.test(node.data)) continue;
    if (!visible(parent)) continue;
    rawTex.push(`${describe(parent)}: ${node.data.trim().slice(0, 80)}`);
  }

  // 2. Cut off: a wide element that its box clips with no way to scroll to the rest. Scrolling
  //    inside the article (a code cell, an equation, a widget) is fine; spilling out of the
  //    column, or being clipped by an `overflow: hidden` box, is not.
  const column = article.getBoundingClientRect();
  const wide = "pre, mjx-container[display='true'], img, svg, table, canvas, video, " +
    ".widget-subarea > *, pre.mermaid, p code, li code, td code";
  const cut = [];
  for (const el of article.querySelectorAll(wide)) {
    if (el.parentElement && el.parentElement.closest("svg")) continue; // parts of a drawing
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    let box = el.parentElement;
    let verdict = null;
    for (; box && box !== article.parentElement; box = box.parentElement) {
      const ox = getComputedStyle(box).overflowX;
      if (ox === "visible") continue;
      const b = box.getBoundingClientRect();
      const outside = r.right > b.right + 1 || r.left < b.left - 1;
      verdict = !outside ? "fits" : (ox === "auto" || ox === "scroll") ? "scrolls" : "cut";
      break;
    }
    if (verdict === null) {
      verdict = r.right > column.right + 1 || r.left < column.left - 1 ? "cut" : "fits";
    }
    if (verdict === "cut") {
      cut.push(`${describe(el)}: ${Math.round(r.left)}..${Math.round(r.right)} px, ` +
        `the column ${Math.round(column.left)}..${Math.round(column.right)}`);
    }
  }
  // ... and inside widgets: a box that hides part of its own content (an ellipsis is meant).
  for (const el of article.querySelectorAll(".widget-subarea *")) {
    const cs = getComputedStyle(el);
    if (!["hidden", "clip"].includes(cs.overflowX) || cs.textOverflow === "ellipsis") continue;
    if (el.closest("svg") || !visible(el)) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      cut.push(`${describe(el)} hides ${el.scrollWidth - el.clientWidth} px of its content`);
    }
  }
  const pageScrollsSideways = document.documentElement.scrollWidth > window.innerWidth + 1;

  // 3. Widget text contrast (WCAG 2: 4.5:1, or 3:1 for large text), from computed colours.
  const parse = (s) => {
    const m = /rgba?\(([^)]+)\)/.exec(s);
    if (!m) return null;
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3]))
    .concat([1]);
  const luminance = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const background = (el) => { // null where a gradient or an image lies behind the text
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.backgroundImage !== "none") return null;
      const c = parse(cs.backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const lowContrast = [];
  let textsChecked = 0;
  for (const el of article.querySelectorAll(".widget-subarea *")) {
    if (el.closest("svg") || !visible(el)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.data.trim());
    if (!own) continue;
    const bg = background(el);
    if (!bg) continue;
    const cs = getComputedStyle(el);
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    const fg = parse(cs.color);
    const text = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
    const [hi, lo] = [luminance(text), luminance(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
    const needed = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    textsChecked += 1;
    if (ratio < needed) {
      lowContrast.push(`${describe(el)}: ${ratio.toFixed(2)}:1 (${cs.color} on ` +
        `rgb(${bg.slice(0, 3).map(Math.round).join(",")}))`);
    }
  }

  // 4. Ids that appear more than once (an SVG clip path found by id picks the first).
  const counts = {};
  for (const el of document.querySelectorAll("[id]")) counts[el.id] = (counts[el.id] || 0) + 1;
  const duplicateIds = Object.keys(counts).filter((id) => counts[id] > 1)
    .map((id) => `${id} (${counts[id]}x)`);

  // 5. Weight: bytes over the wire for the page and everything it loaded so far.
  const nav = performance.getEntriesByType("navigation")[0];
  let bytes = nav ? nav.transferSize : 0;
  for (const r of performance.getEntriesByType("resource")) bytes += r.transferSize;
  const paint = performance.getEntriesByName("first-contentful-paint")[0];

  // 6. Rendered: MathJax typesets each math element into an <mjx-container>; mermaid draws an
  //    <svg> into each diagram (null: a diagram left as source), whose labels the tests read.
  const math = document.querySelectorAll(".math").length;
  const typeset = document.querySelectorAll("mjx-container").length;
  const diagrams = [...document.querySelectorAll(".mermaid")].map((el) => {
    const svg = el.querySelector("svg");
    if (!svg) return null;
    const labels = svg.cloneNode(true);
    labels.querySelectorAll("style").forEach((s) => s.remove());
    return labels.textContent.replace(/\s+/g, " ").trim();
  });

  return {
    rawTex, cut, pageScrollsSideways, lowContrast, textsChecked, duplicateIds, bytes,
    math, typeset, diagrams,
    requests: performance.getEntriesByType("resource").length + 1,
    firstContentfulPaintMs: paint ? Math.round(paint.startTime) : null,
    widgets: document.querySelectorAll(".widget-subarea > *").length,
    theme: document.documentElement.dataset.theme,
  };
}
