"""``report.html``: one self-contained, bilingual page of a projection, for policy staff.

The page opens in any browser without a network and without a Markdown viewer: charts are
embedded as data-URI PNG, the styles are inline, there is no script, and a Content Security
Policy (``default-src 'none'; img-src data:; style-src 'unsafe-inline'``) forbids the browser
to fetch anything, so nothing the page shows can come from elsewhere. Every text is there in
Chinese and English; a switch at the top (plain HTML radio buttons and CSS) shows both, only
Chinese or only English. Province names are given in both languages.

What a run's page holds: the scenario and what it changes, a headline table, each fund's
depletion year and balances by province in 2024 prices with its charts, the plan-target
checks, the parameters behind each fund (value, unit, reference, those the scenario changed
marked), for a stochastic run the distribution of depletion years and the fan charts, and
the provenance (package version, the scenario's content hash, the date).
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from ..outputs import file_in_place
from ..provenance import provenance
from .prices import PRICE_BASE_YEAR, to_base_prices
from .summary import (
    CHART_END,
    SCHEME_TITLES,
    SCHEME_TITLES_ZH,
    SCHEMES,
    _number,
    _year,
    aggregate,
    assumption_sets,
    depletion_years,
    headline_figures,
    target_checks,
)

__all__ = ["CONTENT_SECURITY_POLICY", "FUND_PARAMETERS", "comparison_html", "depletion_distribution",
           "report_html", "write_comparison_report", "write_report"]

#: Nothing may be fetched: images only from data: URIs, styles only inline, no scripts.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

#: The parameter groups behind each fund (``params/parameters/<group>/``), listed in its section.
FUND_PARAMETERS = {
    "population": ("demography", "labour"),
    "employee_pension": ("employee_pension", "retirement", "economy"),
    "resident_pension": ("resident_pension", "economy"),
    "unemployment": ("unemployment", "economy"),
    "injury": ("injury", "economy"),
    "employee_medical": ("employee_medical", "economy"),
    "resident_medical": ("resident_medical", "economy"),
}

#: Years of the balance tables (those inside the projection and up to the chart's end).
TABLE_YEARS = (2024, 2030, 2035, 2040, 2050, 2060, 2070, 2080, 2090, 2100)

#: Money in the tables: 亿元 (100 million yuan), the unit of Chinese fund statistics.
YI = 1e8

_NATIONAL_COUNT = 31

_STYLE = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:0;
color:#1d1d1d;background:#fafafa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:0 1.2em 3em}
header.switch{position:sticky;top:0;background:#1f3b5c;color:#fff;padding:.45em 1.2em;z-index:2}
header.switch label{margin-right:1.2em;cursor:pointer}
h1{font-size:1.6em;margin:.8em 0 .2em}h2{border-bottom:2px solid #1f3b5c;padding-bottom:.15em;margin-top:1.8em}
h3{margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em;background:#fff}
th,td{border:1px solid #d0d7de;padding:.25em .55em;vertical-align:top}th{background:#e8eef4;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:bold;background:#f3f6f9}
.no{color:#b00020;font-weight:bold}.yes{color:#1b6e20}.changed{background:#fff4d6}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #e0e0e0;background:#fff}
figcaption{font-size:.9em;color:#555}
.note{color:#555;font-size:.9em}
footer{margin-top:2.5em;font-size:.85em;color:#555;border-top:1px solid #ccc;padding-top:.6em}
#lang-zh:checked~main [lang=en],#lang-en:checked~main [lang=zh-CN]{display:none}
#lang-both:checked~main span[lang=zh-CN]::before{content:" · "}
#lang-both:checked~main th span[lang=zh-CN]::before,#lang-both:checked~main td span[lang=zh-CN]::before{content:"";display:block}
"""


# --------------------------------------------------------------------------------------------
# Small pieces
# --------------------------------------------------------------------------------------------


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _t(en: str, zh: str) -> str:
    """An inline text in both languages; the switch shows one or both."""
    return f'<span lang="en">{_e(en)}</span><span lang="zh-CN">{_e(zh)}</span>'


def _p(en: str, zh: str, cls: str = "") -> str:
    """A paragraph in both languages (each its own block)."""
    attr = f' class="{cls}"' if cls else ""
    return f'<p lang="zh-CN"{attr}>{_e(zh)}</p><p lang="en"{attr}>{_e(en)}</p>'


