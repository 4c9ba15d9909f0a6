"""Copy the site's front-end files from node_modules/ into assets/static/vendor/.

The website serves MathJax, mermaid, RequireJS, the Jupyter widget manager and anywidget itself,
so that every page renders with no internet. `npm ci` installs the versions pinned in
package.json; this script copies only the files the pages load (about 20 MB of 400).

    python tools/vendor_assets.py      # run by `make book` after `npm ci`
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
VENDOR = ROOT / "assets" / "static" / "vendor"

# (package, path inside the package, destination under vendor/); folders are copied whole.
FILES = [
    ("requirejs", "require.js", "require.js"),
    ("anywidget", "dist/index.js", "anywidget/index.js"),
    ("@jupyter-widgets/html-manager", "dist/embed-amd.js", "html-manager/dist/embed-amd.js"),
    ("mathjax", "es5/tex-mml-chtml.js", "mathjax/tex-mml-chtml.js"),
    *[("mathjax", f"es5/{d}", f"mathjax/{d}")
      for d in ("input", "output", "ui", "a11y", "adaptors", "sre")],
    ("mermaid", "dist/mermaid.esm.min.mjs", "mermaid/mermaid.esm.min.mjs"),
    ("mermaid", "dist/chunks/mermaid.esm.min", "mermaid/chunks/mermaid.esm.min"),
]
# The widget manager loads its icon fonts from beside its own script.
FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".eot", ".svg")


def _copy(src: Path, dst: Path) -> None:
    """Copy a file or a folder, leaving out source maps."""
    if src.is_dir():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.map"), dirs_exist_ok=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def main() -> int:
    """Copy every file; fail with a clear message when npm has not installed a package."""
    pins = json.loads((ROOT / "package.json").read_text())["dependencies"]
    for package, version in pins.items():
        manifest = NODE / package / "package.json"
        if not manifest.exists():
            print(f"error: {package} is not in node_modules/: run `npm ci` first", file=sys.stderr)
            return 1
        found = json.loads(manifest.read_text())["version"]
        if found != version:
            print(f"error: node_modules has {package} {found}, package.json pins {version}: "
                  "run `npm ci`", file=sys.stderr)
            return 1
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    for package, inner, dest in FILES:
        _copy(NODE / package / inner, VENDOR / dest)
    manager = NODE / "@jupyter-widgets/html-manager/dist"
    for font in manager.iterdir():
        if font.suffix in FONT_SUFFIXES:
            _copy(font, VENDOR / "html-manager/dist" / font.name)
    size = sum(f.stat().st_size for f in VENDOR.rglob("*") if f.is_file())
    print(f"vendored front-end files into {VENDOR.relative_to(ROOT)} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
