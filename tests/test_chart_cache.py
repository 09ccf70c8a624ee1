"""Charts kept by what they were drawn from (``report.chart_cache``): a chart whose numbers did
not change is not drawn again, and one whose numbers, code or settings did is."""

from __future__ import annotations

import pytest

import socsec_proj as ssp
from socsec_proj.report import chart_cache, outputs
from socsec_proj.report.prices import price_index

pytest.importorskip("matplotlib")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "charts"
    monkeypatch.setenv("SOCSEC_PROJ_CHART_CACHE", str(folder))
    return folder


def _plan(ds, lang="en"):
    return outputs.chart_plan(ds, price_index(ssp.load_scenario("baseline"), ds["year"].values), 2060, lang)


class _Drawn:
    """Counts the charts :func:`outputs.png` really draws."""

    def __init__(self, monkeypatch):
        self.keys, real = [], outputs.png

        def png(figure, dpi=150):
            self.keys.append(figure)
            return real(figure, dpi)

        monkeypatch.setattr(outputs, "png", png)


@pytest.mark.slow
@pytest.mark.parametrize("provinces", [None, ["CN-GD", "CN-BJ", "CN-XZ"]])
def test_each_chart_is_given_everything_it_reads(baseline, provinces):
    """A chart of the plan drawn from its own inputs (:func:`outputs.chart_inputs`, which its key
    hashes) is the chart drawn from the whole projection, byte for byte, in both languages: a
    chart that read a variable it was not given would differ (or raise) here."""
    ds = baseline if provinces is None else ssp.run("baseline", provinces=provinces)
    for lang in ("en", "both"):
        for key, _file, _title, draw in _plan(ds, lang):
            whole = outputs.Chart(draw.function, ds, *draw.args[1:], **draw.kwargs)
            assert set(draw.args[0].data_vars) < set(ds.data_vars)
            assert outputs.png(draw()) == outputs.png(whole()), (key, lang)


def test_a_chart_drawn_again_from_the_same_numbers_is_the_one_kept(baseline, cache, monkeypatch):
    plan = _plan(baseline)
    drawn = _Drawn(monkeypatch)
    first = outputs.render(plan)
    assert len(drawn.keys) == len(plan) == 14 and len(list(cache.glob("*.png"))) == 14
    again = outputs.render(_plan(baseline))  # a new plan of the same projection
    assert len(drawn.keys) == 14  # nothing drawn
    assert again == first


def test_only_the_charts_whose_numbers_changed_are_drawn_again(baseline, cache, monkeypatch):
    outputs.render(_plan(baseline))
    changed = baseline.copy()
    changed["unemployment_balance"] = baseline["unemployment_balance"] * 1.01
    drawn = _Drawn(monkeypatch)
    charts = outputs.render(_plan(changed))
    assert len(drawn.keys) == 2  # unemployment's balance and months of reserve
    fresh = dict((key, image) for key, _, _, image in charts)
    monkeypatch.setenv("SOCSEC_PROJ_CHART_CACHE", "0")
    for key, _file, _title, image in outputs.render(_plan(changed)):
        assert fresh[key] == image, key


def test_a_chart_is_drawn_again_under_other_matplotlib_settings(baseline, cache, monkeypatch):
    import matplotlib

    plan = _plan(baseline)[:1]
    outputs.render(plan)
    drawn = _Drawn(monkeypatch)
    with matplotlib.rc_context({"lines.linewidth": 3.0}):
        outputs.render(plan)
    assert len(drawn.keys) == 1


def test_a_broken_or_foreign_file_in_the_cache_is_drawn_again_and_replaced(baseline, cache, monkeypatch):
    plan = _plan(baseline)[:2]
    good = outputs.render(plan)
    files = sorted(cache.glob("*.png"))
    files[0].write_bytes(files[0].read_bytes()[:1000])  # cut short
    files[1].write_bytes(b"not a png at all")
    drawn = _Drawn(monkeypatch)
    assert outputs.render(plan) == good
    assert len(drawn.keys) == 2
    assert sorted(f.read_bytes() for f in cache.glob("*.png")) == sorted(image for *_, image in good)


def test_the_cache_switched_off_keeps_nothing(baseline, tmp_path, monkeypatch):
    monkeypatch.setenv("SOCSEC_PROJ_CHART_CACHE", "0")
    assert chart_cache.cache_folder() is None
    drawn = _Drawn(monkeypatch)
    outputs.render(_plan(baseline)[:2])
    outputs.render(_plan(baseline)[:2])
    assert len(drawn.keys) == 4


def test_an_unwritable_cache_folder_only_means_drawing(baseline, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder would be")
    monkeypatch.setenv("SOCSEC_PROJ_CHART_CACHE", str(blocker / "charts"))
    assert chart_cache.cache_folder() is None
    assert len(outputs.render(_plan(baseline)[:1])) == 1


def test_the_folder_is_kept_under_its_size_the_least_recently_used_first(cache, monkeypatch):
    import os

    cache.mkdir()
    png = b"\x89PNG\r\n\x1a\n" + b"x" * 1000 + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    for number in range(5):
        path = cache / f"{number:064x}.png"
        path.write_bytes(png)
        os.utime(path, ns=(number * 10**9, number * 10**9))
    assert chart_cache.load(f"{0:064x}") == png  # used now: the newest
    monkeypatch.setattr(chart_cache, "KEPT_BYTES", 3 * len(png))
    monkeypatch.setitem(chart_cache._STATE, "pruned", False)
    chart_cache.store(f"{9:064x}", png)
    assert sorted(p.stem[-1] for p in cache.glob("*.png")) == ["0", "4", "9"]  # 1, 2 and 3 were the oldest
    assert not list(cache.glob(".*.tmp"))


def test_an_argument_without_a_value_key_is_drawn_every_time(baseline, cache, monkeypatch):
    chart = outputs.Chart(lambda figure: figure, object())
    assert chart_cache.key(chart.function, chart.args, chart.kwargs, 150) is None


def test_a_second_run_of_the_command_line_draws_no_chart_and_writes_the_same_files(cache, tmp_path, monkeypatch):
    from socsec_proj import cli

    monkeypatch.setenv("SOCSEC_PROJ_CHART_PROCESS", "0")
    out = tmp_path / "out"
    assert cli.main(["run", "baseline", "--end", "2060", "--lang", "en", "--out", str(out)]) == 0
    first = {p.name: p.read_bytes() for p in (out / "baseline").glob("*.png")}
    drawn = _Drawn(monkeypatch)
    assert cli.main(["run", "baseline", "--end", "2060", "--lang", "en", "--out", str(out)]) == 0
    assert drawn.keys == []
    assert {p.name: p.read_bytes() for p in (out / "baseline").glob("*.png")} == first and len(first) == 14