def _table(header, rows, numeric=(), row_classes=None) -> str:
    """An HTML table; ``header`` and cells are HTML already (escape with :func:`_e`)."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = []
    for index, row in enumerate(rows):
        cls = f' class="{row_classes[index]}"' if row_classes and row_classes[index] else ""
        cells = "".join(f'<td class="n">{cell}</td>' if column in numeric else f"<td>{cell}</td>"
                        for column, cell in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class ChartSlot:
    """A chart's place in a page built before the chart is drawn (:func:`fill_charts` puts it in)."""

    __slots__ = ("key",)

    def __init__(self, key: str):
        self.key = key

    @property
    def token(self) -> str:
        # NUL: in no text of the page (HTML escaping leaves it, but no label, name or number has one)
        return f"\0chart:{self.key}\0"


_SLOT = re.compile("\0chart:([^\0]*)\0")


def fill_charts(page: str, charts: Mapping) -> str:
    """``page`` (built with :class:`ChartSlot` values for its charts) with each slot's chart in it,
    from ``charts``: ``{key: PNG bytes or path}``; the page :func:`report_html` gives with ``charts``."""
    parts = _SLOT.split(page)
    parts[1::2] = [_image(charts[key]) for key in parts[1::2]]
    return "".join(parts)


def _image(data) -> str:
    """A PNG as a data URI: ``data`` is the PNG's bytes or the path of a PNG file."""
    if isinstance(data, ChartSlot):
        return data.token
    raw = data if isinstance(data, (bytes, bytearray)) else Path(data).read_bytes()
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def _figure(data, en: str, zh: str) -> str:
    return (f'<figure><img src="{_image(data)}" alt="{_e(en)} / {_e(zh)}">'
            f"<figcaption>{_t(en, zh)}</figcaption></figure>")


def _province_names(ds: xr.Dataset, code) -> tuple[str, str]:
    """``("Guangdong (CN-GD)", "广东（CN-GD）")``; ``national`` for None."""
    if code is None:
        return "national", "全国"
    code = str(code)
    if "name_en" in ds.coords and code in ds["province"].values:
        at = ds.indexes["province"].get_loc(code)  # a position, not a .sel: tables name every province
        en = str(ds["name_en"].values[at])
        zh = str(ds["name_zh"].values[at]) if "name_zh" in ds.coords else en
        return f"{en} ({code})", f"{zh}（{code}）"
    return code, code


def _province(ds: xr.Dataset, code) -> str:
    """A province's name in the page's languages, with its code."""
    return _t(*_province_names(ds, code))


def _place_names(ds: xr.Dataset) -> tuple[str, str]:
    n = ds.sizes["province"]
    if n == _NATIONAL_COUNT:
        return "China as a whole (all 31 provinces)", "全国（31个省份）"
    if n == 1:
        return _province_names(ds, ds["province"].values[0])
    return f"the {n} provinces together", f"{n}个省份合计"


def _units(unit: str) -> str:
    zh = {"million persons": "百万人", "persons": "人", "1": "比值", "ratio": "比值", "months": "月",
          "billion CNY": "十亿元", "CNY": "元"}.get(unit, unit)
    return _t("ratio" if unit == "1" else unit, zh)


def _money(value: float) -> str:
    """Yuan as 亿元 (100 million), no decimals below a thousand 亿元 needs none either."""
    return _number(value / YI, 0 if abs(value) >= 1e11 else 1)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _switch() -> str:
    return ('<input type="radio" name="lang" id="lang-both" checked hidden>'
            '<input type="radio" name="lang" id="lang-zh" hidden>'
            '<input type="radio" name="lang" id="lang-en" hidden>'
            '<header class="switch"><label for="lang-both">中文 + English</label>'
            '<label for="lang-zh">中文</label><label for="lang-en">English</label></header>')


