"""The built website, read as files: complete, offline, with its buttons and downloads."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files() -> list[str]:
    """Every document named in _toc.yml (without suffix)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


def test_every_toc_entry_is_built(site):
    for name in toc_files():
        assert (site / f"{name}.html").exists(), f"{name} is in _toc.yml but was not built"


def test_no_page_loads_a_script_or_stylesheet_from_the_internet(site):
    remote = re.compile(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//[^"]+"[^>]*>')
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for tag in remote.findall(html):
            # plain links to other sites (<link rel="canonical">) are fine; loaded resources are not
            loaded = re.search(r'rel="(?:stylesheet|preload|modulepreload)"|<script', tag)
            assert not loaded, f"{page}: {tag}"


def test_vendored_front_end_files_are_served(site):
    vendor = site / "_static" / "vendor"
    for rel in ["require.js", "anywidget/index.js", "html-manager/dist/embed-amd.js",
                "mathjax/tex-mml-chtml.js", "mermaid/mermaid.esm.min.mjs"]:
        assert (vendor / rel).exists(), (
            f"_static/vendor/{rel} is missing: run tools/vendor_assets.py"
        )


def test_chapter_page_has_a_download_button_and_launch_links_only_with_a_repository(site):
    html = (site / "chapters" / "01_background.html").read_text(encoding="utf-8")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"]
    assert "_sources/chapters/01_background.ipynb" in html
    assert (site / "_sources" / "chapters" / "01_background.ipynb").exists()
    assert "mybinder.org" not in html  # nothing would install the course package there
    if url:
        repo = url.removeprefix("https://github.com/")
        assert f"colab.research.google.com/github/{repo}/blob/main/chapters/01_background.ipynb" \
            in html
        assert f'href="{url}"' in html
    else:  # no link that leads nowhere
        assert "colab.research.google.com" not in html and "github.com/llm-course" not in html


def test_pages_load_mathjax_and_mermaid_only_where_they_are_used(site):
    for page in site.rglob("*.html"):
        if "_static" in page.parts:
            continue
        html = page.read_text(encoding="utf-8")
        body = html[html.find("<body"):]
        math = 'class="math' in body
        diagram = 'class="mermaid' in body
        assert ("vendor/mathjax/" in html) == math, f"{page.name}: MathJax loaded: {not math}"
        assert ("vendor/mermaid/" in html) == diagram, f"{page.name}: mermaid loaded: {not diagram}"


def test_widget_state_is_embedded(site):
    html = (site / "chapters" / "01_background.html").read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-state+json" in html
    assert "application/vnd.jupyter.widget-view+json" in html


def test_markdown_that_cells_print_is_rendered_tables_included(site):
    """Output cells print Markdown (source listings, profile tables). myst-nb reads it as
    CommonMark unless told otherwise, and CommonMark has no tables: the rows then showed as one
    paragraph of pipes and dashes (chapter 7's line profiles)."""
    unrendered = re.compile(r"\|\s*(?:-{3,}|—|–):?\s*\|")  # smartquotes turns --- into —
    for rel in toc_files():
        html = (site / f"{rel}.html").read_text(encoding="utf-8")
        text = re.sub(r"<[^>]+>", " ", html)
        assert not unrendered.search(text), f"{rel}: a Markdown table printed by a cell is raw"
    tables = (site / "chapters/07_tools.html").read_text(encoding="utf-8").count("<table")
    assert tables >= 5, f"chapter 7 shows its profiles as tables; found {tables} <table>"


def test_each_chapter_lists_the_works_it_cites_and_its_citations_link_to_that_list(site):
    from book.bibliography import citations, load

    cited = citations()
    for page in sorted((site / "chapters").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        keys = {key for key, files in cited.items() if f"chapters/{page.stem}" in files}
        section = html[html.index('<section id="references">'):]
        entries = re.findall(r'class="citation" id="([^"]+)" role="doc-biblioentry"', section)
        assert len(entries) == len(keys) > 0, (
            f"{page.name}: {len(entries)} works in its references, {len(keys)} cited")
        # every citation in the text links to this page's list, not to the book's whole list
        assert 'href="../references.html#' not in html, page.name
        linked = set(re.findall(r'<a class="reference internal" href="#(id\d+)" title=', html))
        assert linked == set(entries), f"{page.name}: citations link to {linked ^ set(entries)}"
    whole = (site / "references.html").read_text(encoding="utf-8")
    assert whole.count('role="doc-biblioentry"') == len(load())
