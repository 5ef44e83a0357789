"""The built documentation site, seen in a real browser: headless Chromium loads pages of
``site/`` (``mkdocs build --strict`` makes it) and reports, after MathJax has run, whether the
math is typeset (no raw ``$$``, ``\\(`` or ``\\[`` left in the page's text, no TeX error, and
typeset equations present where the page has math) and whether every image loaded.

Skipped, with the reason, when Chromium or the built site is missing; with
``MINIRNN_REQUIRE_SITE_CHECK=1`` (set by .ci/run, which installs Chromium and builds the site
first) a missing browser or site fails instead.

How it looks inside: Chromium cannot run a script of ours in someone else's page from the
command line, so the test writes a small page that loads the page under test in an iframe
(``--allow-file-access-from-files`` lets it read the frame), waits for MathJax to finish, and
writes what it found into its own DOM, which ``--dump-dom`` prints.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SITE = Path(__file__).resolve().parents[1] / "site"
REQUIRED = os.environ.get("MINIRNN_REQUIRE_SITE_CHECK") == "1"
COURSE = Path(__file__).resolve().parents[1] / "docs" / "course"
#: (page, whether it must hold typeset math): every notebook of the course, an API page
PAGES = [(f"course/{notebook.stem}/index.html", True)
         for notebook in sorted(COURSE.glob("[0-9][0-9]_*.py"))] + \
    [("api/kernels/index.html", False)]

PROBE = """<!doctype html><html><body>
<iframe id="page" src="%(url)s" style="width:1200px;height:900px"></iframe>
<pre id="result">pending</pre>
<script>
const frame = document.getElementById("page");
function report(result) { document.getElementById("result").textContent = JSON.stringify(result); }
frame.addEventListener("load", async () => {
  try {
    const win = frame.contentWindow, doc = frame.contentDocument;
    const started = () => win.MathJax && win.MathJax.startup && win.MathJax.startup.promise;
    for (let i = 0; i < 200 && !started(); i++) {
      await new Promise(r => setTimeout(r, 50));
    }
    if (win.MathJax && win.MathJax.startup) { await win.MathJax.startup.promise; }
    // the page's text, less code (where a dollar sign is Python, not TeX)
    const body = doc.body.cloneNode(true);
    body.querySelectorAll("pre, code, script, style, mjx-container").forEach(e => e.remove());
    const images = Array.from(doc.images).map(img => ({
      src: img.src.slice(0, 80), ok: img.complete && img.naturalWidth > 0 }));
    report({ mathjax: !!(win.MathJax && win.MathJax.version),
             typeset: doc.querySelectorAll("mjx-container").length,
             errors: doc.querySelectorAll("mjx-merror, [data-mjx-error]").length,
             text: body.textContent, images: images, title: doc.title });
  } catch (error) { report({ failure: String(error) }); }
});
</script></body></html>
"""


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _missing(reason: str):
    if REQUIRED:
        pytest.fail(reason + " (MINIRNN_REQUIRE_SITE_CHECK=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    path = _chromium()
    if path is None:
        _missing("no Chromium on this machine (apt-get install chromium)")
    if not (SITE / "index.html").is_file():
        _missing("the site is not built (mkdocs build --strict)")
    return path


def _render(chromium: str, page: str, tmp_path: Path) -> dict:
    target = SITE / page
    assert target.is_file(), f"the built site has no {page}"
    probe = tmp_path / "probe.html"
    probe.write_text(PROBE % {"url": target.as_uri()}, encoding="utf-8")
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--no-first-run",
               "--allow-file-access-from-files", "--virtual-time-budget=30000",
               f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probe.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    match = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert match, f"Chromium printed no page (exit {done.returncode}): {done.stderr[-2000:]}"
    raw = match.group(1)
    assert raw != "pending", f"{page}: the page never finished loading"
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"),
                         ("&amp;", "&")):
        raw = raw.replace(entity, char)
    return json.loads(raw)


@pytest.mark.parametrize("page,has_math", PAGES, ids=[p for p, _ in PAGES])
def test_page_renders_its_math_and_images(chromium, page, has_math, tmp_path):
    result = _render(chromium, page, tmp_path)
    assert "failure" not in result, result.get("failure")
    assert result["mathjax"], f"{page}: MathJax did not load (it is served from the site)"
    leftovers = [d for d in ("$$", "\\(", "\\[", "\\begin{") if d in result["text"]]
    assert not leftovers, f"{page}: raw TeX left in the text: {leftovers}"
    assert result["errors"] == 0, f"{page}: {result['errors']} TeX errors"
    if has_math:
        assert result["typeset"] >= 10, f"{page}: only {result['typeset']} equations typeset"
        assert not re.search(r"\$[^$\s][^$]*\$", result["text"]), f"{page}: raw $...$ left"
    broken = [image["src"] for image in result["images"] if not image["ok"]]
    assert not broken, f"{page}: broken images: {broken}"
    if page.startswith("course/"):
        assert len(result["images"]) >= 2, f"{page}: the notebook's figures are missing"
