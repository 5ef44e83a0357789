"""MkDocs hooks of the documentation site (mkdocs.yml).

- MathJax is served from the site itself: its single-file bundle ``tex-svg-full.js`` (all TeX
  extensions and the SVG output, no font files to fetch) is taken from the
  ``django-static-mathjax`` package, an unmodified copy of MathJax 3 that the ``docs`` extra
  installs, so the math renders without network access.
- The home page takes README.md's opening (everything before its "## Engines" section) in
  place of the marker ``<!-- README opening -->``, so the two never drift apart.
- The equations written in plain text in DESIGN.md and in the docstrings, such as
  ``[σ, σ, tanh, σ](W_xh x_t + b_xh)``, are text, not links: a bracket followed by a
  parenthesis whose content has a space (and is not a URL with a title) stays as written.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import re
import xml.etree.ElementTree as etree

from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.util import AtomicString
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

MATHJAX_BUNDLE = "es5/tex-svg-full.js"
MATHJAX_DEST = "assets/mathjax/tex-svg-full.js"
README_MARKER = "<!-- README opening -->"
README_END = "\n## Engines"


def _mathjax_bundle() -> Path:
    spec = importlib.util.find_spec("mathjax")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        bundle = Path(folder) / "static" / "mathjax" / MATHJAX_BUNDLE
        if bundle.is_file():
            return bundle
    raise PluginError("MathJax not found: install the docs extra (pip install -e '.[docs]'), "
                      "which brings django-static-mathjax")


def on_files(files, config):
    bundle = _mathjax_bundle()
    files.append(File.generated(config, MATHJAX_DEST, abs_src_path=str(bundle)))
    files.append(File.generated(config, "assets/mathjax/LICENSE",
                                abs_src_path=str(bundle.parents[1] / "LICENSE")))
    return files


def on_page_markdown(markdown, page, config, files):
    if README_MARKER not in markdown:
        return markdown
    readme = (Path(config["config_file_path"]).parent / "README.md").read_text(encoding="utf-8")
    body = readme.split("\n", 1)[1]              # without the "# minirnn" title
    end = body.find(README_END)
    if end < 0:
        raise PluginError(f"README.md has no {README_END.strip()!r} section to end its opening")
    return markdown.replace(README_MARKER, body[:end].strip())


class _EquationBrackets(InlineProcessor):
    """``[a, b](x + y)`` with a space inside the parentheses: the text itself."""

    def handleMatch(self, m, data):
        if re.fullmatch(r'\S+\s+"[^"]*"', m.group(2)):  # [text](url "title"): a real link
            return None, None, None
        span = etree.Element("span")
        span.text = AtomicString(m.group(0))  # not parsed again
        return span, m.start(0), m.end(0)


class EquationBrackets(Extension):
    """Registers ``_EquationBrackets`` before Markdown's own link pattern (priority 160)."""

    def extendMarkdown(self, md):
        pattern = r"\[([^\]\n]*)\]\(([^)\n]*\s[^)\n]*)\)"
        md.inlinePatterns.register(_EquationBrackets(pattern, md), "equation_brackets", 165)


@event_priority(100)  # before mkdocstrings reads the extensions for the docstrings
def on_config(config):
    config.markdown_extensions.append(EquationBrackets())
    return config
