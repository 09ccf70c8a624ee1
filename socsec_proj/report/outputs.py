"""Everything a run writes for readers, in one call: the charts, ``report.html``, ``results.xlsx``.

The command line calls :func:`write_outputs` once per scenario and :func:`write_comparison`
once per comparison; the NetCDF, the CSV files and ``summary.md`` stay with the command line.
Charts are drawn once: the PNG files written are the ones the HTML page embeds.
:func:`render` draws them (PNG bytes, nothing written), so that the command line can
draw them in a second process (:mod:`.background`) while it writes the tables, the NetCDF and
the workbook, and hand them to :func:`write_outputs` as they are.
"""

from __future__ import annotations

import functools
import io
import math
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputError
from .html import ChartSlot, report_html, write_comparison_report, write_report
from .prices import price_index
from .summary import CHART_END, SCHEME_TITLES, SCHEME_TITLES_ZH, SCHEMES
from .workbook import write_workbook

__all__ = ["Chart", "chart_inputs", "chart_plan", "chart_png", "check_chart_end", "comparison_variables",
           "draw_chart_plan", "png", "png_bytes", "render", "write_comparison", "write_outputs"]

#: Variables of the comparison charts, those both projections hold.
COMPARED = ("employee_pension_contributors", "employee_pension_retirees", "system_dependency_ratio",
            *(f"{scheme}_{quantity}" for scheme in SCHEMES for quantity in ("balance", "months_of_reserve")))


def check_chart_end(chart_end, first: int, last: int, *, source="command line", key="--chart-end") -> int:
    """``chart_end`` as an int, if it is a year in ``first + 1 .. last`` (the projected years).

    Raises
    ------
    InputError
        Outside the projection (the command line exits 2), before anything is computed.
    """
    if chart_end is None:
        return CHART_END
    if isinstance(chart_end, bool) or not isinstance(chart_end, int) or not first < chart_end <= last:
        raise InputError(f"{chart_end} is outside the years projected", source=source, key=key,
                         expected=f"a year in {first + 1}..{last}")
    return chart_end


def png(figure, dpi: int = 150) -> bytes:
    """``figure`` as PNG bytes, the drawing freed (a run of many scenarios draws dozens).

    matplotlib draws the pixels (Agg, as for ``savefig(format="png")``); :func:`png_bytes`
    writes the file: the same pixels, RGBA, in 0.4 of the time Pillow takes.
    """
    import matplotlib

    # No hinting: matplotlib 3.11's hinted glyphs cost ~1.6 ms a text, unhinted ~1.0 (20 % of a
    # run's chart time); at 150 dpi the two look alike. Read when the text is drawn, i.e. here.
    buffer = io.BytesIO()
    _canvas()(figure)  # the figure's canvas from here on (FigureCanvasBase sets it)
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):
        figure.savefig(buffer, format="rgba", dpi=dpi)
        # Agg's canvas is the figure's size at ``dpi``, each side truncated (``RendererAgg``)
        width, height = (int(size) for size in figure.get_size_inches() * dpi)
        pixels = buffer.getbuffer()
        if len(pixels) != 4 * width * height:  # not the canvas expected: matplotlib writes the file
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
            _release(figure)
            return buffer.getvalue()
    _release(figure)
    return png_bytes(pixels, width, height, dpi)


def _release(figure) -> None:
    """Free a drawn figure's artists, unless :func:`~.plots.reused_figures` keeps it for the next chart."""
    from .plots import is_reused

    if not is_reused(figure):
        figure.clear()


_RENDERERS = threading.local()


#: Renderers kept per thread (one per canvas size; a run's charts have three sizes) and glyph
#: layouts kept per renderer (a run's 14 charts have 178 different texts).
KEPT_RENDERERS, KEPT_LAYOUTS = 8, 4096
#: Glyph bitmaps a renderer keeps (a few hundred bytes each; a run's charts use a few hundred).
KEPT_BITMAPS = 20000
#: matplotlib versions whose Agg ``draw_text`` :func:`_canvas` repeats with a cached glyph layout
#: (it calls private methods of ``RendererAgg``; other versions draw text as they come).
LAYOUT_CACHED_MATPLOTLIB = ("3.11.",)


