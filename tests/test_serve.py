"""tools/serve.py: the site served as a web host serves it, text compressed with gzip."""

from __future__ import annotations

import gzip
import threading
import urllib.error
import urllib.request

import pytest
from site_tools import load_tool

serve = load_tool("serve")


@pytest.fixture
def served(tmp_path):
    (tmp_path / "index.html").write_text("<p>" + "hello " * 2000 + "</p>", encoding="utf-8")
    (tmp_path / "app.js").write_text("console.log(1);\n" * 500, encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG" + bytes(range(256)) * 8)
    server = serve.make_server(tmp_path, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _get(url: str, gzip_ok: bool):
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return response.headers, response.read()


@pytest.mark.parametrize("name", ["index.html", "app.js"])
def test_text_is_sent_gzipped_to_a_browser_that_accepts_it(served, name):
    folder, base = served
    headers, body = _get(f"{base}/{name}", gzip_ok=True)
    assert headers["Content-Encoding"] == "gzip"
    assert int(headers["Content-Length"]) == len(body) < (folder / name).stat().st_size / 5
    assert gzip.decompress(body) == (folder / name).read_bytes()


def test_plain_bytes_for_a_client_without_gzip_and_for_images(served):
    folder, base = served
    headers, body = _get(f"{base}/app.js", gzip_ok=False)
    assert headers["Content-Encoding"] is None and body == (folder / "app.js").read_bytes()
    headers, body = _get(f"{base}/image.png", gzip_ok=True)
    assert headers["Content-Encoding"] is None and body == (folder / "image.png").read_bytes()


def test_a_missing_file_is_a_404_and_a_missing_folder_a_clear_error(served, tmp_path):
    _, base = served
    with pytest.raises(urllib.error.HTTPError, match="404"):
        _get(f"{base}/nothing.js", gzip_ok=True)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        serve.make_server(tmp_path / "missing")


def test_serving_a_folder_with_no_site_says_how_to_build_it(tmp_path, capsys):
    assert serve.main([str(tmp_path)]) == 1
    assert "make book" in capsys.readouterr().err