def _scope(ds: xr.Dataset, scenario) -> str:
    description = " ".join(str(getattr(scenario, "description", None) or ds.attrs.get("description", "")).split())
    first, last = int(ds["year"].values[0]), int(ds["year"].values[-1])
    parts = []
    if description:  # scenario files describe themselves in English: shown in both views
        parts.append(f'<p>{_e(description)}</p>')
    changes = getattr(scenario, "changes", None) or {}
    if scenario is not None:
        items = []
        for path, entries in changes.items():
            dated = [f"{value} from {key}" for key, value in entries.items() if key != "provinces"]
            for code, values in (entries.get("provinces") or {}).items():
                dated += [f"{value} in {code} from {key}" for key, value in values.items()]
            items.append(f"<li><code>{_e(path)}</code>: {_e('; '.join(dated))}</li>")
        if items:
            parts.append(_p("Changes to current law and the central outlook:", "相对现行政策与中方案的改动：")
                         + f"<ul>{''.join(items)}</ul>")
        else:
            parts.append(_p("Changes to current law and the central outlook: none.", "相对现行政策与中方案的改动：无。"))
    place_en, place_zh = _place_names(ds)
    parts.append(_p(f"Years projected: {first}–{last}; figures are for {place_en}.",
                    f"预测年份：{first}–{last}年；以下数字为{place_zh}。"))
    return "".join(parts)


def _headline_section(ds: xr.Dataset) -> str:
    years, figures = headline_figures(ds)
    rows = [[_t(row["label"], row["label_zh"]), _units(row["unit"]),
             *(_number(value, row["digits"]) for value in row["values"])] for row in figures]
    header = [_t("indicator", "指标"), _t("unit", "单位"), *map(str, years)]
    return (f"<h2>{_t('Headline figures', '主要指标')}</h2>"
            + _table(header, rows, numeric=set(range(2, 2 + len(years)))))


def _fund_overview(ds: xr.Dataset, schemes) -> str:
    depletion = depletion_years(ds, national=True)
    last = int(ds["year"].values[-1])
    rows = []
    for scheme in schemes:
        years = depletion[scheme]
        provincial = years.drop("total").dropna()
        first = (f"{_province(ds, provincial.idxmin())}, {int(provincial.min())}" if len(provincial)
                 else _t("none", "无"))
        rows.append([_t(SCHEME_TITLES[scheme], SCHEME_TITLES_ZH[scheme]), _never(years["total"], last),
                     f"{len(provincial)} / {ds.sizes['province']}", first])
    header = [_t("scheme", "险种"), _t("balance first below zero (provinces pooled)", "累计结余首次为负（合计）"),
              _t(f"provinces below zero by {last}", f"{last}年前结余为负的省份"),
              _t("first province below zero", "最早为负的省份")]
    return _table(header, rows, numeric={1, 2})


def _never(year, last: int) -> str:
    return _t(f"not by {last}", f"{last}年前不耗尽") if year is None or not np.isfinite(year) else _year(year)


def _balance_table(ds: xr.Dataset, scheme: str, prices, end: int, depletion=None, provinces=None) -> str:
    """The table of one scheme's balances; ``depletion`` (:func:`depletion_years` of ``ds``, national)
    and ``provinces`` (:func:`_province` of each) when the caller has them for every scheme."""
    name = f"{scheme}_balance"
    years = [y for y in TABLE_YEARS if y in ds["year"].values and y <= end]
    balance = to_base_prices(ds[name], prices)
    total = to_base_prices(aggregate(ds, name), prices)
    depleted = (depletion_years(ds, national=True) if depletion is None else depletion)[scheme].tolist()
    provinces = [_province(ds, code) for code in ds["province"].values] if provinces is None else provinces
    last = int(ds["year"].values[-1])
    # one selection of the table's years, then plain floats (a .sel per cell cost ~1 s a run)
    values = balance.sel(year=years).transpose("province", "year").values.tolist()
    rows, classes = [], []
    for province, row, year in zip(provinces, values, depleted):  # the provinces in order, then "total"
        rows.append([province, *(_money(value) for value in row), _never(year, last)])
        classes.append("")
    if ds.sizes["province"] > 1:
        rows.append([_t("total", "合计"), *(_money(value) for value in total.sel(year=years).values.tolist()),
                     _never(depleted[-1], last)])
        classes.append("total")
    prices_en = f"{PRICE_BASE_YEAR} prices" if prices is not None else "nominal"
    prices_zh = f"{PRICE_BASE_YEAR}年价格" if prices is not None else "名义值"
    header = [_t("province", "省份"), *map(str, years), _t("first year below zero", "首次为负年份")]
    return ("<p>" + _t(f"Accumulated balance at the end of the year [100 million CNY, {prices_en}]",
                       f"年末累计结余［亿元，{prices_zh}］") + "</p>"
            + _table(header, rows, numeric=set(range(1, len(years) + 2)), row_classes=classes))


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _parameter_rows(scenario, groups) -> list[list[str]]:
    parameters = getattr(scenario, "parameters", None)
    if parameters is None:
        return []
    changed = set(getattr(scenario, "changes", None) or {})
    rows = []
    for path in parameters.paths():
        if path.split(".", 1)[0] not in groups:
            continue
        parameter = parameters.get(path)
        meta = parameter.metadata
        dated = [f"{date}: {_format_value(value)}" for date, value in parameter.values]
        shown = "; ".join(dated[-4:]) + (" …" if len(dated) > 4 else "")
        own = parameter.provinces
        if own:
            shown += " " + (f"(own values in {len(own)} province{'s' if len(own) != 1 else ''}: "
                            f"{', '.join(list(own)[:5])}{', …' if len(own) > 5 else ''})")
        mark = " ★" if path in changed else ""
        rows.append([f"<code>{_e(path)}</code>{mark}", _e(meta.label), _e(shown), _e(meta.unit),
                     _e(str(meta.reference)), "changed" if path in changed else ""])
    return rows


