"""The committee report: figures agree with the sources, it opens offline, prints, and escapes data text."""

from __future__ import annotations

import base64
import html
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from browser import open_page, require_chromium

from geoplan import settings
from geoplan.cli import main
from geoplan.outputs.committee import load_committee
from geoplan.outputs.maps import top_gap_areas
from geoplan.outputs.pdf import write_pdf
from geoplan.outputs.report import build_report, render_report, write_report
from geoplan.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
XSS_TITLE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def workspace(mirror: Path) -> Workspace:
    return Workspace(REPO / "layers" / "bexley.yaml", data_dir=mirror)


@pytest.fixture(scope="module")
def committee(workspace: Workspace) -> object:
    return load_committee(workspace, [None])


@pytest.fixture(scope="module")
def comparison(workspace: Workspace) -> object:
    return load_committee(workspace, [SCENARIOS / "bexley-2021-before.yaml", SCENARIOS / "bexley-2021-adopted.yaml"])


def _full_report(committee: object) -> str:
    return render_report(committee).page


def _cells(page: str, heading: str) -> list[list[str]]:
    """Text of the cells of the first table after ``heading``."""
    table = page.split(heading, 1)[1].split("<table", 1)[1].split(">", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
        for row in rows
    ]


def test_report_figures_agree_with_census_and_deprivation(committee: object, mirror: Path) -> None:
    area = committee.area
    page = _full_report(committee)
    view = committee.views[0]
    assert html.escape(view.headline(15.0)) in page
    assert "6 centres (5 children&#x27;s centres and 1 SEND hub)" in page
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
    # All ten deciles are listed; Bexley has no LSOA in decile 1, and the table says so instead of "+nan".
    assert [int(row[0]) for row in rows[1:]] == list(range(1, 11)) and list(expected.index) == list(range(2, 11))
    assert rows[1][1] == "no LSOAs of London Borough of Bexley in this decile"
    assert [int(row[1].replace(",", "")) for row in rows[2:]] == list(expected.to_numpy())
    assert sum(int(row[1].replace(",", "")) for row in rows[2:]) == 15_035
    assert "+nan" not in page and "nan%" not in page and ">nan<" not in page
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
        # The embedded map's title sits above it: it covers none of the six highest-need gap areas.
        title = frame.locator(".geoplan-header").bounding_box()
        for index in range(6):
            gap = frame.locator("path.geoplan-gap").nth(index).bounding_box()
            assert gap["y"] >= title["y"] + title["height"], index
        assert page.evaluate("() => document.querySelector('figure img').naturalWidth") == 2339
        page.emulate_media(media="print")
        assert not page.locator("iframe.map").is_visible()
        assert page.locator("figure img").is_visible()
        assert page.failed == [] and page.errors == []


def test_comparison_report_has_before_after_and_equality_impact(comparison: object) -> None:
    page = build_report(comparison)
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
    out, map_out, png = (
        tmp_path / "out" / name for name in ("bexley-report.html", "bexley-map.html", "bexley-map.png")
    )
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


def test_report_lists_the_gap_areas_numbered_on_the_map(committee: object) -> None:
    page = build_report(committee)
    top = top_gap_areas(committee.views[0].gaps, committee.area)
    rows = _cells(page, "gap areas with most need")
    assert len(rows) - 1 == len(top) == settings.top_gaps
    assert [row[:3] for row in rows[1:]] == [
        [str(rank), ward, f"{children:,}"]
        for rank, ward, children in zip(top["rank"], top["ward_name"], top["children_beyond"], strict=True)
    ]
    lsoas = _cells(page, "LSOAs with most need")
    assert len(lsoas) - 1 == settings.top_gaps


def test_sources_pair_each_file_with_its_own_vintage_and_name_the_facts_sources(committee: object) -> None:
    rows = {row[0]: row for row in _cells(build_report(committee), "<h2>Methods and sources</h2>")[1:]}
    wards = next(row for name, row in rows.items() if name.startswith("Wards"))
    # The ward file read is the GLA's 2018 file: it is not presented as the December 2025 edition.
    assert wards[0] == "Wards (2018 file)" and wards[2].startswith("2018 edition (the file used)")
    assert wards[4] == "london_wards_2018_gla_bexley_2km.gpkg"
    venues = rows["Early-years service venues"]
    assert "Arts Council England public libraries dataset 2023" in venues[1]
    assert "see file" not in " ".join(venues) and "as the project" not in " ".join(venues)
    sessions = next(row for name, row in rows.items() if name.startswith("Sessions by venue"))
    assert "Bexley scrutiny report 24 Feb 2025, s.7 (55)" in sessions[1]


