"""The Chinese edition's commands: extract the English messages, keep the translations in step,
report what is translated, build the Chinese site. How it works: assets/sphinx_ext/
course_translation.py; the translator's workflow: locales/README.md.

    python tools/translations.py extract   # the English messages: one catalog (.pot) per page
    python tools/translations.py update    # merge them into locales/zh_CN/LC_MESSAGES/<page>.po
    python tools/translations.py status    # per page: translated / total; exit 1 while any is not
    python tools/translations.py check     # every translation keeps its message's math, code,
                                           # links and references; exit 1 listing those that don't
    python tools/translations.py build     # the Chinese site into _build/html/zh (`make book`)
    python tools/translations.py export chapters/05_text_generation   # the page's messages as
                                           # numbered JSON, to translate outside a .po editor
    python tools/translations.py import chapters/05_text_generation FILE.json   # {"3": "…"}
    python tools/translations.py terms     # the glossary's terms as TSV, and the translations
                                           # that render a term otherwise

`update` adds each new English message untranslated and marks the translation of a changed one
fuzzy (the old English is kept beside it, in a comment, so the translator sees what changed);
Sphinx never uses a fuzzy translation, so a page shows the current English until it is
translated again, and `status` (and tests/test_translations.py) lists it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = "zh_CN"
LOCALES = ROOT / "locales"
EXTRACTED = ROOT / "_build" / "gettext"  # the .pot files, one per page
EDITION_FOLDER = "zh"  # the Chinese site's folder inside the English one
INTERFACE = "interface"  # the catalog of the site's own labels (not a page)
HEADER = ("# The Chinese edition of {page}: one message per paragraph, heading, list item or\n"
          "# table cell of the English page. Kept in step by\n"
          "# `python tools/translations.py update`; see locales/README.md.")


def jupyter_book() -> str:
    return str(Path(sys.executable).parent / "jupyter-book")


def catalog_dir(locales: Path = LOCALES) -> Path:
    return locales / LANGUAGE / "LC_MESSAGES"


# --- the catalogs ---

WAS = "English before the change: "  # the comment that keeps a fuzzy message's old English


def read_catalog(path: Path) -> Catalog:
    """A .po or .pot file; a fuzzy message's old English (its `WAS` comment, which babel reads
    as one comment per wrapped line) is its `previous_id`."""
    with path.open("rb") as f:
        catalog = read_po(f, locale=LANGUAGE if path.suffix == ".po" else None)
    for message in catalog:
        if message.user_comments and message.user_comments[0].startswith(WAS):
            message.previous_id = [" ".join(message.user_comments)[len(WAS):]]
    return catalog


def write_catalog(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        # one line per string (width 0), so that a message is one line in a diff; no source
        # locations: they are cell numbers, and one new cell would renumber them all
        write_po(f, catalog, width=0, no_location=True, ignore_obsolete=True,
                 sort_output=False)


def templates(extracted: Path = EXTRACTED) -> dict[str, Path]:
    """{page (e.g. "chapters/05_text_generation"): its .pot file}."""
    if not extracted.exists():
        raise SystemExit(f"no extracted messages in {extracted}: run "
                         "`python tools/translations.py extract` (or `make book`) first")
    return {str(p.relative_to(extracted).with_suffix("")): p
            for p in sorted(extracted.rglob("*.pot"))}


def extract(source: Path = ROOT) -> int:
    """Run Sphinx's gettext builder over the English sources: one .pot per page, into
    `source`/_build/gettext. (It keeps its own doctrees, in _build/i18n: Sphinx refuses to share
    an environment between the gettext and HTML builders.)"""
    work = source / "_build" / "i18n"
    status = subprocess.call([jupyter_book(), "build", str(source), "--builder", "custom",
                              "--custom-builder", "gettext", "--path-output", str(work), "-W",
                              "-n", "--keep-going", "--quiet"])
    if status:
        return status
    extracted = source / "_build" / "gettext"
    if extracted.exists():
        shutil.rmtree(extracted)
    shutil.copytree(work / "_build" / "gettext", extracted)
    pages = templates(extracted)
    count = sum(1 for pot in pages.values() for m in read_catalog(pot) if m.id)
    print(f"English messages: {count:,} in {len(pages)} pages ({extracted})")
    return 0


def update(extracted: Path = EXTRACTED, locales: Path = LOCALES) -> None:
    """Bring every page's .po in step with its .pot: new messages empty, changed ones fuzzy,
    removed ones dropped; a page without a .po gets one with every message untranslated."""
    for page, pot in templates(extracted).items():
        target = catalog_dir(locales) / f"{page}.po"
        template = read_catalog(pot)
        if target.exists():
            catalog = read_catalog(target)
            dates = catalog.creation_date, catalog.revision_date
            catalog.update(template, update_header_comment=False)
            for message in catalog:  # a translation just made fuzzy: say what the English was
                if message.fuzzy and message.previous_id:
                    message.user_comments = [WAS + message.previous_id[0]]
            catalog.creation_date, catalog.revision_date = dates  # no churn in the headers
        else:
            catalog = Catalog(locale=LANGUAGE, project=template.project, fuzzy=False,
                              header_comment=HEADER.format(page=page))
            for message in template:
                if message.id:
                    catalog.add(message.id, "", locations=message.locations)
        write_catalog(catalog, target)
    print(f"updated {len(templates(extracted))} catalogs in {catalog_dir(locales)}")


# --- what is translated ---

@dataclass
class PageStatus:
    page: str
    total: int = 0
    translated: int = 0
    fuzzy: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.translated / self.total if self.total else 1.0


def page_status(page: str, pot: Path, locales: Path = LOCALES) -> PageStatus:
    """How much of one page is translated: a message counts when its .po has a translation of
    exactly this English that is not fuzzy."""
    status = PageStatus(page)
    po = catalog_dir(locales) / f"{page}.po"
    catalog = read_catalog(po) if po.exists() else Catalog(locale=LANGUAGE)
    for message in read_catalog(pot):
        if not message.id:
            continue
        status.total += 1
        found = catalog.get(message.id)
        if found is None or not found.string:
            status.missing.append(message.id)
        elif found.fuzzy:
            status.fuzzy.append(message.id)
        else:
            status.translated += 1
    return status


def coverage(extracted: Path = EXTRACTED, locales: Path = LOCALES) -> list[PageStatus]:
    return [page_status(page, pot, locales) for page, pot in templates(extracted).items()]


def coverage_table(statuses: Iterable[PageStatus]) -> str:
    statuses = list(statuses)
    lines = [f"{'page':42s} {'translated':>10s} {'total':>6s} {'share':>6s}  fuzzy  missing"]
    for s in statuses:
        lines.append(f"{s.page:42s} {s.translated:10d} {s.total:6d} {s.share:6.0%} "
                     f"{len(s.fuzzy):6d} {len(s.missing):8d}")
    done, total = sum(s.translated for s in statuses), sum(s.total for s in statuses)
    lines.append(f"{'all pages':42s} {done:10d} {total:6d} {done / max(total, 1):6.0%}")
    return "\n".join(lines)


# --- each translation keeps what is not prose ---

ROLE = re.compile(r"(?<!`)\{([\w:.-]+)\}`([^`]*)`")  # not `{cite}` (inline code)
CODE = re.compile(r"(?<![}`])`([^`]+)`(?!`)")
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.DOTALL)
LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")


def role_key(name: str, content: str) -> str:
    """A role as it must survive translation: its name and target (`text <target>`: the text
    may be translated, the target not)."""
    target = re.search(r"<([^<>]+)>\s*$", content)
    return f"{{{name}}}{target.group(1) if target else content}"


def kept_parts(text: str) -> Counter:
    """What a translation must keep of a message: its roles' targets, inline code, math and
    link targets (each as often as the English has it)."""
    parts: Counter = Counter()
    for m in ROLE.finditer(text):
        parts["role " + role_key(m.group(1), m.group(2))] += 1
    without_roles = ROLE.sub("", text)
    for m in CODE.finditer(without_roles):
        parts["code `" + m.group(1) + "`"] += 1
    for m in MATH.finditer(without_roles):
        parts["math " + re.sub(r"\s+", " ", m.group(0))] += 1
    for m in LINK_TARGET.finditer(text):
        parts["link " + m.group(1)] += 1
    return parts


def check_message(english: str, chinese: str) -> list[str]:
    """What the translation lost or added of the English's roles, code, math and links."""
    want, got = kept_parts(english), kept_parts(chinese)
    return ([f"missing {k}" for k in sorted(want - got)] +
            [f"not in the English: {k}" for k in sorted(got - want)])