@functools.cache
def _canvas():
    """An Agg canvas whose renderer is shared by the figures of one size drawn on one thread.

    matplotlib caches each text's extent (the layout of its glyphs, 0.4-0.7 ms) per renderer,
    and every figure gets a renderer of its own: the 14 charts of a run measured 2,176 texts,
    of 180 different ones, 501 times. One renderer per canvas size (a run has three) carries the
    cache from chart to chart. Agg clears the renderer's pixels before each drawing.

    matplotlib 3.11's Agg lays a text's glyphs out again each time it draws it (``_layout``,
    506 times for 178 different texts, font and size): the renderer keeps those layouts too.
    The layout does not depend on where the text goes (glyph offsets from its origin), so the
    glyphs drawn are the same, pixel for pixel.
    """
    import matplotlib
    from matplotlib.backends import backend_agg
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

    class LayoutCachingRenderer(RendererAgg):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._layouts = {}
            self._bitmaps = {}
            self._heights = {}

        def _get_font_height_metrics(self, prop):
            """The font's ascent, descent and line gap at this renderer's dpi [pixels], as
            matplotlib 3.11's ``Text._get_layout`` works them out when the renderer has no
            such method (its font looked up and two of its tables read for every text it lays
            out: ~5 % of a chart), kept per font and size."""
            from matplotlib.font_manager import fontManager, get_font

            key = (tuple(prop.get_family()), prop.get_style(), prop.get_variant(), prop.get_weight(),
                   prop.get_stretch(), prop.get_size_in_points(), prop.get_file(), prop.get_math_fontfamily(),
                   self.dpi)
            kept = self._heights.get(key)
            if kept is None:
                font = get_font(fontManager._find_fonts_by_props(prop))
                kept = (None, None, None)
                for name, gap, ascent, descent in (("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
                                                   ("hhea", "lineGap", "ascent", "descent")):
                    table = font.get_sfnt_table(name)
                    if table is None:
                        continue
                    scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * prop.get_size_in_points() * self.dpi / 72
                    kept = (table[ascent] * scale, -table[descent] * scale, table[gap] * scale)
                    break
                self._heights[key] = kept
            return kept

        def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
            if ismath:
                return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            font = self._prepare_font(prop)  # as RendererAgg.draw_text, the layout kept
            features = mtext.get_fontfeatures() if mtext is not None else None
            language = mtext.get_language() if mtext is not None else None
            flags = backend_agg.get_hinting_flag()
            size = prop.get_size_in_points()
            key = (s, id(font), size, self.dpi, flags, None if features is None else tuple(features), language)
            kept = self._layouts.get(key)
            if kept is None or kept[0] is not font:
                if len(self._layouts) >= KEPT_LAYOUTS:  # a long session's texts: start afresh
                    self._layouts.clear()
                kept = self._layouts[key] = (font, font._layout(s, flags=flags, features=features,
                                                                language=language))
            self._draw_glyphs(gc, x, y, angle, size, flags, kept[1])

        def _draw_glyphs(self, gc, x, y, angle, size, flags, items):
            """``RendererAgg._draw_text_glyphs_and_boxes`` of one text's glyphs (upright, no boxes),
            each glyph's bitmap rendered once per font, size, angle and position within a pixel.

            FreeType draws a glyph moved by whole pixels as the same bitmap moved by as many
            (its position is a translation in 1/64 pixel of the outline before it is rasterised),
            so a bitmap is kept by the position's fraction (the low 6 bits) and placed by its
            whole pixels: the same pixels as rendering it again, and the 14 charts of a run draw
            ~7,800 glyphs of a few hundred bitmaps (FreeType's rendering was 0.25 s of them)."""
            cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            antialiased = gc.get_antialiased()
            mode = backend_agg.RenderMode.NORMAL if antialiased else backend_agg.RenderMode.MONO
            matrix = None
            bitmaps = self._bitmaps
            height = self.height
            for item in items:
                font = item.ft_object
                dx, dy = item.x, item.y
                # as matplotlib rounds them: the glyph's origin in 1/64 pixel, FreeType's y upwards
                px = round(0x40 * (x + dx * cos - dy * sin))
                py = round(0x40 * (height - y + dx * sin + dy * cos))
                key = (id(font), size, self.dpi, item.glyph_index, angle, px & 0x3F, py & 0x3F, flags, antialiased)
                kept = bitmaps.get(key)
                if kept is None or kept[0] is not font:
                    if matrix is None:
                        matrix = (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int)  # no slant, no stretch
                    if len(bitmaps) >= KEPT_BITMAPS:
                        bitmaps.clear()
                    font.set_size(size, self.dpi)
                    font._set_transform(matrix, [px & 0x3F, py & 0x3F])
                    bitmap = font._render_glyph(item.glyph_index, flags, mode)
                    buffer = np.array(bitmap.buffer)  # a copy: the bitmap's memory is FreeType's
                    if not antialiased:
                        buffer *= 0xff
                    kept = bitmaps[key] = (font, buffer, bitmap.left, bitmap.top)
                _font, buffer, left, top = kept
                # draw_text_image's y is downwards and the bitmap's bottom side
                self._renderer.draw_text_image(buffer, left + (px >> 6), int(height) - (top + (py >> 6))
                                               + buffer.shape[0], 0, gc)

    cached = (matplotlib.__version__.startswith(LAYOUT_CACHED_MATPLOTLIB)
              and all(hasattr(RendererAgg, name) for name in ("_prepare_font", "_draw_text_glyphs_and_boxes"))
              and hasattr(backend_agg, "get_hinting_flag") and hasattr(backend_agg, "RenderMode"))
    renderer_class = LayoutCachingRenderer if cached else RendererAgg

    class SharedRendererCanvas(FigureCanvasAgg):
        def get_renderer(self):
            width, height = self.get_width_height(physical=True)
            key = width, height, self.figure.dpi
            renderers = _RENDERERS.__dict__.setdefault("by_size", {})
            if key not in renderers:
                while renderers and len(renderers) >= KEPT_RENDERERS:  # the oldest sizes go (~5 MB of pixels each)
                    del renderers[next(iter(renderers))]
                renderers[key] = renderer_class(width, height, self.figure.dpi)
            self.renderer, self._lastKey = renderers[key], key
            return self.renderer

    return SharedRendererCanvas


#: The PNG file signature.
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def png_bytes(rgba, width: int, height: int, dpi: float) -> bytes:
    """A PNG file of ``height`` rows of ``width`` 8-bit RGBA pixels (``rgba``, row by row, top first).

    The chunks matplotlib writes (``IHDR``, a ``Software`` text, ``pHYs`` with ``dpi``, ``IDAT``,
    ``IEND``), every row unfiltered and deflated at zlib level 1. Pillow picks one of PNG's five
    filters per row by trying each (0.03 s a chart, 60 % of its writing); a chart is mostly runs of
    flat colour, which deflate finds as well unfiltered: 0.014 s a chart, files 2-3 % smaller.
    """
    import matplotlib

    rows = np.empty((height, 1 + 4 * width), np.uint8)
    rows[:, 0] = 0  # filter type 0 (none) at the start of each row
    rows[:, 1:] = np.frombuffer(rgba, np.uint8).reshape(height, 4 * width)
    per_metre = int(dpi / 0.0254 + 0.5)  # as Pillow rounds it
    software = f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/".encode("latin-1")
    return b"".join((_SIGNATURE,
                     _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)),
                     _chunk(b"tEXt", b"Software\0" + software),
                     _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
                     _chunk(b"IDAT", zlib.compress(rows, 1)),
                     _chunk(b"IEND", b"")))