def _pdf_text(path: Path) -> str:
    result = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    return result.stdout


@pytest.mark.browser
def test_pdf_committee_paper_reads_back_with_headline_wards_and_no_codes(committee: object, tmp_path: Path) -> None:
    require_chromium()
    out = tmp_path / "paper.pdf"
    rendered = render_report(committee, interactive=False)
    assert rendered.map_html is None
    size = write_pdf(rendered.page, out, title="Bexley committee paper")
    assert out.read_bytes().startswith(b"%PDF") and size == out.stat().st_size
    text = _pdf_text(out)
    flat = " ".join(text.split())
    view = committee.views[0]
    deprived = view.coverage.most_deprived_30.loc[15.0]
    for figure in (f"{deprived['share']:.1%}", f"{int(deprived['covered']):,} of {int(deprived['total']):,}", "15,035"):
        assert figure in flat
    assert "6 centres (5 children's centres and 1 SEND hub)" in flat
    for ward in committee.area.wards["ward_name"]:
        assert ward in flat
    pages = int(
        subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True)
        .stdout.split("Pages:")[1]
        .split()[0]
    )
    assert pages >= 3
    assert f"Page 1 of {pages}" in flat and f"Page {pages} of {pages}" in flat
    for code in ("under_1", "pregnancy_to_1", "childrens_centre", "cc-west-street", "nan%", "+nan"):
        assert code not in text
    # Headings survive as text; the interactive map is not printed, the figure is.
    assert "Coverage by ward" in flat and "Interactive map" not in flat


@pytest.mark.browser
def test_cli_report_pdf_only(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_chromium()
    monkeypatch.setattr(settings, "data_dir", mirror)
    out = tmp_path / "papers" / "bexley.pdf"
    monkeypatch.setattr(sys, "argv", ["geoplan", "report", "--pdf", str(out)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)
    assert f"Committee paper (PDF) written to {out}" in capsys.readouterr().out
    assert [path.name for path in out.parent.iterdir()] == ["bexley.pdf"]
    assert "Where the gaps are" not in _pdf_text(out) and "gap areas with most need" in _pdf_text(out)


def test_accessibility_figures_move_with_the_scenario(workspace: Workspace) -> None:
    from geoplan.coverage import e2sfca, venue_supply

    committee = load_committee(workspace, [None, SCENARIOS / "bexley-2021-option2-one-centre.yaml"])
    summary = committee.comparison.summary
    # The children-weighted mean over the whole borough is total supply ÷ children: it cannot move here.
    assert summary["e2sfca"]["change"] == pytest.approx(0.0, abs=1e-9)
    moved = summary["accessibility"]
    assert abs(moved["most_deprived_30"]["change"]) > 0.5 and moved["without_access"]["change"] > 0
    # Independently: the mean over children in IMD deciles 1-3, from E2SFCA of the one-centre programme.
    after = committee.comparison.after
    configuration, area = after.configuration, workspace.area
    supply = venue_supply(configuration, after.located_ids(configuration.open_venue_ids))
    values = e2sfca(area, after.travel_times, supply=supply).to_numpy() * 1000
    children = area.children["children_0_4"].to_numpy(dtype=float)
    deprived = area.children["imd_decile"].between(1, 3).to_numpy()
    expected = (values[deprived] * children[deprived]).sum() / children[deprived].sum()
    assert moved["most_deprived_30"]["after"] == pytest.approx(expected, rel=1e-9)
    page = html.unescape(build_report(committee))
    assert f"most deprived areas: {moved['most_deprived_30']['before']:.2f} before, {expected:.2f} after" in page


def test_gaps_command_prints_as_many_gaps_as_the_map_and_report_show(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    monkeypatch.setattr(settings, "data_dir", mirror)
    monkeypatch.setattr(sys, "argv", ["geoplan", "gaps", "--out", str(tmp_path / "gaps.gpkg"), "--json"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)
    assert len(json.loads(capsys.readouterr().out)["gaps"]) == settings.top_gaps == 10


def test_cli_pdf_without_chromium_is_one_line_and_writes_nothing(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from geoplan.outputs import pdf

    monkeypatch.setattr(settings, "data_dir", mirror)
    monkeypatch.setattr(pdf, "CHROMIUM", str(tmp_path / "no-chromium"))
    out, paper = tmp_path / "r.html", tmp_path / "r.pdf"
    monkeypatch.setattr(sys, "argv", ["geoplan", "report", "--out", str(out), "--pdf", str(paper)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "writing a PDF needs Chromium" in error and "\n" not in error
    assert not out.exists() and not paper.exists()
