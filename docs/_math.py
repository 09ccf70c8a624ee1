"""mkdocs hook: the formulas of the docs as MathML, rendered when the site is built.

``pymdownx.arithmatex`` (generic mode) wraps each formula as ``<span class="arithmatex">\\(...\\)</span>``
or ``<div class="arithmatex">\\[...\\]</div>``; this hook converts the TeX inside to MathML with
latex2mathml (pure Python) at build time. Browsers draw MathML themselves (MathML Core:
Chromium 109+, Firefox, Safari), so the pages need no script and no network: formulas render
offline, where the MathJax of a CDN did not.
"""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

_FORMULA = re.compile(r'<(?P<tag>span|div) class="arithmatex">\s*(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<block>.*?)\\\])'
                      r'\s*</(?P=tag)>', re.S)


def _mathml(match: re.Match) -> str:
    inline = match.group("inline")
    tex = html.unescape(inline if inline is not None else match.group("block"))
    display = "inline" if inline is not None else "block"
    rendered = convert(tex.strip(), display=display)
    return (f'<span class="arithmatex">{rendered}</span>' if display == "inline"
            else f'<div class="arithmatex">{rendered}</div>')


def render(text: str) -> str:
    """``text`` (a page's HTML) with every arithmatex formula as MathML."""
    return _FORMULA.sub(_mathml, text)


def on_page_content(html_text, page, config, files):  # mkdocs hook
    return render(html_text)