def check_catalogs(locales: Path = LOCALES) -> dict[str, list[str]]:
    """{".po file: message start": problems} for every translation that does not keep its
    message's roles, code, math and links."""
    found = {}
    for po in sorted(catalog_dir(locales).rglob("*.po")):
        for message in read_catalog(po):
            if message.id and message.string and not message.fuzzy:
                problems = check_message(message.id, message.string)
                if problems:
                    found[f"{po.relative_to(locales)}: {message.id[:60]!r}"] = problems
    return found


# --- the glossary's terms ---

GLOSSARY_TERM = re.compile(r"^\*\*(?P<en>[^*]+)\*\* · (?P<zh>.+)$", re.MULTILINE)


def glossary_terms(glossary: Path = ROOT / "glossary.md") -> list[tuple[str, str]]:
    """[(English term, its Chinese)] as the glossary gives them: `**Token** · 词元（标记）`
    (the first Chinese rendering is the course's; one in parentheses is a common alternative)."""
    return [(m["en"].strip(), m["zh"].strip())
            for m in GLOSSARY_TERM.finditer(glossary.read_text(encoding="utf-8"))]


def term_usage(locales: Path = LOCALES) -> tuple[Counter, dict[str, list[str]]]:
    """How the translations render the glossary's terms: ({term: messages whose English uses
    it}, {term: "page: English" of those whose Chinese has neither the glossary's rendering
    nor the term itself}). Terms are the glossary's single headwords (not "X and Y" pairs); a
    term may also be kept in English or as its abbreviation. A deviation is not always wrong:
    "the vocabulary of politics" is not a model's vocabulary (词表)."""
    terms = []
    for en, zh in glossary_terms():
        if re.search(r" and | vs |/|,", en):
            continue
        head = re.sub(r"\s*\([^)]*\)", "", en).strip()
        kept = [head.lower(), *(a.lower() for a in re.findall(r"\(([^)]+)\)", en))]
        renderings = [re.split(r"（|\(", zh)[0].strip(), *re.findall(r"（([^）]+)）", zh)]
        terms.append((head, re.compile(rf"\b{re.escape(head)}s?\b", re.I), kept, renderings))
    uses: Counter = Counter()
    deviations: dict[str, list[str]] = {}
    for po in sorted(catalog_dir(locales).rglob("*.po")):
        page = str(po.relative_to(catalog_dir(locales)).with_suffix(""))
        if page in ("glossary", INTERFACE):
            continue
        for message in read_catalog(po):
            if not (message.id and message.string) or message.fuzzy:
                continue
            for head, pattern, kept, renderings in terms:
                if pattern.search(message.id):
                    uses[head] += 1
                    text = message.string.lower()
                    if not any(r in message.string for r in renderings) and \
                            not any(k in text for k in kept):
                        deviations.setdefault(head, []).append(f"{page}: {message.id[:70]}")
    return uses, deviations


