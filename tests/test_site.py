"""The documentation site in a real browser: built (``make docs``'s
steps), served on localhost and opened in headless Chromium (Debian's
``chromium``); slow, and skipped where MkDocs or Chromium is missing.

To look at the site yourself: ``make docs`` then
``.venv/bin/mkdocs serve`` and open http://127.0.0.1:8000."""

import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("", "api/", "reproduction/", "notebooks/tutorial_soundnet_ctc/")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    if not shutil.which("chromium"):
        pytest.skip("no chromium (apt-get install chromium)")
    out = tmp_path_factory.mktemp("site")
    figures = ROOT / "docs" / "figures"
    shutil.rmtree(figures, ignore_errors=True)
    shutil.copytree(ROOT / "notebooks" / "figures", figures)
    notebooks = ROOT / "docs" / "notebooks"
    shutil.rmtree(notebooks, ignore_errors=True)
    notebooks.mkdir()
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, notebooks)
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                    "--quiet", "--site-dir", str(out)], cwd=ROOT,
                   check=True, capture_output=True, text=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", out
    server.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_pages_render_with_their_images(site, page, tmp_path):
    import matplotlib.image
    url, out = site
    html = urllib.request.urlopen(url + page, timeout=30).read().decode()
    sources = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert sources or page in ("", "api/"), "no picture"
    for src in sources:
        if src.startswith("data:image/png;base64,"):   # a notebook's output
            import base64
            head = base64.b64decode(src.split(",", 1)[1][:12])[:8]
        else:
            head = urllib.request.urlopen(url + page + src,
                                          timeout=30).read(8)
        assert head == b"\x89PNG\r\n\x1a\n", src[:80]
    shot = tmp_path / "page.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1280,1600",
                    f"--screenshot={shot}", url + page], check=True,
                   capture_output=True, timeout=120)
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1280)
    # a rendered page: the theme's header colour and text, not one colour
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