def _assumptions(scenario, key: str) -> str:
    rows = _parameter_rows(scenario, FUND_PARAMETERS[key])
    if not rows:
        return ""
    classes = [row.pop() for row in rows]
    header = [_t("parameter", "参数"), _t("label", "名称"), _t("values (from date)", "取值（起始日期）"),
              _t("unit", "单位"), _t("reference", "依据")]
    return (f"<h3>{_t('Assumptions', '主要假设')}</h3>"
            + _p("★ = changed by this scenario. Values hold from their date until the next.",
                 "★ = 本情景修改的参数。各取值自所列日期起适用，直至下一日期。", "note")
            + _table(header, rows, row_classes=classes))


def _targets_section(ds: xr.Dataset, scenario) -> str:
    checks = target_checks(ds, scenario) if scenario is not None else None
    title = f"<h2>{_t('Plan targets', '规划目标')}</h2>"
    if checks is None or checks.empty:
        return title + "<p>" + _t("The scenario sets no plan targets.", "本情景未设定规划目标。") + "</p>"
    rows, met_count = [], 0
    for check in checks.itertuples(index=False):
        met = {True: f'<span class="yes">{_t("yes", "达到")}</span>',
               False: f'<span class="no">{_t("no", "未达到")}</span>', None: "–"}[check.met]
        met_count += check.met is True
        digits = 0 if abs(check.target) >= 1000 else 2
        rows.append([f"<code>{_e(check.indicator)}</code>", _province(ds, check.province), str(check.year),
                     f"{_e(check.rule)} {_number(check.target, digits)}", _number(check.projected, digits),
                     (_number(check.ratio * 100, 0) + " %") if not math.isnan(check.ratio) else "–", met,
                     _e(check.source + (f" ({check.note})" if check.note else ""))])
    header = [_t("indicator", "指标"), _t("where", "地区"), _t("year", "年份"), _t("target", "目标"),
              _t("projected", "预测值"), _t("projected / target", "预测/目标"), _t("met", "是否达到"),
              _t("source", "来源")]
    return (title + "<p>" + _t(f"{met_count} of {len(checks)} targets met.", f"{len(checks)}项目标中达到{met_count}项。")
            + "</p>" + _table(header, rows, numeric={2, 3, 4, 5}))


#: Chinese names of the assumption sets.
_SET_NAMES_ZH = {"high_cost": "高成本方案", "baseline": "中间方案（基准）", "low_cost": "低成本方案"}


def _sets_section(sets: Mapping[str, xr.Dataset]) -> str:
    table = assumption_sets(sets)
    years = [c.split("_")[1] for c in table.columns if c.startswith("balance_")]
    rows = []
    for name, row in table.iterrows():
        label = _t(f"{name}" + (" (intermediate)" if name == "baseline" else ""), _SET_NAMES_ZH.get(name, name))
        rows.append([label, _never(row["depletion_year"], int(row["horizon"])),
                     *(_number(row[f"balance_{y}"], 2) for y in years)])
    header = [_t("assumption set", "假设方案"), _t("balance first below zero", "累计结余首次为负"),
              *(_t(f"balance {y} (trillion CNY, nominal)", f"{y}年累计结余（万亿元，名义）") for y in years)]
    return (f"<h3>{_t('Urban-employee pension under the three assumption sets', '三套假设下的城镇职工基本养老保险')}</h3>"
            + _p("high_cost and low_cost move wage growth, indexation, the fund's return and flexible retirement "
                 "together against and for the funds (params/SOURCES.md). Quote a depletion year with the other two.",
                 "高成本与低成本方案同时向不利和有利于基金的方向调整工资增长、养老金调整、基金收益和弹性退休假设。"
                 "引用耗尽年份时请同时给出另外两套方案的结果。", "note")
            + _table(header, rows, numeric=set(range(1, 2 + len(years)))))