def _save(figure, path: Path, dpi: int) -> Path:
    path.write_bytes(png(figure, dpi))
    return path


class Chart:
    """One chart of a plan: ``chart()`` draws its Figure, ``function(*args, **kwargs)``.

    Its arguments are what it is drawn from, so :func:`chart_png` keeps its PNG by them
    (:mod:`.chart_cache`): a plan gives each chart only the variables it reads (:func:`chart_inputs`).
    """

    __slots__ = ("function", "args", "kwargs")

    def __init__(self, function, *args, **kwargs):
        self.function, self.args, self.kwargs = function, args, kwargs

    def __call__(self):
        return self.function(*self.args, **self.kwargs)


def chart_png(draw, dpi: int = 150) -> bytes:
    """The PNG of ``draw()`` (a :class:`Chart`, or any callable giving a Figure): the one kept
    from an earlier drawing of the same chart from the same numbers, else drawn and kept."""
    from . import chart_cache

    chart_key = chart_cache.key(draw.function, draw.args, draw.kwargs, dpi) if isinstance(draw, Chart) else None
    kept = chart_cache.load(chart_key)
    if kept is not None:
        return kept
    image = png(draw(), dpi)
    chart_cache.store(chart_key, image)
    return image


def chart_inputs(ds: xr.Dataset, *prefixes: str, cubes: bool = True) -> xr.Dataset:
    """The part of ``ds`` a chart is drawn from: the variables whose names start with one of
    ``prefixes`` (without those by sex and age unless ``cubes``), every coordinate, and of
    its attributes only the scenario's name (what the charts' subtitles read)."""
    names = [name for name in ds.data_vars if str(name).startswith(prefixes)
             and (cubes or not {"sex", "age"} & set(ds[name].dims))]
    part = ds[names]
    part.attrs = {"scenario": ds.attrs["scenario"]} if "scenario" in ds.attrs else {}
    return part


