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

  // 2. Printing (the Download menu's ".pdf" calls window.print()) in dark mode would put light
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
