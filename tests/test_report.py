"""The committee report: figures agree with the sources, it opens offline, prints, and escapes data text."""

from __future__ import annotations

import base64
import html
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from browser import open_page

from geoplan import settings
from geoplan.cli import main
from geoplan.figure import png_bytes
from geoplan.maps import render_html
from geoplan.report import committee_figure, committee_map, committee_report, load_committee, write_report

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
XSS_TITLE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def committee(mirror: Path) -> object:
    return load_committee([None], data_dir=mirror)


@pytest.fixture(scope="module")
def comparison(mirror: Path) -> object:
    return load_committee([SCENARIOS / "bexley-2021-before.yaml", SCENARIOS / "bexley-2021-adopted.yaml"],
                          data_dir=mirror)  # fmt: skip


def _full_report(committee: object) -> str:
    return committee_report(
        committee,
        map_html=render_html(committee_map(committee)),
        figure_png=png_bytes(committee_figure(committee, width_px=1200, height_px=850, dpi=100)),
    )


def _cells(page: str, heading: str) -> list[list[str]]:
    """Text of the cells of the first table after ``heading``."""
    table = page.split(heading, 1)[1].split("<table>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
            for row in rows]  # fmt: skip


def test_report_figures_agree_with_census_and_deprivation(committee: object, mirror: Path) -> None:
    area = committee.area
    page = _full_report(committee)
    view = committee.views[0]
    assert html.escape(view.coverage.headline(15.0)) in page
    # Children per IMD decile, read here straight from the published files: Census 2021 TS007A joined to
    # IoD2025 File 7 on the LSOA code, for the LSOAs of Bexley (E09000004).
    iod = pd.read_csv(next((mirror / "raw" / "deprivation").glob("File_7_IoD2025*.csv")))
    iod = iod[iod["Local Authority District code (2024)"] == area.la_code]
    census = pd.read_csv(next((mirror / "raw" / "population").glob("census2021-ts007a*.csv")))
    joined = iod.merge(census, left_on="LSOA code (2021)", right_on="geography code", validate="one_to_one")
    decile_column = "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"
    expected = joined.groupby(decile_column)["Age: Aged 4 years and under"].sum()
    rows = _cells(page, "<h3>By IMD 2025 decile</h3>")
    assert rows[0][:2] == ["IMD decile", "Children"]
    assert [int(row[0]) for row in rows[1:]] == list(expected.index)
    assert [int(row[1].replace(",", "")) for row in rows[1:]] == list(expected.to_numpy())
    assert sum(int(row[1].replace(",", "")) for row in rows[1:]) == 15_035
    wards = _cells(page, "<h2>Coverage by ward</h2>")
    assert len(wards) - 1 == 17
    # Sources: every dataset's publisher, vintage and licence; crow-fly is stated, with its circuity.
    for info in area.provenance.values():
        assert html.escape(info.vintage) in page and html.escape(info.publisher) in page
    assert "Open Government Licence v3.0" in page
    circuity = area.catalogue.network.crowfly_circuity
    assert f"crow-fly estimates: straight-line distance × a circuity factor of {circuity:g}" in page
    assert "postcode" in page and "Census 2021" in page
    assert "@media print" in page


@pytest.mark.browser
def test_report_opens_offline_embeds_map_and_figure_and_prints(committee: object, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(_full_report(committee), out)
    with open_page(out, height=1000) as page:
        assert page.failed == [] and page.errors == []
        frame = page.frame_locator("iframe.map")
        frame.locator("path.geoplan-lsoa").first.wait_for()
        assert frame.locator("path.geoplan-lsoa").count() == 148
        assert frame.locator(".geoplan-venue").count() == 48
        assert page.evaluate("() => document.querySelector('figure img').naturalWidth") == 1200
        page.emulate_media(media="print")
        assert not page.locator("iframe.map").is_visible()
        assert page.locator("figure img").is_visible()
        assert page.failed == [] and page.errors == []


def test_comparison_report_has_before_after_and_equality_impact(comparison: object) -> None:
    page = committee_report(comparison)
    # The 1 September 2021 Cabinet report: 9 centre buildings before, 5 in the adopted model.
    assert "Children&#x27;s centres: 9 before, 5 after" in page
    assert "Equality impact by IMD decile" in page
    rows = _cells(page, "<h3>By IMD 2025 decile</h3>")
    assert rows[0][2:5] == ["10 min before", "10 min after", "Change (pts)"]
    before, after = comparison.views[0].coverage, comparison.views[1].coverage
    table = before.by_imd_decile.merge(after.by_imd_decile, on=["imd_decile", "band"], suffixes=("_b", "_a"))
    row_2 = table[(table["imd_decile"] == 2) & (table["band"] == 15.0)].iloc[0]
    decile_2 = next(row for row in rows[1:] if row[0] == "2")
    change = (row_2.share_a - row_2.share_b) * 100
    assert decile_2[5:8] == [f"{row_2.share_b:.1%}", f"{row_2.share_a:.1%}", f"{change:+.1f}"]
    # Closing four of nine centres cannot bring a centre nearer to anyone.
    assert (table["covered_a"] <= table["covered_b"]).all() and change < 0


@pytest.mark.browser
def test_scenario_and_venue_text_is_escaped_in_the_report(committee: object, tmp_path: Path) -> None:
    view = committee.views[0]
    original = view.title
    view.title = XSS_TITLE
    try:
        page_text = _full_report(committee)
    finally:
        view.title = original
    assert XSS_TITLE not in page_text
    out = tmp_path / "xss-report.html"
    write_report(page_text, out)
    with open_page(out) as page:
        assert XSS_TITLE in page.locator("p.meta").inner_text()
        frame = page.frame_locator("iframe.map")
        assert XSS_TITLE in frame.locator(".geoplan-title").inner_text()
        page.wait_for_timeout(200)
        assert page.log.dialogs == []
        assert page.failed == [] and page.errors == []


def test_cli_report_names_the_file_it_wrote(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(settings, "data_dir", mirror)
    out, map_out, png = (tmp_path / "out" / name for name in ("bexley-report.html", "bexley-map.html", "bexley-map.png"))
    monkeypatch.setattr(sys, "argv", ["geoplan", "report", "--out", str(out), "--map", str(map_out), "--png", str(png)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)
    printed = capsys.readouterr().out
    assert f"Report written to {out}" in printed and f"map written to {map_out}" in printed
    page = out.read_text(encoding="utf-8")
    assert "<h2>Methods and sources</h2>" in page
    # The map file is the page embedded in the report; the PNG is the embedded figure.
    assert html.escape(map_out.read_text(encoding="utf-8")) in page
    assert base64.b64encode(png.read_bytes()).decode("ascii") in page


def test_cli_report_against_needs_a_scenario(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(settings, "data_dir", mirror)
    out = tmp_path / "r.html"
    monkeypatch.setattr(sys, "argv", ["geoplan", "report", "--out", str(out), "--against", "baseline"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert "--against needs --scenario" in capsys.readouterr().err
    assert not out.exists()