def _chart_plan(ds: xr.Dataset, prices, end: int, lang: str) -> list:
    """(key, file, English title, Chinese title, draw, variables needed) of every chart of a run."""
    from . import plots

    years = [y for y in (2024, 2050) if y in ds["year"].values] or [int(ds["year"][0]), int(ds["year"][-1])]
    members = ("employee_pension_contributors", "employee_pension_retirees")
    plan = [("population_pyramid", "population_pyramid.png", f"Population pyramid, {' and '.join(map(str, years))}",
             "人口金字塔", Chart(plots.population_pyramid, chart_inputs(ds, "population"), years=years, lang=lang),
             ("population",)),
            ("contributors_vs_retirees", "contributors_vs_retirees.png",
             "Urban-employee pension: insured workers and pensioners", "城镇职工基本养老保险：参保职工与离退休人员",
             Chart(plots.contributors_vs_retirees, chart_inputs(ds, *members), end=end, lang=lang), members)]
    for scheme in SCHEMES:
        funds = chart_inputs(ds, f"{scheme}_", cubes=False)
        plan.append((f"{scheme}_balance", f"{scheme}_balance.png", f"{SCHEME_TITLES[scheme]}: fund balance",
                     f"{SCHEME_TITLES_ZH[scheme]}：累计结余",
                     Chart(plots.fund_balance, funds, scheme, prices=prices, end=end, lang=lang),
                     (f"{scheme}_balance",)))
        plan.append((f"{scheme}_months_of_reserve", f"{scheme}_months_of_reserve.png",
                     f"{SCHEME_TITLES[scheme]}: months of reserve", f"{SCHEME_TITLES_ZH[scheme]}：可支付月数",
                     Chart(plots.months_of_reserve, funds, scheme, end=end, lang=lang),
                     (f"{scheme}_months_of_reserve",)))
    return [item for item in plan if all(name in ds.data_vars for name in item[5])]


def chart_plan(ds: xr.Dataset, prices, end: int, lang: str | None = None) -> list[tuple]:
    """``(key, file name, title, draw)`` of every chart of one projection, in the order of the page.

    ``draw()`` returns the chart's Figure. ``prices`` is its scenario's price index over
    ``year`` [1] (:func:`~.prices.price_index`), ``end`` the last year drawn, ``lang`` the
    labels' language (see :func:`write_outputs`).
    """
    from .fonts import resolve_language

    lang = resolve_language(lang)
    return [(key, file, title, draw)
            for key, file, title, _title_zh, draw, _needs in _chart_plan(ds, prices, end, lang)]