# --- translating outside a .po editor ---

def work_file(page: str) -> Path:
    return ROOT / "_build" / "translation-work" / f"{page}.json"


def export(page: str, locales: Path = LOCALES) -> Path:
    """Write the page's messages as a numbered JSON list: [{"n", "en", "zh", "fuzzy"}], with
    "was", the English that a fuzzy translation was made from."""
    import json

    po = catalog_dir(locales) / f"{page}.po"
    if not po.exists():
        raise SystemExit(f"no catalog {po}: run `python tools/translations.py update` first")
    rows = [{"n": n, "en": m.id, "zh": m.string, "fuzzy": m.fuzzy,
             **({"was": " ".join(m.previous_id)} if m.fuzzy and m.previous_id else {})}
            for n, m in enumerate((m for m in read_catalog(po) if m.id), start=1)]
    out = work_file(page)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(rows)} messages of {page}: {out}")
    return out


def import_translations(page: str, source: Path, locales: Path = LOCALES) -> list[str]:
    """Set the translations of `page` from a JSON object {"n": "translation"} (n as numbered by
    `export`); each one set is no longer fuzzy. Returns the problems found by check_message
    (the translations are written anyway, so that work is never lost)."""
    import json

    po = catalog_dir(locales) / f"{page}.po"
    catalog = read_catalog(po)
    messages = [m for m in catalog if m.id]
    given = json.loads(source.read_text(encoding="utf-8"))
    if isinstance(given, list):  # an exported list with its "zh" fields filled in
        given = {str(row["n"]): row["zh"] for row in given if row.get("zh")}
    problems = []
    for key, text in given.items():
        n = int(key)
        if not 1 <= n <= len(messages):
            raise SystemExit(f"{source}: no message {n} in {page} (1 to {len(messages)})")
        message = messages[n - 1]
        message.string = text.strip()
        message.flags.discard("fuzzy")
        message.previous_id, message.user_comments = (), []
        problems += [f"{n}: {p}" for p in check_message(message.id, message.string)]
    write_catalog(catalog, po)
    return problems


