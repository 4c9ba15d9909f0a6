// Lets the Jupyter widget manager (html-manager 1.0.x) work on the static site with no internet.
// Loaded after require.js and before embed-amd.js (see nb_ipywidgets_js in _config.yml).
(function () {
  var vendor = new URL("vendor/", document.currentScript.src).href;
  // Widget modules resolve to the files this site serves, so the manager never asks a CDN; the
  // html-manager path also makes it look for its icon fonts beside its own script.
  window.require.config({
    paths: {
      anywidget: vendor + "anywidget/index",
      "@jupyter-widgets/html-manager": vendor + "html-manager",
    },
  });
  // html-manager 1.0.x typesets widget labels with MathJax 2's API (MathJax.Hub.Queue); the site
  // runs MathJax 3. MathJax is a deferred script, so by DOMContentLoaded it has replaced its
  // config object; this listener is registered before the manager's, so it runs first.
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub) return;
    mj.Hub = {
      Queue: function () {
        var elements = Array.prototype.slice.call(arguments)
          .map(function (job) { return Array.isArray(job) ? job[2] : null; })
          .filter(Boolean);
        if (mj.startup && mj.startup.promise) {
          mj.startup.promise.then(function () { return mj.typesetPromise(elements); });
        }
      },
    };
  });
})();