def draw_chart_plan(draws: xr.Dataset, prices, end: int, lang: str | None = None) -> list[tuple]:
    """The fan chart and the depletion-year histogram of each scheme of a stochastic run
    (``draws``, or its summary; ``prices`` over its years), as :func:`chart_plan`. A summary's fan
    shows every quantile it holds when they pair around the median (the command line's 1 % to
    99.5 %), else the fan's own."""
    from . import plots
    from .fonts import resolve_language

    lang = resolve_language(lang)
    fan = {}
    if "quantile" in draws.dims:
        held = [float(q) for q in draws["quantile"].values]
        if len(held) % 2 == 1 and held[len(held) // 2] == 0.5:
            fan = {"quantiles": tuple(held)}
    plan = []
    for scheme in SCHEMES:
        if f"{scheme}_balance" not in draws.data_vars:
            continue
        plan.append((f"fan:{scheme}", f"{scheme}_fan.png", f"{SCHEME_TITLES[scheme]}: fund balance across draws",
                     lambda scheme=scheme: plots.fan_chart(draws, scheme, prices=prices, end=end, lang=lang, **fan)))
        plan.append((f"depletion:{scheme}", f"{scheme}_depletion_years.png",
                     f"{SCHEME_TITLES[scheme]}: depletion year across draws",
                     lambda scheme=scheme: plots.depletion_histogram(draws, scheme)))
    return plan


#: The plans :mod:`.background` draws by name.
PLANS = {"charts": chart_plan, "draw_charts": draw_chart_plan}


def render(plan: list[tuple], dpi: int = 150) -> list[tuple[str, str, str, bytes]]:
    """``(key, file name, title, PNG bytes)`` of each chart of ``plan`` (:func:`chart_plan`,
    :func:`draw_chart_plan`), drawn here; nothing is written."""
    from .plots import reused_figures

    with reused_figures():
        return [(key, file, title, chart_png(draw, dpi)) for key, file, title, draw in plan]


def practice_projection(end: int = CHART_END) -> tuple[xr.Dataset, xr.DataArray]:
    """A made-up projection with every variable a run's charts read, and a price index.

    All 31 provinces, 2020 to ``end``, the declared units; smooth made-up numbers, of which
    funds that run out in different years (the balance charts pick provinces by that). The
    chart process draws its charts once while it waits for the first real projection
    (:func:`rehearse`). Its numbers mean nothing; nothing drawn from it is kept.
    """
    from ..inputs.provinces import CODES, NAME_EN, NAME_ZH
    from ..variables import SEXES, add

    years = np.arange(2020, int(end) + 1)
    t = np.arange(len(years), dtype=float)
    p = np.arange(len(CODES), dtype=float)[:, None]
    ages = np.arange(101)
    ds = xr.Dataset(coords={"province": list(CODES), "name_zh": ("province", [NAME_ZH[c] for c in CODES]),
                            "name_en": ("province", [NAME_EN[c] for c in CODES]), "year": years},
                    attrs={"scenario": "practice"})
    profile = np.exp(-ages / 60.0)[None, None, :, None] * (1.0 + p[:, :, None, None] / 31.0)   # (P, 1, A, 1)
    people = np.broadcast_to(1e4 * profile * (1.0 - t / 200.0), (len(CODES), len(SEXES), len(ages), len(t)))
    cubes = {"population": people, "employee_pension_contributors": 0.4 * people * (ages < 60)[:, None],
             "employee_pension_retirees": 0.3 * people * (ages >= 60)[:, None]}
    ds = add(ds, cubes, coords={"sex": list(SEXES), "age": ages})
    funds = {}
    for scheme in SCHEMES:
        expenditure = 1e10 * (1.0 + p) * np.ones_like(t)
        balance = 1e11 * (1.0 + p) * (1.0 - t / (8.0 + p))   # province p runs out in year 8 + p
        funds.update({f"{scheme}_expenditure": expenditure, f"{scheme}_balance": balance,
                      f"{scheme}_months_of_reserve": 12.0 * balance / expenditure})
    ds = add(ds, funds)
    prices = xr.DataArray(1.02 ** (years - 2024.0), dims="year", coords={"year": years},
                          attrs={"units": "1", "base_year": 2024})
    return ds, prices


def rehearse(lang: str | None = None, dpi: int = 150, stop=None) -> None:
    """Draw the charts of :func:`practice_projection` once, nothing kept: what a process that
    will draw a run's charts does while it waits for the projection.

    A process's first charts pay for setting up what later ones reuse: Agg's renderer of each
    canvas size, the glyph layouts of the texts they share (years, axis labels, province
    names), and inside :func:`~.plots.reused_figures` each kind's figure and tick objects
    (measured on 2 cores: the 14 charts of a baseline run 1.58-1.99 s of CPU drawn first,
    1.27-1.41 s after the charts of another projection). The pixels of the charts drawn
    afterwards are the same (``tests/test_report.py``).

    ``stop()``, asked before each chart, ends the rehearsal when it is true (the real charts
    have come). The kinds whose first drawing costs most go first: a balance chart (0.23 s the
    first, 0.02-0.03 s the next), a months-of-reserve chart, the members and the pyramid.
    """
    ds, prices = practice_projection()
    plan = chart_plan(ds, prices, int(ds["year"][-1]), lang)
    first = {"employee_pension_balance": 0, "employee_pension_months_of_reserve": 1, "contributors_vs_retirees": 2,
             "population_pyramid": 3}
    for _key, _file, _title, draw in sorted(plan, key=lambda item: first.get(item[0], len(first))):
        if stop is not None and stop():
            return
        png(draw(), dpi)


def chart_draws(draws: xr.Dataset) -> xr.Dataset:
    """The part of a stochastic run its charts read (the balances, with every coordinate; of a
    summary also China's balance and the depletion years it keeps): what the command line sends
    to the process drawing them."""
    read = [f"{scheme}_{part}" for scheme in SCHEMES if f"{scheme}_balance" in draws.data_vars
            for part in ("balance", "balance_national", "depletion_year", "national_depletion_year")]
    return draws[[name for name in read if name in draws.data_vars]]


def last_chart_year(ds: xr.Dataset, chart_end: int = CHART_END) -> int:
    """The last year the charts and tables of ``ds`` show: ``chart_end``, or ``ds``'s last year before it."""
    return min(int(chart_end), int(ds["year"].values[-1]))


def _result(charts):
    # charts drawn here, or pending in a second process (anything with ``result()``)
    return charts.result() if hasattr(charts, "result") else charts


def write_outputs(ds: xr.Dataset, scenario, folder, *, chart_end: int = CHART_END, draws: xr.Dataset | None = None,
                  lang: str | None = None, dpi: int = 150, workbook: bool = True,
                  sets: dict[str, xr.Dataset] | None = None, tables: dict | None = None,
                  charts=None, draw_charts=None) -> dict[str, str]:
    """Write one scenario's charts (PNG), ``report.html`` and ``results.xlsx`` into ``folder``.

    Parameters
    ----------
    ds : xarray.Dataset
        The projection.
    scenario : Scenario
        The scenario it ran (its CPI deflates the charts and tables to 2024 prices; its
        changes, targets and parameters go into the report).
    folder : str or Path
        An existing folder (the command line's staging folder).
    chart_end : int, default 2060
        Last year of the charts and balance tables (see :func:`check_chart_end`).
    draws : xarray.Dataset, optional
        A stochastic run of the same scenario: fan charts and depletion-year histograms
        (``{scheme}_fan.png``, ``{scheme}_depletion_years.png``) and the distribution of
        depletion years in the report.
    lang : {"en", "zh", "both"}, optional
        Chart labels; None for both languages when a CJK font is installed, else English.
    dpi : int, default 150
    workbook : bool, default True
        Whether to write ``results.xlsx``.
    sets : dict of str to xarray.Dataset, optional
        The three assumption sets' projections, for the report's table of their depletion years.
    tables : dict of str to pandas.DataFrame, optional
        ``tidy_tables(ds)`` when the caller already has them (the command line's CSV files).
    charts, draw_charts : list or pending result, optional
        :func:`render` of :func:`chart_plan` of ``ds`` (and of :func:`draw_chart_plan` of ``draws``) when the
        caller has drawn them, or an object whose ``result()`` gives them (the command line's
        second process); None to draw them here.

    Returns
    -------
    dict of str to str
        ``{chart title: file name}`` of the charts written, for ``summary.md``'s links.
    """
    folder = Path(folder)
    prices = price_index(scenario, ds["year"].values)
    end = last_chart_year(ds, chart_end)
    if charts is None:
        charts = render(chart_plan(ds, prices, end, lang), dpi)
    if draws is not None and draw_charts is None:
        draw_charts = render(draw_chart_plan(draws, price_index(scenario, draws["year"].values), end, lang), dpi)
    if workbook:  # first: it needs no chart, which may still be being drawn elsewhere
        write_workbook(ds, folder / "results.xlsx", scenario, tables=tables)
    for pending in (charts, draw_charts):  # everything else is written: a helper draws from here on
        if hasattr(pending, "help"):
            pending.help()
    # the page built while the charts may still be being drawn, when it is known which they are
    # (0.08-0.09 s of a baseline run's 0.1, off the time after the last chart)
    entries = [_entries(charts), _entries(draw_charts) if draws is not None else []]
    keys = None if None in entries else [key for key, _file, _title in [*entries[0], *entries[1]]]
    page = None if keys is None else report_html(ds, scenario, charts={key: ChartSlot(key) for key in keys},
                                                 draws=draws, prices=prices, chart_end=end, sets=sets)
    written, files = {}, {}
    for key, file, title, image in [*_result(charts), *(_result(draw_charts) if draws is not None else ())]:
        files[key] = folder / file
        files[key].write_bytes(image)
        written[title] = file
    if list(files) != keys:
        page = None  # not the charts the page was built for (cannot happen, but a page must show what is there)
    write_report(ds, scenario, folder, page=page, charts=files, draws=draws, prices=prices, chart_end=end, sets=sets)
    return written


def _entries(charts) -> list[tuple[str, str, str]] | None:
    """``(key, file name, title)`` of each chart of ``charts`` (drawn, or pending elsewhere), in
    their order; None while it is not known yet."""
    if hasattr(charts, "entries"):
        return charts.entries()
    return None if charts is None else [(key, file, title) for key, file, title, _image in charts]


def comparison_variables(ds_a: xr.Dataset, ds_b: xr.Dataset) -> list[str]:
    """The variables of :data:`COMPARED` both projections hold."""
    return [name for name in COMPARED if name in ds_a.data_vars and name in ds_b.data_vars]


def write_comparison(ds_a: xr.Dataset, ds_b: xr.Dataset, scenario_a, scenario_b, folder, *,
                     chart_end: int = CHART_END, lang: str | None = None, dpi: int = 150) -> dict[str, str]:
    """Write a comparison's charts (``compare_<variable>.png``) and its ``report.html`` into ``folder``.

    Money is in each scenario's own 2024 prices (its own CPI); the charts end at ``chart_end``.

    Returns
    -------
    dict of str to str
        ``{chart title: file name}``, for ``comparison.md``'s links.
    """
    from . import plots
    from .fonts import resolve_language

    folder = Path(folder)
    lang = resolve_language(lang)
    datasets = {scenario_a.name: ds_a, scenario_b.name: ds_b}
    prices = {scenario.name: price_index(scenario, ds["year"].values)
              for scenario, ds in ((scenario_a, ds_a), (scenario_b, ds_b))}
    end = min(int(chart_end), int(ds_a["year"].values[-1]), int(ds_b["year"].values[-1]))
    written, files = {}, {}
    for variable in comparison_variables(ds_a, ds_b):
        file = f"compare_{variable}.png"
        files[variable] = _save(plots.scenario_comparison(datasets, variable, prices=prices, end=end, lang=lang),
                                folder / file, dpi)
        written[plots.variable_title(variable)] = file
    write_comparison_report(ds_a, ds_b, scenario_a, scenario_b, folder, charts=files)
    return written
