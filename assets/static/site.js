// What the theme (sphinx-book-theme 1.3.0 on pydata-sphinx-theme 0.17.1) leaves undone.
(function () {
  // 1. The sidebar buttons. Both themes bind their click handlers to the FIRST element matching
  //    .primary-toggle / .secondary-toggle: the navbar's, which this layout hides. The buttons a
  //    reader sees (in the article header) get no handler, so on a phone neither the table of
  //    contents nor the page contents could be opened. Their clicks go to the bound button.
  function forwardClicks(selector) {
    var buttons = document.querySelectorAll(selector);
    var bound = buttons[0];
    Array.prototype.slice.call(buttons, 1).forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    forwardClicks(".primary-toggle");
    forwardClicks(".secondary-toggle");
  });

  // 2. Diagrams at a readable size. Mermaid draws each diagram at the column's width, so a wide one
  //    (the course map is ~1,850 px) had 6 px labels, and a narrow one was blown up. Each is
  //    drawn at its natural size, shrunk to fit the column but never below MIN_SCALE of it (labels
  //    stay >= 12 px); a diagram still wider than the column scrolls sideways in its box.
  var MIN_SCALE = 0.75;
  function sizeDiagram(svg) {
    var natural = svg.viewBox && svg.viewBox.baseVal ? svg.viewBox.baseVal.width : 0;
    var box = svg.parentElement;
    if (!natural || !box) return;
    var style = getComputedStyle(box);
    var room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    var width = Math.min(natural, Math.max(room, MIN_SCALE * natural));
    svg.style.setProperty("width", width + "px", "important");
    svg.style.setProperty("max-width", "none", "important");
    svg.style.setProperty("height", "auto", "important");
  }
  function sizeDiagrams() {
    document.querySelectorAll("pre.mermaid > svg").forEach(sizeDiagram);
  }
  document.addEventListener("DOMContentLoaded", function () {
    // mermaid renders after load, and again when the reader switches between light and dark
    new MutationObserver(sizeDiagrams).observe(document.body, { childList: true, subtree: true });
    window.addEventListener("resize", sizeDiagrams);
    sizeDiagrams();
  });

  // 3. Printing (the Download menu's ".pdf" calls window.print()) in dark mode would put light
  //    grey text on white paper: print with the light palette, then restore the reader's.
  var themeBeforePrint = null;
  window.addEventListener("beforeprint", function () {
    themeBeforePrint = document.documentElement.dataset.theme || null;
    document.documentElement.dataset.theme = "light";
  });
  window.addEventListener("afterprint", function () {
    if (themeBeforePrint) document.documentElement.dataset.theme = themeBeforePrint;
    themeBeforePrint = null;
  });
})();