def depletion_distribution(draws: xr.Dataset, scheme: str, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95)) -> dict:
    """The depletion year of the provinces pooled across stochastic draws.

    Draws whose fund never falls below zero within the projection count as after its last
    year, so a quantile that falls among them is "after the horizon", not a year.

    Returns
    -------
    dict
        ``draws`` (count), ``never`` (draws not depleted by the horizon), ``horizon`` [year],
        ``quantiles``: ``{q: year or None}`` (None: after the horizon).
    """
    from ..funds.measures import depletion_year

    years = np.asarray(depletion_year(draws, scheme, national_total=True).values, dtype=float).ravel()
    horizon = int(draws["year"].values[-1])
    later = np.where(np.isfinite(years), years, horizon + 1)
    values = np.quantile(later, quantiles, method="inverted_cdf") if later.size else []
    return {"draws": int(years.size), "never": int(np.sum(~np.isfinite(years))), "horizon": horizon,
            "quantiles": {q: (None if v > horizon else int(v)) for q, v in zip(quantiles, values)}}


def _draws_section(draws: xr.Dataset, charts: Mapping) -> str:
    parts = [f"<h2>{_t('Stochastic draws', '随机模拟')}</h2>",
             _p(f"{draws.sizes['draw']:,} draws of fertility, mortality, wage growth, returns, CPI and unemployment. "
                "The year each fund (provinces pooled) first falls below zero, across the draws:",
                f"对生育率、死亡率、工资增长、投资收益、物价和失业率进行{draws.sizes['draw']:,}次随机模拟。"
                "各基金（合计）累计结余首次为负的年份在各次模拟中的分布：")]
    rows = []
    quantiles = (0.05, 0.25, 0.5, 0.75, 0.95)
    for scheme in SCHEMES:
        if f"{scheme}_balance" not in draws.data_vars:
            continue
        found = depletion_distribution(draws, scheme, quantiles)
        cells = [(_t(f"after {found['horizon']}", f"{found['horizon']}年后") if year is None else str(year))
                 for year in found["quantiles"].values()]
        rows.append([_t(SCHEME_TITLES[scheme], SCHEME_TITLES_ZH[scheme]), *cells,
                     f"{100 * found['never'] / max(found['draws'], 1):.0f} %"])
    header = [_t("scheme", "险种"), *(f"{q:.0%}" for q in quantiles),
              _t("draws never below zero", "始终不为负的模拟")]
    parts.append(_table(header, rows, numeric=set(range(1, len(quantiles) + 2))))
    for key, data in charts.items():
        if key.startswith(("fan:", "depletion:")):
            scheme = key.split(":", 1)[1]
            en = f"{SCHEME_TITLES[scheme]}: " + ("fund balance across draws" if key.startswith("fan:")
                                                 else "depletion year across draws")
            zh = f"{SCHEME_TITLES_ZH[scheme]}：" + ("各次模拟的累计结余" if key.startswith("fan:") else "各次模拟的耗尽年份")
            parts.append(_figure(data, en, zh))
    return "".join(parts)


def _provenance_footer(info: dict, scenario) -> str:
    files = ", ".join(Path(f).name for f in (getattr(scenario, "files", ()) or ()))
    return ("<footer>" + _t("Made by", "生成：") + f" socsec_proj {_e(info['version'])} · "
            + _t("scenario content hash", "情景内容哈希") + f" <code>{_e(info['scenario_hash'] or '–')}</code>"
            + (f" ({_e(files)})" if files else "") + " · " + _t("created", "生成时间") + f" {_e(info['created'])}"
            + "<br>" + _t("People at 1 July; flows of the twelve months to 1 July; fund balances at the end of the year. "
                          "Money in the tables in 100 million CNY (亿元).",
                          "人数为7月1日时点数；流量为截至7月1日的12个月；基金结余为年末数。表中金额单位为亿元。")
            + "</footer>")


