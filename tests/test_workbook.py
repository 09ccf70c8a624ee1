"""results.xlsx: one sheet per scheme and one for the population, units, names, frozen headers, numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from socsec_proj import report
from socsec_proj.report.workbook import write_workbook

openpyxl = pytest.importorskip("openpyxl", reason="openpyxl reads the workbook back (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def workbook(baseline, tmp_path_factory):
    import socsec_proj as ssp

    folder = tmp_path_factory.mktemp("workbook")
    path = write_workbook(baseline, folder, ssp.load_scenario("baseline"))
    assert path == folder / "results.xlsx"
    assert [p.name for p in folder.iterdir()] == ["results.xlsx"]  # no temporary file left beside it
    return openpyxl.load_workbook(path)


def test_sheets_one_per_scheme_and_population(workbook, baseline):
    tables = report.tidy_tables(baseline)
    assert workbook.sheetnames == ["about", *tables]
    assert {"employee_pension", "resident_pension", "unemployment", "injury", "population"} <= set(workbook.sheetnames)


def test_header_rows_units_names_and_frozen_panes(workbook):
    sheet = workbook["employee_pension"]
    names = [cell.value for cell in sheet[1]]
    units = dict(zip(names, (cell.value for cell in sheet[2])))
    assert names[:4] == ["province", "year", "name_zh", "name_en"]
    assert units["employee_pension_balance"] == "CNY" and units["employee_pension_contributors"] == "persons"
    assert units["employee_pension_months_of_reserve"] == "months" and units["province"] == "ISO 3166-2:CN"
    assert sheet.freeze_panes == "E3"  # two header rows and the four key columns stay in view
    population = workbook["population"]
    assert [cell.value for cell in population[1]][:5] == ["province", "sex", "year", "name_zh", "name_en"]
    assert population.freeze_panes == "F3"


def test_numbers_are_numbers_equal_to_the_projection(workbook, baseline):
    sheet = workbook["employee_pension"]
    names = [cell.value for cell in sheet[1]]
    rows = {(row[0], row[1]): dict(zip(names, row)) for row in sheet.iter_rows(min_row=3, values_only=True)}
    gd = rows[("CN-GD", 2030)]
    assert gd["name_zh"] == "广东" and gd["name_en"] == "Guangdong"
    expected = float(baseline["employee_pension_balance"].sel(province="CN-GD", year=2030))
    # 16 significant digits in the file (Excel itself shows 15): equal to the last digit or two.
    assert isinstance(gd["employee_pension_balance"], float)
    assert gd["employee_pension_balance"] == pytest.approx(expected, rel=1e-15)
    contributors = float(baseline["employee_pension_contributors"].sel(province="CN-HE", year=2035).sum())
    assert rows[("CN-HE", 2035)]["employee_pension_contributors"] == pytest.approx(contributors, rel=1e-15)
    assert isinstance(rows[("CN-HE", 2035)]["year"], int)
    # A year before a fund's first is undefined (NaN in the Dataset): an empty cell, not 0 or "nan"
    # (the unemployment fund starts in 2024; the pension funds run from 2020)
    assert math.isnan(float(baseline["unemployment_balance"].sel(province="CN-GD", year=2020)))
    other = workbook["unemployment"]
    header = [cell.value for cell in other[1]]
    cells = {(r[0], r[1]): dict(zip(header, r)) for r in other.iter_rows(min_row=3, values_only=True)}
    assert cells[("CN-GD", 2020)]["unemployment_balance"] is None
    assert rows[("CN-GD", 2020)]["employee_pension_balance"] == pytest.approx(
        float(baseline["employee_pension_balance"].sel(province="CN-GD", year=2020)), rel=1e-15)
    assert len(rows) == baseline.sizes["province"] * baseline.sizes["year"]


def test_about_sheet_records_provenance(workbook):
    import socsec_proj as ssp
    from socsec_proj.provenance import scenario_hash

    about = {row[0]: row[1] for row in workbook["about"].iter_rows(values_only=True) if row[0]}
    assert about["package version 软件版本"] == ssp.__version__
    assert about["scenario content hash 情景内容哈希"] == scenario_hash(ssp.load_scenario("baseline"))
    assert len(about["scenario content hash 情景内容哈希"]) == 64
    assert about["created (UTC) 生成时间"].endswith("+00:00")
    assert about["employee_pension_balance"].startswith("[CNY] ")


def test_scenario_hash_changes_with_the_file(tmp_path):
    import socsec_proj as ssp
    from socsec_proj.provenance import scenario_hash

    file = tmp_path / "mine.yaml"
    file.write_text("name: mine\ndescription: A test.\nchanges:\n  demography.total_fertility_rate:\n"
                    "    2030-01-01: 1.6\n", encoding="utf-8")
    first = scenario_hash(ssp.load_scenario(file))
    file.write_text(file.read_text(encoding="utf-8").replace("1.6", "1.7"), encoding="utf-8")
    assert scenario_hash(ssp.load_scenario(file)) != first
    assert scenario_hash(None) == ""
    assert np.char.str_len(first) == 64


def test_every_data_cell_reads_back_as_the_table_holds_it(workbook, baseline):
    """The rows written as SpreadsheetML: every number equal to the table's to the bit (floats by
    repr), integers as integers, NaN as an empty cell, text as text, rows and columns in place."""
    tables = report.tidy_tables(baseline)
    for name in ("employee_pension", "population"):
        table, sheet = tables[name], workbook[name]
        assert sheet.max_row == len(table) + 2 and sheet.max_column == len(table.columns)
        for column_index, column in enumerate(table.columns, start=1):
            values = table[column].to_numpy()
            read = [row[0] for row in sheet.iter_rows(min_row=3, min_col=column_index, max_col=column_index,
                                                      values_only=True)]
            if values.dtype.kind == "f":
                expected = [None if math.isnan(value) else value for value in values.tolist()]
                assert read == expected, column
                assert all(isinstance(value, float) for value in read if value is not None), column
            else:
                assert read == values.tolist(), column


def test_text_is_escaped_and_empty_cells_keep_their_columns(tmp_path):
    import pandas as pd

    from socsec_proj.report.workbook import _with_rows

    table = pd.DataFrame({"name": ["a<b & c>", None, "广东"], "x": [1.5, np.nan, 1e300], "n": [1, 2, 3]})
    head = ('<worksheet><dimension ref="A1:C2"/><sheetData><row r="1"/><row r="2"/></sheetData>'
            '<pageMargins/></worksheet>')
    xml = _with_rows(head, table)
    assert '<dimension ref="A1:C5"/>' in xml and xml.endswith("</sheetData><pageMargins/></worksheet>")
    assert '<c r="A3" t="inlineStr"><is><t>a&lt;b &amp; c&gt;</t></is></c>' in xml
    assert '<row r="4"><c r="C4"><v>2</v></c></row>' in xml  # no cell for None and NaN; C stays C
    assert '<c r="B5"><v>1e+300</v></c>' in xml