# --- the Chinese site ---

def edition_config(source: Path, out: Path) -> Path:
    """The source's _config.yml for the Chinese edition, written into `out`: language zh_CN,
    with the local extensions' paths made absolute (Jupyter Book reads them relative to the
    configuration file)."""
    config = yaml.safe_load((source / "_config.yml").read_text(encoding="utf-8"))
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {name: str((source / path).resolve())
                                  for name, path in sphinx.get("local_extensions", {}).items()}
    sphinx.setdefault("config", {})["language"] = LANGUAGE
    out.mkdir(parents=True, exist_ok=True)
    path = out / "_config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def build_command(source: Path, work: Path) -> list[str]:
    """The command that builds the Chinese edition of `source` in `work` (warnings as errors)."""
    config = edition_config(source, work)
    return [jupyter_book(), "build", str(source), "--config", str(config), "--builder", "html",
            "--path-output", str(work), "-W", "-n", "--keep-going"]


def publish(work: Path, site: Path) -> None:
    """Put the Chinese edition built in `work` into `site`/zh, beside the English edition."""
    target = site / EDITION_FOLDER
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(work / "_build" / "html", target)
    print(f"Chinese edition: {target / 'intro.html'}")


def build(source: Path = ROOT, site: Path = ROOT / "_build" / "html",
          work: Path = ROOT / "_build" / "zh") -> int:
    """Build the Chinese edition of `source` and put it in `site`/zh."""
    status = subprocess.call(build_command(source, work))
    if status == 0:
        publish(work, site)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["extract", "update", "status", "check", "build",
                                            "export", "import", "terms"])
    parser.add_argument("page", nargs="?", help="export, import: e.g. chapters/01_background")
    parser.add_argument("file", nargs="?", type=Path, help="import: the JSON of translations")
    args = parser.parse_args(argv)
    if args.command == "export":
        export(args.page)
        return 0
    if args.command == "terms":
        out = ROOT / "_build" / "translation-work" / "terms.tsv"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(f"{en}\t{zh}\n" for en, zh in glossary_terms()), encoding="utf-8")
        print(f"{len(glossary_terms())} glossary terms: {out}")
        uses, deviations = term_usage()
        print(f"{sum(uses.values())} uses of {len(uses)} terms in the translations; "
              f"{sum(map(len, deviations.values()))} without the glossary's rendering:")
        for term, where in sorted(deviations.items()):
            print(f"  {term}: " + "; ".join(where))
        return 0
    if args.command == "import":
        problems = import_translations(args.page, args.file)
        print(f"imported into {catalog_dir() / args.page}.po", *problems, sep="\n    ")
        return 1 if problems else 0
    if args.command == "extract":
        return extract()
    if args.command == "update":
        update()
        return 0
    if args.command == "status":
        statuses = coverage()
        print(coverage_table(statuses))
        return 0 if all(s.share == 1.0 for s in statuses) else 1
    if args.command == "check":
        problems = check_catalogs()
        for where, found in problems.items():
            print(where, *found, sep="\n    ")
        return 1 if problems else 0
    status = build()
    if status == 0:
        print(coverage_table(coverage()))
    return status


if __name__ == "__main__":
    sys.exit(main())