def _page(title_en: str, title_zh: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title_zh)} · {_e(title_en)}</title><style>{_STYLE}</style></head><body>"
            f"{_switch()}<main><h1>{_t(title_en, title_zh)}</h1>{body}</main></body></html>\n")


# --------------------------------------------------------------------------------------------
# The pages
# --------------------------------------------------------------------------------------------


def report_html(ds: xr.Dataset, scenario=None, *, charts: Mapping | None = None, draws: xr.Dataset | None = None,
                prices: xr.DataArray | None = None, chart_end: int = CHART_END,
                sets: Mapping[str, xr.Dataset] | None = None) -> str:
    """The bilingual, self-contained HTML report of one projection.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection.
    scenario : Scenario, optional
        The scenario it ran: description, changes, targets, the parameters behind each fund.
    charts : mapping, optional
        PNG charts to embed, as bytes or file paths, by key: ``"population_pyramid"``,
        ``"contributors_vs_retirees"``, ``"{scheme}_balance"``, ``"{scheme}_months_of_reserve"``,
        and for draws ``"fan:{scheme}"`` and ``"depletion:{scheme}"``.
    draws : xarray.Dataset, optional
        A stochastic run of the same scenario: adds the depletion-year distribution.
    prices : xarray.DataArray, optional
        The price index (:func:`~socsec_proj.report.prices.price_index`): balances in the
        tables in its base-year prices; None for nominal yuan.
    chart_end : int, default 2060
        Last year of the balance tables.
    sets : mapping of str to xarray.Dataset, optional
        The three assumption sets' projections (``{"high_cost": ..., "baseline": ...,
        "low_cost": ...}``): adds the employee pension's depletion year under each.

    Returns
    -------
    str
        The page (UTF-8 text).
    """
    charts = dict(charts or {})
    info = provenance(ds, scenario)
    name = getattr(scenario, "name", None) or ds.attrs.get("scenario", "projection")
    parts = [_scope(ds, scenario), _headline_section(ds)]
    for key, en, zh in (("population_pyramid", "Population pyramid", "人口金字塔"),
                        ("contributors_vs_retirees", "Insured workers and pensioners", "参保职工与离退休人员")):
        if key in charts:
            parts.append(_figure(charts[key], en, zh))
    schemes = [s for s in SCHEMES if f"{s}_balance" in ds.data_vars]
    parts.append(f"<h2>{_t('Funds', '基金')}</h2>")
    if schemes:
        parts.append(_fund_overview(ds, schemes))
        parts.append(_p("A fund is depleted in the first year its accumulated balance is below zero; months of "
                        "reserve = balance / monthly expenditure (可支付月数).",
                        "累计结余首次低于零的年份即基金耗尽年份；可支付月数 = 累计结余 / 月支出。", "note"))
    else:
        parts.append(_p("Fund results are not part of this projection.", "本预测不含基金结果。"))
    if sets:
        parts.append(_sets_section(sets))
    end = min(int(chart_end), int(ds["year"].values[-1]))
    depletion = depletion_years(ds, national=True) if schemes else None  # once for every scheme's table
    provinces = [_province(ds, code) for code in ds["province"].values]
    for scheme in schemes:
        parts.append(f"<h3>{_t(SCHEME_TITLES[scheme], SCHEME_TITLES_ZH[scheme])}</h3>")
        parts.append(_balance_table(ds, scheme, prices, end, depletion, provinces))
        for suffix, en, zh in (("balance", "accumulated balance", "累计结余"),
                               ("months_of_reserve", "months of reserve", "可支付月数")):
            if f"{scheme}_{suffix}" in charts:
                parts.append(_figure(charts[f"{scheme}_{suffix}"], f"{SCHEME_TITLES[scheme]}: {en}",
                                     f"{SCHEME_TITLES_ZH[scheme]}：{zh}"))
        parts.append(_assumptions(scenario, scheme))
    parts.append(_targets_section(ds, scenario))
    if draws is not None:
        parts.append(_draws_section(draws, charts))
    population = _assumptions(scenario, "population")
    if population:
        parts.append(f"<h2>{_t('Population and labour', '人口与劳动力')}</h2>" + population)
    parts.append(_provenance_footer(info, scenario))
    return _page(f"Projection report: scenario {name}", f"预测报告：情景 {name}", "".join(parts))


