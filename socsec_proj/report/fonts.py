"""A font for Chinese chart labels, found on the system, and a fallback that never draws boxes.

matplotlib's default font (DejaVu Sans) has no CJK glyphs: a Chinese label drawn with it comes
out as empty boxes (tofu). :func:`cjk_font` looks for an installed font that does have them
(Noto Sans CJK, Source Han Sans, WenQuanYi, the Windows and macOS system fonts), checking the
glyphs themselves rather than trusting a name, and registers it with matplotlib even when the
font was installed after matplotlib built its font cache (``apt-get install fonts-noto-cjk``
on a machine that had already run matplotlib). :func:`resolve_language` turns a requested
``"zh"`` or ``"both"`` into ``"en"`` when no such font exists, so the fallback is English
labels, never boxes.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

__all__ = ["LANGUAGES", "cjk_font", "font_family", "has_glyphs", "resolve_language"]

#: Label languages of the charts: English, Chinese, or both (English with the Chinese beside it).
LANGUAGES = ("en", "zh", "both")

#: Families tried first, best first: Simplified-Chinese faces, then any CJK face.
PREFERRED = ("Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Sans SC",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
             "Heiti SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "Droid Sans Fallback")

#: Characters every chart label in Chinese may use; a font must have all of them.
PROBE = "城镇职工基本养老保险基金累计结余可支付月数广东黑龙江新疆内蒙古年价格万亿元人男女"

# File names of CJK fonts, to register fonts installed after matplotlib cached its list.
_FILE_HINTS = ("cjk", "sourcehan", "wqy", "wenquanyi", "msyh", "simhei", "simsun", "pingfang",
               "droidsansfallback", "notosanssc", "hei", "ming", "song")


def has_glyphs(path, text: str = PROBE) -> bool:
    """Whether the font file at ``path`` has a glyph for every character of ``text``."""
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(str(path))
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(ch)) for ch in set(text) if not ch.isspace())


def _register_system_cjk_fonts() -> None:
    from matplotlib import font_manager

    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known and any(hint in Path(path).name.lower() for hint in _FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # an unreadable file: skip it
                continue


def _find(preferred) -> str | None:
    from matplotlib import font_manager

    entries = [e for e in font_manager.fontManager.ttflist if e.style == "normal"]
    by_name: dict[str, list] = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry)
    for name in preferred:
        for entry in by_name.get(name, ()):
            if has_glyphs(entry.fname):
                return name
    for entry in entries:  # any other font with the glyphs (a name we did not think of)
        if any(word in entry.name for word in ("CJK", "Han", "Hei", "Song", "Ming", "Kai", "Chinese")) \
                and has_glyphs(entry.fname):
            return entry.name
    return None


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None when there is none.

    Looked up once per process (about 0.1 s the first time): matplotlib's known fonts first,
    then the system's font folders for CJK fonts matplotlib has not registered yet.
    """
    found = _find(PREFERRED)
    if found is None:
        _register_system_cjk_fonts()
        found = _find(PREFERRED)
    return found


def resolve_language(lang: str | None) -> str:
    """The label language charts can draw: ``lang``, or ``"en"`` without a CJK font.

    Parameters
    ----------
    lang : {"en", "zh", "both"} or None
        None means ``"both"`` when a CJK font is installed, else ``"en"``.

    Raises
    ------
    ValueError
        For any other value.
    """
    if lang is None:
        return "both" if cjk_font() else "en"
    if lang not in LANGUAGES:
        raise ValueError(f"unknown label language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    if lang != "en" and cjk_font() is None:
        warnings.warn("no font with Chinese glyphs is installed (e.g. apt-get install fonts-noto-cjk): "
                      "chart labels fall back to English", stacklevel=2)
        return "en"
    return lang


def font_family(lang: str) -> dict:
    """matplotlib settings for labels in ``lang``: DejaVu Sans, with the CJK font as fallback.

    matplotlib falls back glyph by glyph along the family list, so Latin text keeps DejaVu
    Sans and only the Chinese characters come from the CJK font. The families are named
    outright rather than through ``sans-serif``: a text keeps the families it was created
    with, whereas ``sans-serif`` would be looked up again when the figure is saved, outside
    the settings the chart was drawn with.
    """
    cjk = cjk_font() if lang != "en" else None
    return {"font.family": ["DejaVu Sans", cjk] if cjk else ["DejaVu Sans"]}
