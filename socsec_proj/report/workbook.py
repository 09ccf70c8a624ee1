"""``results.xlsx``: the tidy tables of a projection as one Excel workbook, for policy staff.

One sheet per scheme and one for the population (the tables of
:func:`socsec_proj.report.summary.tidy_tables`, the same as the CSV files), and a first sheet
``about`` that says what the workbook holds and where it came from. Every data sheet has two
header rows, the column names and their units, frozen with the key columns (province code,
Chinese and English names, year) so they stay in view while scrolling; numbers are stored
as numbers (an undefined value, such as a flow of the base year, as an empty cell), so they
sum and chart in Excel without conversion.

XlsxWriter writes the workbook: the ``about`` sheet, formats, column widths, frozen panes and
the header rows. The data rows (some 250,000 cells) are then written into each data sheet's
``<sheetData>`` as plain SpreadsheetML rows built column by column (numbers by ``repr``, which
gives back the same float, strings inline): XlsxWriter's per-cell calls took 2 s of CPU for
them, most of a command-line run's writing, against about a tenth of that here.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import xarray as xr

from ..outputs import file_in_place
from ..provenance import provenance
from .summary import SCHEME_TITLES, tidy_tables

__all__ = ["KEY_UNITS", "write_workbook"]

#: The second header row under the key columns.
KEY_UNITS = {"province": "ISO 3166-2:CN", "name_zh": "省份", "name_en": "province", "sex": "", "year": "year"}

_ABOUT = "about"


def _cell(value):
    """A cell value: numbers as int or float, NaN as None (an empty cell), everything else as text."""
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    return None if value is None else str(value)


def _data_sheet(book, name: str, table, header):
    """The sheet with its column widths, frozen panes and two header rows; its data rows are
    :func:`_rows_xml`, put in after XlsxWriter has written the file."""
    sheet = book.add_worksheet(name[:31])
    keys = [column for column in table.columns if column in KEY_UNITS]
    units = table.attrs.get("units", {})
    for index, column in enumerate(table.columns):
        sheet.set_column(index, index, max(10, min(len(str(column)) + 2, 40)))
    sheet.freeze_panes(2, len(keys))  # below the two header rows, right of the keys
    sheet.write_row(0, 0, list(table.columns), header)
    sheet.write_row(1, 0, [KEY_UNITS.get(column, units.get(column, "")) for column in table.columns], header)
    return sheet


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_cells(values, letters: str, first_row: int) -> list[str]:
    """Each row's cell of one column as SpreadsheetML (``""`` for an empty cell): numbers as
    numbers (integers as integers, floats by ``repr``: the same float read back), NaN empty,
    text inline."""
    rows = range(first_row, first_row + len(values))
    if values.dtype.kind in "iu":
        return [f'<c r="{letters}{row}"><v>{value}</v></c>' for row, value in zip(rows, values.tolist())]
    if values.dtype.kind == "f":
        return [f'<c r="{letters}{row}"><v>{value!r}</v></c>' if math.isfinite(value) else ""
                for row, value in zip(rows, values.astype(float).tolist())]
    cells = []
    for row, value in zip(rows, values):
        value = _cell(value)
        if value is None:
            cells.append("")
        elif isinstance(value, str):
            cells.append(f'<c r="{letters}{row}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        else:
            cells.append(f'<c r="{letters}{row}"><v>{value!r}</v></c>')
    return cells


def _rows_xml(table, first_row: int = 3) -> str:
    """The data rows of a table (``<row>`` elements from spreadsheet row ``first_row``)."""
    columns = [_column_cells(table[column].to_numpy(), _column_letters(index), first_row)
               for index, column in enumerate(table.columns)]
    return "".join(f'<row r="{first_row + i}">{"".join(cells)}</row>' for i, cells in enumerate(zip(*columns)))


def _with_rows(sheet_xml: str, table) -> str:
    """A sheet's XML as XlsxWriter wrote it (the two header rows) with the table's data rows
    appended and its dimension extended to them."""
    last = f"{_column_letters(len(table.columns) - 1)}{len(table) + 2}"
    sheet_xml, count = re.subn(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}"/>', sheet_xml, count=1)
    head, tail = sheet_xml.split("</sheetData>", 1)  # XlsxWriter writes one sheetData
    if count != 1:
        raise ValueError("no <dimension> in the sheet XlsxWriter wrote")
    return f"{head}{_rows_xml(table)}</sheetData>{tail}"


def _about_sheet(book, ds: xr.Dataset, scenario, tables, info: dict, header) -> None:
    sheet = book.add_worksheet(_ABOUT)
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 100)
    name = getattr(scenario, "name", None) or ds.attrs.get("scenario", "")
    description = " ".join(str(getattr(scenario, "description", None) or ds.attrs.get("description", "")).split())
    rows = [("socsec_proj projection results 预测结果", ""), ("scenario 情景", name), ("description 说明", description),
            ("years 年份", f"{int(ds['year'].values[0])}-{int(ds['year'].values[-1])}"),
            ("provinces 省份", ", ".join(str(code) for code in ds["province"].values)),
            ("package version 软件版本", info["version"]), ("scenario content hash 情景内容哈希", info["scenario_hash"]),
            ("created (UTC) 生成时间", info["created"]), ("", ""),
            ("How to read 阅读说明", "Row 1 names the column, row 2 gives its unit. People at 1 July; flows (births, "
             "revenue, expenditure) of the twelve months to 1 July; fund balances at the end of the year, in "
             "nominal yuan. An empty cell is undefined (the base year's flows, a fund before 2024)."),
            ("", ""), ("sheet 工作表", "contents 内容")]
    for table_name, table in tables.items():
        title = SCHEME_TITLES.get(table_name, "Population by province, sex and year")
        rows.append((table_name, f"{title}: {len(table):,} rows"))
    rows += [("", ""), ("column 列", "unit and meaning 单位与含义")]
    for table in tables.values():
        for column, unit in table.attrs.get("units", {}).items():
            rows.append((column, f"[{unit}] {table.attrs.get('long_names', {}).get(column, '')}"))
    for index, row in enumerate(rows):
        sheet.write_row(index, 0, row, header if index == 0 else None)


def write_workbook(ds: xr.Dataset, path, scenario=None, *, tables=None) -> Path:
    """Write ``results.xlsx``: an ``about`` sheet, then one sheet per table of :func:`tidy_tables`.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection.
    path : str or Path
        The workbook to write, or a folder (``results.xlsx`` inside it). Written to a
        temporary name beside it and renamed into place when complete.
    scenario : Scenario, optional
        The scenario it ran: its name, description and content hash go on the ``about`` sheet.
    tables : mapping of str to pandas.DataFrame, optional
        The tables of ``tidy_tables(ds)`` when the caller already has them (the CSV files).

    Returns
    -------
    pathlib.Path
        The workbook written.
    """
    import xlsxwriter

    path = Path(path)
    if path.is_dir():
        path = path / "results.xlsx"
    tables = tidy_tables(ds) if tables is None else tables
    written = io.BytesIO()
    book = xlsxwriter.Workbook(written, {"in_memory": True})
    header = book.add_format({"bold": True, "bg_color": "#E8EEF4"})
    _about_sheet(book, ds, scenario, tables, provenance(ds, scenario), header)
    # sheet1 is "about"; XlsxWriter numbers the sheets' files in the order they were added
    data_sheets = {f"xl/worksheets/sheet{index}.xml": table for index, table in enumerate(tables.values(), start=2)}
    for name, table in tables.items():
        _data_sheet(book, name, table, header)
    book.close()
    with file_in_place(path) as temporary, zipfile.ZipFile(io.BytesIO(written.getvalue())) as source, \
            zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        # zlib level 1: 13.6 MB of repetitive XML in 0.09 s of CPU against 0.29 s at level 6, for a
        # file 14 % larger (3.95 MB against 3.48)
        for item in source.infolist():
            content = source.read(item)
            if item.filename in data_sheets:
                content = _with_rows(content.decode("utf-8"), data_sheets[item.filename]).encode("utf-8")
            target.writestr(item, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return path