def comparison_html(ds_a: xr.Dataset, ds_b: xr.Dataset, scenario_a=None, scenario_b=None, *,
                    charts: Mapping | None = None) -> str:
    """The bilingual, self-contained HTML page comparing scenario B with scenario A.

    Parameters
    ----------
    ds_a, ds_b : xarray.Dataset
        The two projections.
    scenario_a, scenario_b : Scenario, optional
    charts : mapping, optional
        ``{variable: PNG bytes or path}`` of the comparison charts.

    Returns
    -------
    str
        Headline figures under A and B with B - A, each fund's depletion year under A and B,
        the charts, the provenance of both.
    """
    name_a = getattr(scenario_a, "name", None) or ds_a.attrs.get("scenario", "A")
    name_b = getattr(scenario_b, "name", None) or ds_b.attrs.get("scenario", "B")
    parts = []
    for label, name, scenario, ds in (("A", name_a, scenario_a, ds_a), ("B", name_b, scenario_b, ds_b)):
        description = " ".join(str(getattr(scenario, "description", None) or ds.attrs.get("description", "")).split())
        parts.append(f"<p><b>{label} = <code>{_e(name)}</code></b>: {_e(description)}</p>")
    years, figures_a = headline_figures(ds_a)
    _, figures_b = headline_figures(ds_b)
    by_name = {row["variable"]: row for row in figures_b}
    rows = []
    for row in figures_a:
        other = by_name.get(row["variable"])
        if other is None or other["unit"] != row["unit"]:
            continue
        for index, year in enumerate(years):
            a, b = row["values"][index], other["values"][index]
            rows.append([_t(row["label"], row["label_zh"]), _units(row["unit"]), str(year),
                         _number(a, row["digits"]), _number(b, row["digits"]), f"{b - a:+,.{row['digits']}f}"])
    parts.append(f"<h2>{_t('Headline figures', '主要指标')}</h2>" + _table(
        [_t("indicator", "指标"), _t("unit", "单位"), _t("year", "年份"), f"A: {_e(name_a)}", f"B: {_e(name_b)}", "B − A"],
        rows, numeric={2, 3, 4, 5}))
    depletion_a, depletion_b = depletion_years(ds_a, national=True), depletion_years(ds_b, national=True)
    last_a, last_b = int(ds_a["year"].values[-1]), int(ds_b["year"].values[-1])
    rows = [[_t(SCHEME_TITLES[s], SCHEME_TITLES_ZH[s]), _never(depletion_a[s]["total"], last_a),
             _never(depletion_b[s]["total"], last_b)] for s in depletion_a.columns if s in depletion_b.columns]
    parts.append(f"<h2>{_t('Funds', '基金')}</h2>" + _table(
        [_t("scheme", "险种"), _t("balance first below zero, A", "累计结余首次为负：A"), "B"], rows, numeric={1, 2}))
    for variable, data in (charts or {}).items():
        parts.append(_figure(data, variable.replace("_", " "), variable))
    for label, ds, scenario in (("A", ds_a, scenario_a), ("B", ds_b, scenario_b)):
        parts.append(_provenance_footer(provenance(ds, scenario), scenario).replace("<footer>", f"<footer>{label}: ", 1))
    return _page(f"Comparison: {name_b} against {name_a}", f"情景比较：{name_b} 对比 {name_a}", "".join(parts))


def _write(text: str, path: Path) -> Path:
    """Write ``text`` to a temporary name beside ``path`` and rename it into place."""
    with file_in_place(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def write_report(ds: xr.Dataset, scenario, folder, *, page: str | None = None, **options) -> Path:
    """Write ``folder/report.html`` (:func:`report_html` with ``options``); returns its path.

    ``page``: the page built beforehand with :class:`ChartSlot` charts, filled in with ``options["charts"]``.
    """
    text = report_html(ds, scenario, **options) if page is None else fill_charts(page, options.get("charts") or {})
    return _write(text, Path(folder) / "report.html")


def write_comparison_report(ds_a: xr.Dataset, ds_b: xr.Dataset, scenario_a, scenario_b, folder, **options) -> Path:
    """Write ``folder/report.html`` of a comparison (:func:`comparison_html`); returns its path."""
    return _write(comparison_html(ds_a, ds_b, scenario_a, scenario_b, **options), Path(folder) / "report.html")
