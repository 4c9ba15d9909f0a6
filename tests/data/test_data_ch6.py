"""Tests of chapter 6's data: the cmn_eng, wnut17, sst2 and ud_english_ewt corpora, the gpt2
model entry, resumable downloads and `is_available`.

Loaders are checked on small generated files (every quirk the real files have, put there on
purpose) and on the real files of the mirror ($LLM_BOOK_DATA, else /work/shared/data; skipped
without it) against the counts the mirror's README gives. GPT-2 is never downloaded: its
entry is pointed at small fake files on the HTTP server on 127.0.0.1 (tests/data/conftest.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from pathlib import Path

import pytest
from support import REAL_MIRROR, REPO, cache_root, install, needs_mirror, part_files, sha

from book import data
from book.data import fetching as fetch_mod
from book.data import loaders as loaders_mod

CH6 = ("cmn_eng", "wnut17", "sst2", "ud_english_ewt")

# ------------------------------------------------------------------------------------------
# The registry
# ------------------------------------------------------------------------------------------

HF_REVISION = "607a30d783dfa663caf39e06633721c8d4cfcd7e"
GPT2_FILES = {  # path: (bytes, sha256), as published on Hugging Face at HF_REVISION
    "gpt2/model.safetensors":
        (548_105_171, "248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707"),
    "gpt2/vocab.json":
        (1_042_301, "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"),
    "gpt2/merges.txt":
        (456_318, "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"),
}


def test_gpt2_is_a_model_outside_the_corpora():
    gpt2 = data.get_corpus("gpt2")
    assert gpt2.kind == "model"
    assert [c.name for c in data.corpora("model")] == ["gpt2"]
    assert "gpt2" not in [c.name for c in data.corpora("corpus")]
    assert all(c.kind == "corpus" for c in data.corpora("corpus"))
    assert len(data.corpora()) == len(data.CORPORA)
    assert {f.path: (f.size, f.sha256) for f in gpt2.files} == GPT2_FILES
    assert gpt2.folder == "gpt2"
    for f in gpt2.files:
        assert f.urls[0] == ("https://huggingface.co/openai-community/gpt2/resolve/"
                             f"{HF_REVISION}/{f.path.removeprefix('gpt2/')}")
    urls = {f.path: f.urls for f in gpt2.files}
    assert urls["gpt2/vocab.json"][1].endswith("/gpt-2/encodings/main/encoder.json")
    assert urls["gpt2/merges.txt"][1].endswith("/gpt-2/encodings/main/vocab.bpe")
    assert "Modified MIT" in gpt2.license and "Radford" in gpt2.citation
    # Only the weights are large enough to be resumed.
    assert [f.path for f in gpt2.files if fetch_mod.resumable(f.size, f.content_sha256)] == [
        "gpt2/model.safetensors"]
    with pytest.raises(ValueError, match="kind"):
        data.corpora("models")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind"):
        dataclasses.replace(gpt2, kind="weights")


@pytest.mark.parametrize("name, commit", [
    ("cmn_eng", "aa43963320ccfacebd1d3542deae559bbca58d03"),
    ("wnut17", "e52a2d2a71ac1a051ca2d532eef28653c5c02603"),
    ("sst2", "bf3c9c24582d9683be81cbe5f589c93fb11bf02a"),
    ("ud_english_ewt", "4c89b5833a70aa5ed3a00bad2f23f57992cc7df8"),
])
def test_chapter6_corpora_have_pinned_urls_licences_and_citations(name, commit):
    c = data.get_corpus(name)
    assert c.kind == "corpus" and c.license and c.citation and c.description
    for f in c.files:
        assert f.path.startswith(f"{name}/") and len(f.sha256) == 64
        pinned = [u for u in f.urls if commit in u]
        assert len(pinned) == 1, f.urls
        moving = [u for u in f.urls if "/master/" in u]
        # A moving URL, where there is one, comes first, as _gh_urls orders them.
        assert f.urls.index(pinned[0]) == len(moving)


def test_chapter6_licences_say_what_the_readme_says():
    assert "CC BY 2.0 FR" in data.get_corpus("cmn_eng").license
    assert "attribution" in data.get_corpus("cmn_eng").license
    assert "CC BY 4.0" in data.get_corpus("wnut17").license
    assert "Derczynski" in data.get_corpus("wnut17").citation
    assert data.get_corpus("sst2").license.startswith("Unknown")
    assert "Socher" in data.get_corpus("sst2").citation
    assert "GLUE" in data.get_corpus("sst2").citation
    ud = data.get_corpus("ud_english_ewt")
    assert "CC BY-SA 4.0" in ud.license
    assert "ud_english_ewt/LICENSE.txt" in [f.path for f in ud.files]


def test_the_readme_lists_every_entry_with_its_licence():
    """The README's data table has a row per registry entry (corpora and model)."""
    rows = {line.split("|")[1].strip(): line
            for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| `")}
    assert {name.strip("`") for name in rows} >= set(data.CORPORA)
    assert "CC BY 2.0 FR" in rows["`cmn_eng`"] and "attribution" in rows["`cmn_eng`"]
    assert "CC BY 4.0" in rows["`wnut17`"] and "CC BY-SA 4.0" in rows["`ud_english_ewt`"]
    assert "no licence stated" in rows["`sst2`"] and "Modified MIT" in rows["`gpt2`"]


@needs_mirror
@pytest.mark.parametrize("name", [c.name for c in data.corpora("corpus")])
def test_registry_matches_the_mirror_files(name):
    """Each text corpus's sizes and sha256 are those of the mirror's files (models excluded)."""
    for f in data.get_corpus(name).files:
        p = REAL_MIRROR / f.path
        assert p.stat().st_size == f.size, f.path
        assert hashlib.sha256(p.read_bytes()).hexdigest() == f.sha256, f.path


# ------------------------------------------------------------------------------------------
# The gpt2 entry: fetch by name from a local server, is_available, the command line
# ------------------------------------------------------------------------------------------

FAKE_GPT2 = {  # small stand-ins: the registry's real files are never downloaded here
    "gpt2/model.safetensors": bytes(range(256)) * 40,  # 10,240 bytes
    "gpt2/vocab.json": b'{"!": 0, "\\"": 1}',
    "gpt2/merges.txt": b"#version: 0.2\n\xc4\xa0 t\n",
}


def fake_gpt2(monkeypatch, serve, *, resume_min: int | None = None) -> dict[str, str]:
    """Point the gpt2 entry at FAKE_GPT2 on the local server; return path -> URL."""
    urls = {rel: serve(f"/{rel}", body) for rel, body in FAKE_GPT2.items()}
    specs = tuple(data.FileSpec(rel, sha(body), len(body), (urls[rel],))
                  for rel, body in FAKE_GPT2.items())
    monkeypatch.setitem(data.CORPORA, "gpt2",
                        dataclasses.replace(data.CORPORA["gpt2"], files=specs))
    if resume_min is not None:
        monkeypatch.setattr(fetch_mod, "_RESUME_MIN_BYTES", resume_min)
    return urls


def test_fetch_gpt2_by_name_downloads_verifies_and_caches(monkeypatch, serve, server, capsys):
    fake_gpt2(monkeypatch, serve)
    assert not data.is_available("gpt2")
    assert data.main(["fetch", "gpt2"]) == 0
    out = capsys.readouterr().out
    for rel, body in FAKE_GPT2.items():
        assert (cache_root() / rel).read_bytes() == body
        assert str(cache_root() / rel) in out
    assert data.is_available("gpt2")
    assert data.path("gpt2") == cache_root() / "gpt2"
    assert data.main(["fetch", "gpt2"]) == 0  # cached: no second download
    assert all(server.hits[f"/{rel}"] == 1 for rel in FAKE_GPT2)
    with pytest.raises(ValueError, match="pretrained model .* data.path"):
        data.load("gpt2")


def test_fetch_without_names_leaves_the_model_out(tmp_path, monkeypatch, serve, server,
                                                   capsys):
    fake_gpt2(monkeypatch, serve)
    install(monkeypatch, tmp_path, "tinyshakespeare", {"tinyshakespeare/input.txt": b"text"})
    # Not monkeypatch.delitem: its undo puts the entries back at the end of the dict, and a
    # later test in this process compares the CLI's order (the registry's) with the dict's.
    saved = dict(data.CORPORA)
    try:
        for name in saved:
            if name not in ("tinyshakespeare", "gpt2"):
                del data.CORPORA[name]
        assert data.main(["fetch"]) == 0
    finally:
        data.CORPORA.clear()
        data.CORPORA.update(saved)
    out = capsys.readouterr().out
    assert "tinyshakespeare:" in out
    assert "gpt2: not fetched" in out and "python -m book.data fetch gpt2" in out
    assert sum(server.hits.values()) == 0
    assert not data.is_available("gpt2")


def test_the_registry_order_survives_the_test_above():
    assert list(data.CORPORA) == [c.name for c in data.corpora()]
    assert list(data.CORPORA)[:2] == ["tinyshakespeare", "bbc_news"]


def test_cli_lists_the_model_with_its_licence(monkeypatch, serve, capsys):
    fake_gpt2(monkeypatch, serve)
    assert data.main(["list"]) == 0
    block = capsys.readouterr().out.split("\ngpt2  ")[1].split("\n\n")[0]
    assert block.startswith("(model, 10.3 kB, 3 files)")
    assert "Modified MIT" in block and "pretrained model" in block
    assert "not yet downloaded (optional: `python -m book.data fetch gpt2`)" in block
    assert data.main(["fetch", "gpt2"]) == 0
    capsys.readouterr()
    assert data.main(["list"]) == 0
    assert f"found: cache: {cache_root() / 'gpt2'}" in capsys.readouterr().out


def test_is_available_never_downloads_and_checks_the_bytes(tmp_path, monkeypatch, serve):
    fake_gpt2(monkeypatch, serve)

    def no_download(*args, **kw):
        """Stands in for the downloader: any call fails the test."""
        raise AssertionError("is_available must not download")

    monkeypatch.setattr(fetch_mod, "_download", no_download)
    assert not data.is_available("gpt2")  # nothing anywhere
    for rel, body in FAKE_GPT2.items():
        (cache_root() / rel).parent.mkdir(parents=True, exist_ok=True)
        (cache_root() / rel).write_bytes(body)
    assert data.is_available("gpt2")
    weights = cache_root() / "gpt2/model.safetensors"
    weights.write_bytes(b"\0" * len(FAKE_GPT2["gpt2/model.safetensors"]))  # same size, wrong
    assert not data.is_available("gpt2")
    assert weights.exists()  # a check, not a repair: the file is left for fetch to replace
    weights.unlink()
    mirror = tmp_path / "mirror"
    (mirror / "gpt2").mkdir(parents=True)
    (mirror / "gpt2/model.safetensors").write_bytes(FAKE_GPT2["gpt2/model.safetensors"])
    monkeypatch.setenv(data.ENV_MIRROR, str(mirror))
    assert data.is_available("gpt2")  # weights in the mirror, tokenizer in the cache


@needs_mirror
def test_is_available_with_the_real_registry(real_mirror):
    """With the course mirror and an empty cache, every corpus is available; GPT-2 only if
    someone put it in the mirror (the course's mirror does not hold it)."""
    for c in data.corpora("corpus"):
        assert data.is_available(c.name), c.name
    gpt2_in_mirror = all((real_mirror / f.path).is_file() for f in data.CORPORA["gpt2"].files)
    assert data.is_available("gpt2") == gpt2_in_mirror
    with pytest.raises(ValueError, match="unknown corpus"):
        data.is_available("gpt-2")


# ------------------------------------------------------------------------------------------
# Resumable downloads (large files: the GPT-2 weights)
# ------------------------------------------------------------------------------------------

BIG_REL = "gpt2/model.safetensors"
BIG = bytes(range(256)) * 40


def partial_of(rel: str) -> Path:
    """Where the cache keeps the part of an interrupted resumable download of rel."""
    return cache_root() / f"{rel}.partial"


def test_an_interrupted_large_download_resumes_where_it_stopped(monkeypatch, serve, server):
    monkeypatch.setattr(fetch_mod, "_RESUME_MIN_BYTES", 1000)
    cut = serve("/cut", BIG, "truncate")  # sends half, then hangs up
    with pytest.raises(data.DataError, match="download interrupted"):
        data.fetch_file(BIG_REL, sha(BIG), [cut], size=len(BIG), progress=False)
    assert partial_of(BIG_REL).read_bytes() == BIG[: len(BIG) // 2]
    assert not (cache_root() / BIG_REL).exists() and part_files() == []

    good = serve("/good", BIG, "range")
    got = data.fetch_file(BIG_REL, sha(BIG), [good], size=len(BIG), progress=True)
    assert got.read_bytes() == BIG
    assert server.ranges["/good"] == [f"bytes={len(BIG) // 2}-"]
    assert not partial_of(BIG_REL).exists()


def test_a_resumed_download_falls_to_the_next_url_in_the_same_call(monkeypatch, serve, server):
    monkeypatch.setattr(fetch_mod, "_RESUME_MIN_BYTES", 1000)
    cut, good = serve("/cut", BIG, "truncate"), serve("/good", BIG, "range")
    got = data.fetch_file(BIG_REL, sha(BIG), [cut, good], size=len(BIG), progress=False)
    assert got.read_bytes() == BIG
    assert server.ranges["/cut"] == [None] and server.ranges["/good"] == [
        f"bytes={len(BIG) // 2}-"]


def test_a_server_without_ranges_sends_the_whole_file_again(monkeypatch, serve, server):
    monkeypatch.setattr(fetch_mod, "_RESUME_MIN_BYTES", 1000)
    partial_of(BIG_REL).parent.mkdir(parents=True)
    partial_of(BIG_REL).write_bytes(BIG[:3000])
    plain = serve("/plain", BIG)  # ignores Range: 200 and every byte
    got = data.fetch_file(BIG_REL, sha(BIG), [plain], size=len(BIG), progress=False)
    assert got.read_bytes() == BIG
    assert server.ranges["/plain"] == ["bytes=3000-"]


@pytest.mark.parametrize("problem", ["wrong_bytes", "wrong_range", "too_long"])
def test_a_bad_part_is_deleted_never_continued(monkeypatch, serve, server, problem):
    monkeypatch.setattr(fetch_mod, "_RESUME_MIN_BYTES", 1000)
    partial_of(BIG_REL).parent.mkdir(parents=True)
    start = {"wrong_bytes": b"x" * 3000, "wrong_range": BIG[:3000],
             "too_long": BIG + b"extra"}[problem]
    partial_of(BIG_REL).write_bytes(start)
    mode = "range_wrong" if problem == "wrong_range" else "range"
    url = serve("/big", BIG, mode)
    if problem == "too_long":  # longer than the file: checked afresh, from byte 0
        got = data.fetch_file(BIG_REL, sha(BIG), [url], size=len(BIG), progress=False)
        assert got.read_bytes() == BIG and server.ranges["/big"] == [None]
        return
    with pytest.raises(data.DataError) as err:
        data.fetch_file(BIG_REL, sha(BIG), [url], size=len(BIG), progress=False)
    what = "checksum mismatch" if problem == "wrong_bytes" else "the server sent the range"
    assert what in str(err.value)
    assert not partial_of(BIG_REL).exists() and not (cache_root() / BIG_REL).exists()
    # The next try starts from the first byte and succeeds.
    got = data.fetch_file(BIG_REL, sha(BIG), [serve("/good", BIG, "range")], size=len(BIG),
                          progress=False)
    assert got.read_bytes() == BIG and server.ranges["/good"] == [None]


def test_a_part_past_the_end_of_the_servers_file_is_deleted(monkeypatch, serve, server):
    monkeypatch.setattr(fetch_mod, "_RESUME_MIN_BYTES", 1000)
    partial_of(BIG_REL).parent.mkdir(parents=True)
    partial_of(BIG_REL).write_bytes(BIG[:3000])
    url = serve("/short", BIG[:2000], "range")  # the server's file is shorter than the part
    with pytest.raises(data.DataError, match="HTTP 416"):
        data.fetch_file(BIG_REL, sha(BIG), [url], size=len(BIG), progress=False)
    assert server.ranges["/short"] == ["bytes=3000-"]
    assert not partial_of(BIG_REL).exists()


def test_ctrl_c_during_a_large_download_keeps_the_part(monkeypatch, serve, server):
    monkeypatch.setattr(fetch_mod, "_RESUME_MIN_BYTES", 1000)
    body = bytes(range(256)) * 800  # 204,800 bytes: several reads of at most 64 KiB
    calls = []

    def clock() -> float:
        """The download's clock; the user presses Ctrl-C after the first chunk."""
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return 0.0

    monkeypatch.setattr(fetch_mod, "_clock", clock)
    url = serve("/big", body, "range")
    with pytest.raises(KeyboardInterrupt):
        data.fetch_file(BIG_REL, sha(body), [url], size=len(body), progress=False)
    kept = partial_of(BIG_REL).read_bytes()
    assert 0 < len(kept) < len(body) and body.startswith(kept)
    assert part_files() == [] and not (cache_root() / BIG_REL).exists()
    got = data.fetch_file(BIG_REL, sha(body), [url], size=len(body), progress=False)
    assert got.read_bytes() == body
    assert server.ranges["/big"] == [None, f"bytes={len(kept)}-"]


def test_small_files_are_not_resumed(serve):
    """Below the threshold an interrupted download leaves nothing (as for every corpus)."""
    assert not fetch_mod.resumable(len(BIG), None)
    cut = serve("/cut", BIG, "truncate")
    with pytest.raises(data.DataError, match="download interrupted"):
        data.fetch_file(BIG_REL, sha(BIG), [cut], size=len(BIG), progress=False)
    assert not partial_of(BIG_REL).exists() and part_files() == []
    assert fetch_mod.resumable(fetch_mod._RESUME_MIN_BYTES, None)
    assert not fetch_mod.resumable(fetch_mod._RESUME_MIN_BYTES, "zip content digest")


def test_gpt2_fetch_resumes_through_the_cli(monkeypatch, serve, server, capsys):
    fake_gpt2(monkeypatch, serve, resume_min=1000)
    weights = "gpt2/model.safetensors"
    server.routes[f"/{weights}"] = ("truncate", FAKE_GPT2[weights])
    assert data.main(["fetch", "gpt2"]) == 1
    assert "download interrupted" in capsys.readouterr().err
    assert partial_of(weights).stat().st_size == len(FAKE_GPT2[weights]) // 2
    assert not data.is_available("gpt2")
    server.routes[f"/{weights}"] = ("range", FAKE_GPT2[weights])
    assert data.main(["fetch", "gpt2"]) == 0
    assert server.ranges[f"/{weights}"][-1] == f"bytes={len(FAKE_GPT2[weights]) // 2}-"
    assert data.is_available("gpt2") and not partial_of(weights).exists()


# ------------------------------------------------------------------------------------------
# Loaders, on small generated files with the real files' quirks
# ------------------------------------------------------------------------------------------

ATTR = "CC-BY 2.0 (France) Attribution: tatoeba.org #{} (CM) & #{} (Martha)"


def toy_cmn() -> tuple[bytes, list[tuple[str, str]]]:
    """A BOM, a blank line at the end, zero-width spaces, and shared sentences on both sides."""
    rows = [("Hi.", "嗨。"), ("Hi.", "你好。"), ("Hello!", "你好。"),  # one group of three
            ("Run.", "你用跑的。"), ("Stop!", "住\u200b手！")]
    rows += [(f"Sentence {i}.", f"句子{i}。") for i in range(60)]
    lines = [f"{en}\t{zh}\t{ATTR.format(i, 1000 + i)}" for i, (en, zh) in enumerate(rows)]
    return ("\ufeff" + "\n".join(lines) + "\n\n").encode("utf-8"), rows


def test_load_cmn_eng_quirks_and_grouped_split(tmp_path, monkeypatch):
    body, rows = toy_cmn()
    assert body.startswith(b"\xef\xbb\xbf") and body.endswith(b"\n\n")
    install(monkeypatch, tmp_path, "cmn_eng", {"cmn_eng/cmn.txt": body})
    d = data.load("cmn_eng", progress=False, val_fraction=0.2, test_fraction=0.2, seed=3)
    assert isinstance(d, data.TranslationData)
    pairs = d.train + d.val + d.test
    assert len(pairs) == len(rows) == 65
    assert all(isinstance(p, data.SentencePair) for p in pairs)
    assert sorted((p.english, p.chinese) for p in pairs) == sorted(
        (en, zh.replace("\u200b", "")) for en, zh in rows)
    assert not any("\ufeff" in x or "\u200b" in x or not x for p in pairs for x in p)
    by_pair = {(p.english, p.chinese): p for p in pairs}
    assert by_pair["Hi.", "嗨。"].attribution == ATTR.format(0, 1000)
    assert by_pair["Stop!", "住手！"].attribution == ATTR.format(4, 1004)
    english, chinese = (tuple({getattr(p, k) for p in s} for s in (d.train, d.val, d.test))
                        for k in ("english", "chinese"))
    for sets in (english, chinese):  # no sentence on either side is in two splits
        assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sum("你好。" in s for s in chinese) == 1
    # 63 groups: 0.2 of them in each of val and test.
    assert len(english[1]) in (13, 14, 15) and len(english[2]) in (13, 14, 15)
    # Deterministic, seeded, and in file order within a split.
    again = data.load("cmn_eng", progress=False, val_fraction=0.2, test_fraction=0.2, seed=3)
    assert again == d
    assert data.load("cmn_eng", progress=False, val_fraction=0.2, test_fraction=0.2,
                     seed=4).test != d.test
    order = [en for en, _ in rows]
    assert [order.index(p.english) for p in d.train] == sorted(
        order.index(p.english) for p in d.train)
    with pytest.raises(ValueError, match="val_fraction"):
        data.load("cmn_eng", progress=False, val_fraction=0.6, test_fraction=0.5)


def test_load_cmn_eng_rejects_a_line_without_attribution(tmp_path, monkeypatch):
    install(monkeypatch, tmp_path, "cmn_eng",
            {"cmn_eng/cmn.txt": "\ufeffHi.\t嗨。\tCC-BY\nBye.\t再见。\n".encode()})
    with pytest.raises(data.DataError, match="line 2: expected 3 tab-separated fields"):
        data.load("cmn_eng", progress=False)


TOY_TRAIN = ("@paulwalk\tO\nIt\tO\n's\tO\nthe\tO\nEmpire\tB-location\nState\tI-location\n"
             "\t\n"  # a lone TAB ends a sentence, as 2,394 times in wnut17train.conll
             "From\tO\nGoogle\tB-corporation\n"
             "\n"
             "Star\tB-creative-work\nWars\tI-creative-work\n\n")
TOY_DEV = "Stabilized\tO\napproach\tO\n\n😂\tO\nMessi\tB-person\n\n"
TOY_TEST = "&\tO\ngt\tO\n\n"
WNUT_FILES = ("wnut17/wnut17train.conll", "wnut17/emerging.dev.conll",
              "wnut17/emerging.test.annotated")


def test_load_wnut17_sentence_breaks_and_tags(tmp_path, monkeypatch):
    bodies = (TOY_TRAIN, TOY_DEV, TOY_TEST)
    install(monkeypatch, tmp_path, "wnut17",
            {rel: b.encode() for rel, b in zip(WNUT_FILES, bodies)})
    d = data.load("wnut17", progress=False)
    assert isinstance(d, data.TaggingData)
    assert [len(d.train), len(d.val), len(d.test)] == [3, 2, 1]
    assert d.train[0] == data.TaggedSentence(
        ("@paulwalk", "It", "'s", "the", "Empire", "State"),
        ("O", "O", "O", "O", "B-location", "I-location"))
    tokens, tags = d.train[1]  # unpacks as (tokens, tags)
    assert tokens == ("From", "Google") and tags == ("O", "B-corporation")
    assert d.val[1].tokens == ("😂", "Messi")
    assert d.test[0].tokens == ("&", "gt")
    assert all(t and t.strip() == t for s in d.train + d.val + d.test for t in s.tokens)
    assert d.tag_names == data.WNUT17_TAGS
    assert data.WNUT17_TAGS[:3] == ("O", "B-corporation", "I-corporation")
    assert len(data.WNUT17_TAGS) == 13 and data.WNUT17_TAGS[-1] == "I-product"


@pytest.mark.parametrize("bad", ["Google\tB-company\n", "two\tO\tO\n", "lonely\n"])
def test_load_wnut17_rejects_malformed_lines(tmp_path, monkeypatch, bad):
    bodies = (TOY_TRAIN + bad, TOY_DEV, TOY_TEST)
    install(monkeypatch, tmp_path, "wnut17",
            {rel: b.encode() for rel, b in zip(WNUT_FILES, bodies)})
    with pytest.raises(data.DataError, match="wnut17train.conll line 14"):
        data.load("wnut17", progress=False)


TOY_CONLLU = """# newdoc id = toy
# sent_id = toy-0001
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t4:nsubj\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t4:aux\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t4:advmod\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_

# sent_id = toy-0002
# text = Go home
1\tGo\tgo\tVERB\tVB\t_\t0\troot\t0:root\t_
1.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t0:root\tCopyOf=1
2\thome\thome\tADV\tRB\t_\t1\tadvmod\t1:advmod\t_

"""


def test_load_ud_skips_multiword_tokens_and_empty_nodes(tmp_path, monkeypatch):
    test_part = TOY_CONLLU.split("\n\n")[1] + "\n\n"
    install(monkeypatch, tmp_path, "ud_english_ewt", {
        "ud_english_ewt/en_ewt-ud-dev.conllu": TOY_CONLLU.encode(),
        "ud_english_ewt/en_ewt-ud-test.conllu": test_part.encode(),
        "ud_english_ewt/LICENSE.txt": b"CC BY-SA 4.0",
    })
    d = data.load("ud_english_ewt", progress=False)
    assert isinstance(d, data.TreebankData)
    assert d.dev == [
        data.TaggedSentence(("I", "do", "n't", "know", "."),
                            ("PRON", "AUX", "PART", "VERB", "PUNCT")),
        data.TaggedSentence(("Go", "home"), ("VERB", "ADV")),
    ]
    assert d.test == d.dev[1:]
    assert d.tag_names == data.UPOS_TAGS and len(data.UPOS_TAGS) == 17


def test_load_ud_rejects_unknown_tags_and_short_lines(tmp_path, monkeypatch):
    for bad, match in [(TOY_CONLLU.replace("\tPRON\t", "\tPRONOUN\t"), "line 4: .*UPOS"),
                       (TOY_CONLLU.replace("\t_\t4\tnsubj\t4:nsubj\t_", ""), "line 4: .*10")]:
        install(monkeypatch, tmp_path / str(len(match)), "ud_english_ewt", {
            "ud_english_ewt/en_ewt-ud-dev.conllu": bad.encode(),
            "ud_english_ewt/en_ewt-ud-test.conllu": TOY_CONLLU.encode(),
            "ud_english_ewt/LICENSE.txt": b"x",
        })
        with pytest.raises(data.DataError, match=match):
            data.load("ud_english_ewt", progress=False)


def test_sst2_full_sentences_respect_word_boundaries():
    texts = ["the film is fine", "the film", "film is", "fine", "then again", "the",
             "is fine .", "a film", "a film", "fine ."]
    # "the" is a word of "the film" (not only a prefix of "then"); "fine" ends "the film is
    # fine"; "a film" is duplicated but inside nothing longer; "fine ." is in "is fine .".
    assert data.sst2_full_sentences(texts) == ["the film is fine", "then again", "is fine .",
                                               "a film"]
    index = loaders_mod._SpanIndex(["the film is fine"])
    assert index.is_span("the film is fine") and index.is_span("film is")
    assert not index.is_span("the fil") and not index.is_span("fine .")
    assert not index.in_longer("the film is fine") and index.in_longer("is fine")


def toy_sst2() -> tuple[bytes, bytes, dict[str, int]]:
    """60 sentences with their phrases, each row ending with GLUE's space before the TAB."""
    labels: dict[str, int] = {}
    for i in range(60):
        words = f"movie{i} was {'good' if i % 3 else 'bad'} and long{i} .".split()
        for a in range(len(words)):  # the sentence and every phrase of it
            for b in range(a + 1, len(words) + 1):
                labels.setdefault(" ".join(words[a:b]), int(i % 3 != 0))
    train = "sentence\tlabel\n" + "".join(f"{s} \t{y}\n" for s, y in labels.items())
    dev = "sentence\tlabel\nit 's good . \t1\nit 's bad . \t0\n"
    return train.encode(), dev.encode(), labels


def test_load_sst2_holds_out_full_sentences_and_all_their_phrases(tmp_path, monkeypatch):
    train_b, dev_b, labels = toy_sst2()
    install(monkeypatch, tmp_path, "sst2", {"sst2/train.tsv": train_b, "sst2/dev.tsv": dev_b})
    d = data.load("sst2", progress=False, test_size=10, seed=1)
    assert isinstance(d, data.TextClassificationData)
    assert d.class_names == ["negative", "positive"] == data.SST2_CLASSES
    assert d.val.texts == ["it 's good .", "it 's bad ."] and d.val.labels == [1, 0]
    assert len(d.test) == 10 and len(set(d.test.texts)) == 10
    for text, label in zip(d.test.texts, d.test.labels):
        assert text.startswith("movie") and text.endswith(" .") and labels[text] == label
    test_spans = {" ".join(w[a:b]) for t in d.test.texts for w in [t.split()]
                  for a in range(len(w)) for b in range(a + 1, len(w) + 1)}
    assert not test_spans & set(d.train.texts)
    # Everything else stays: phrases of the other 50 sentences, unless a test sentence has them.
    assert set(d.train.texts) == set(labels) - test_spans
    # A phrase that a test sentence shares with training sentences goes too.
    assert "was good and" in test_spans and "was good and" not in d.train.texts
    assert any("was good and" in t for t in d.train.texts)
    assert not any(t != t.strip() for t in d.train.texts + d.test.texts + d.val.texts)
    assert all(labels[t] == y for t, y in zip(d.train.texts, d.train.labels))
    again = data.load("sst2", progress=False, test_size=10, seed=1)
    assert (again.train, again.val, again.test) == (d.train, d.val, d.test)
    assert data.load("sst2", progress=False, test_size=10, seed=2).test != d.test
    with pytest.raises(ValueError, match="test_size"):
        data.load("sst2", progress=False, test_size=60)
    assert data.load_options("sst2") == {"test_size": 1821, "seed": 0}


def test_load_sst2_rejects_a_bad_header_or_row(tmp_path, monkeypatch):
    _, dev_b, _ = toy_sst2()
    for train, match in [(b"text\tlabel\nfine \t1\n", "header"),
                         (b"sentence\tlabel\nfine \t1\nbad \tneg\n", "line 3")]:
        install(monkeypatch, tmp_path / match, "sst2",
                {"sst2/train.tsv": train, "sst2/dev.tsv": dev_b})
        with pytest.raises(data.DataError, match=match):
            data.load("sst2", progress=False)


def test_chapter6_load_options():
    assert data.load_options("cmn_eng") == {"val_fraction": 0.1, "test_fraction": 0.1,
                                            "seed": 0}
    assert data.load_options("wnut17") == {} == data.load_options("ud_english_ewt")
    assert data.load_options("gpt2") == {}
    with pytest.raises(TypeError, match="wnut17 corpus takes no options"):
        data.load("wnut17", seed=1)


# ------------------------------------------------------------------------------------------
# The real corpora, from the local mirror
# ------------------------------------------------------------------------------------------


@needs_mirror
def test_real_cmn_eng(real_mirror):
    d = data.load("cmn_eng")
    pairs = d.train + d.val + d.test
    assert (len(d.train), len(d.val), len(d.test)) == (23_360, 2_896, 2_899)
    assert len(pairs) == 29_155
    attribution = {(p.english, p.chinese): p.attribution for p in pairs}
    assert attribution["Hi.", "嗨。"] == ("CC-BY 2.0 (France) Attribution: tatoeba.org #538123 "
                                         "(CM) & #891077 (Martha)")
    assert len({p.english for p in pairs}) == 27_661  # 27,662 if the BOM were kept
    assert not any("\ufeff" in x or "\u200b" in x or not x.strip() for p in pairs for x in p)
    assert all(p.attribution.startswith("CC-BY 2.0 (France) Attribution: tatoeba.org #")
               for p in pairs)
    assert sum("\u3000" in p.chinese for p in pairs) == 3  # ideographic spaces are text: kept
    for k in ("english", "chinese"):
        a, b, c = ({getattr(p, k) for p in s} for s in (d.train, d.val, d.test))
        assert not (a & b or a & c or b & c), k
    again = data.load("cmn_eng")
    assert again == d


@needs_mirror
def test_real_wnut17(real_mirror):
    d = data.load("wnut17")
    expected = {  # sentences, tokens, then entities per type (the mirror README's table)
        "train": (3394, 62_730, {"person": 660, "location": 548, "group": 264,
                                 "creative-work": 140, "corporation": 221, "product": 142}),
        "val": (1009, 15_733, {"person": 470, "location": 74, "group": 39, "creative-work": 105,
                               "corporation": 34, "product": 114}),
        "test": (1287, 23_394, {"person": 429, "location": 150, "group": 165,
                                "creative-work": 142, "corporation": 66, "product": 127}),
    }
    for split, (n_sent, n_tok, entities) in expected.items():
        sents = getattr(d, split)
        assert len(sents) == n_sent, split
        assert sum(len(s.tokens) for s in sents) == n_tok, split
        got = Counter(t[2:] for s in sents for t in s.tags if t.startswith("B-"))
        assert got == entities, split
        for s in sents:
            assert len(s.tokens) == len(s.tags) > 0
            assert all(t and t.strip() == t and "\t" not in t for t in s.tokens)
            for prev, tag in zip(("O",) + s.tags, s.tags):  # BIO: I-x follows B-x or I-x
                assert not tag.startswith("I-") or prev[2:] == tag[2:]
    assert d.train[0].tokens[:2] == ("@paulwalk", "It")
    assert d.test[0].tokens[:2] == ("&", "gt")
    # wc -l of the dev file: a line per token and an empty line after each sentence.
    assert sum(len(s.tokens) for s in d.val) + len(d.val) == 16_742


@needs_mirror
def test_real_sst2_sizes_balance_and_no_leak(real_mirror):
    d = data.load("sst2")
    assert (len(d.train), len(d.val), len(d.test)) == (47_986, 872, 1_821)
    assert Counter(d.val.labels) == {1: 444, 0: 428}
    assert Counter(d.test.labels) == {1: 968, 0: 853}
    assert Counter(d.train.labels) == {1: 26_492, 0: 21_494}
    assert d.val.texts[0] == "it 's a charming and often affecting journey ."
    assert not any(t != t.strip() or "\t" in t for t in d.train.texts + d.val.texts)

    # Independently of the loader's index: every span of every test sentence, by brute force.
    spans = set()
    for t in d.test.texts:
        w = t.split(" ")
        spans.update(" ".join(w[a:b]) for a in range(len(w)) for b in range(a + 1, len(w) + 1))
    assert not spans & set(d.train.texts)
    train_texts, train_labels = loaders_mod._read_sst2(real_mirror / "sst2/train.tsv", "train")
    assert len(train_texts) == 67_349 and len(set(train_texts)) == 66_978
    kept = Counter(d.train.texts)
    assert all(kept[t] == 0 for t in spans)
    assert sum(t not in spans for t in train_texts) == len(d.train)  # nothing else removed


@needs_mirror
def test_real_sst2_test_sentences_are_full_sentences(real_mirror):
    """Full = not a run of words inside a longer train string, checked by listing spans."""
    texts, _ = loaders_mod._read_sst2(real_mirror / "sst2/train.tsv", "train")
    inside: set[str] = set()
    full = []
    for s in sorted(set(texts), key=lambda s: -s.count(" ")):  # longest first
        if s in inside:
            continue
        full.append(s)  # not inside any longer string: its own spans are listed now
        w = s.split(" ")
        inside.update(" ".join(w[a:b]) for a in range(len(w))
                      for b in range(a + 1, len(w) + 1) if b - a < len(w))
    assert len(full) == 6_885
    assert set(data.sst2_full_sentences(texts)) == set(full)
    d = data.load("sst2")
    assert set(d.test.texts) <= set(full)


@needs_mirror
def test_real_sst2_dev_overlap_is_as_documented(real_mirror):
    """The counts the loader's docstring reports about GLUE's dev sentences and train."""
    texts, _ = loaders_mod._read_sst2(real_mirror / "sst2/train.tsv", "train")
    dev, _ = loaders_mod._read_sst2(real_mirror / "sst2/dev.tsv", "dev")
    train_set = set(texts)
    assert not set(dev) & train_set
    in_train = loaders_mod._SpanIndex(list(train_set))
    assert sorted(s for s in dev if in_train.in_longer(s)) == ["bad .", "very bad ."]
    in_dev = loaders_mod._SpanIndex(dev)
    shared = {s for s in train_set if in_dev.is_span(s)}
    assert len(shared) == 1_578
    assert sum(t in shared for t in texts) == 1_769  # rows
    assert max(len(s.split()) for s in shared) == 7
    assert sum(len(s.split()) <= 2 for s in shared) == 1_446
    doc = loaders_mod._load_sst2.__doc__ or ""
    for number in ("1,578", "1,769", "1,446", "47,986", "19,363", "6,885"):
        assert number in doc


@needs_mirror
def test_real_ud_english_ewt(real_mirror):
    d = data.load("ud_english_ewt")
    assert (len(d.dev), len(d.test)) == (2_001, 2_077)
    assert sum(len(s.tokens) for s in d.dev) == 25_147
    assert sum(len(s.tokens) for s in d.test) == 25_094
    for s in d.dev + d.test:
        assert len(s.tokens) == len(s.tags) > 0 and all(s.tokens)
        assert set(s.tags) <= set(data.UPOS_TAGS)
    assert d.dev[0].tokens[0] == "From" and d.dev[0].tags[0] == "ADP"
    dev_tags = Counter(t for s in d.dev for t in s.tags)
    assert set(dev_tags) == set(data.UPOS_TAGS)
    assert (dev_tags["NOUN"], dev_tags["PUNCT"], dev_tags["X"]) == (4_210, 3_075, 59)


@needs_mirror
@pytest.mark.parametrize("name", CH6)
def test_real_chapter6_corpora_load_twice_the_same(real_mirror, name):
    assert data.load(name) == data.load(name)
