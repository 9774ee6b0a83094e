"""A programme area of whole wards on a real walking network: New Southgate ward, end to end through the CLI.

Every command runs with ``--area layers/new-southgate.yaml`` on the Bounds Green OpenStreetMap
extract and must say ``network``; figures are checked against counts made here straight from
the raw files of the mirror.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geoplan import settings
from geoplan.networkcheck import compare_methods, network_edge_report, walk_may_leave_extent
from geoplan.studyarea import load_study_area
from geoplan.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
AREA = REPO / "layers" / "new-southgate.yaml"
WARD = "E05013686"
#: The complete-coverage box of the Bounds Green extract (SOURCES-boundsgreen.md, s.1), EPSG:27700.
COMPLETE_BOX = (528177.7, 190789.8, 531566.5, 193082.0)
#: Buggy pace (km/h) and the catalogue's crow-fly circuity.
BUGGY_KMH, CIRCUITY = 4.0, 1.26
SERVE_START_S = 120
HTTP_OK = 200
IMD_DECILE = "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"
IDACI_DECILE = "Income Deprivation Affecting Children Index (IDACI) Decile (where 1 is most deprived 10% of LSOAs)"


def raw(mirror: Path, folder: str, pattern: str) -> pd.DataFrame:
    (path,) = (mirror / "raw" / folder).glob(pattern)
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def independent(mirror: Path) -> pd.DataFrame:
    """The ward's LSOAs with children 0-4 and IMD/IDACI deciles, read here from the raw CSVs."""
    lookup = raw(mirror, "lookups", "*boundsgreen.csv")
    codes = lookup.loc[lookup["WD25CD"] == WARD, "LSOA21CD"]
    census = raw(mirror, "population", "*boundsgreen.csv").set_index("geography code")
    iod = raw(mirror, "deprivation", "*boundsgreen.csv").set_index("LSOA code (2021)")
    return pd.DataFrame(
        {
            "children": census.loc[codes, "Age: Aged 4 years and under"].to_numpy(),
            "imd": iod.loc[codes, IMD_DECILE].to_numpy(),
            "idaci": iod.loc[codes, IDACI_DECILE].to_numpy(),
        },
        index=codes,
    )


@pytest.fixture(scope="module")
def cli(mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """Run ``geoplan ... --area layers/new-southgate.yaml`` against the mirror, with one cache for the module."""
    cache = tmp_path_factory.mktemp("ns-cache")
    env = {**os.environ, "GEOPLAN_DATA": str(mirror), "GEOPLAN_CACHE": str(cache)}

    def run(*args: str, area: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "geoplan.cli", *args, *(["--area", str(AREA)] if area else [])]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, f"{' '.join(args)} failed: {done.stderr[-2000:]}"
        return done

    run.env = env
    return run


@pytest.fixture(scope="module")
def area(mirror: Path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "data_dir", mirror)
        yield load_study_area(AREA)


def test_area_summary_matches_the_raw_files(cli, independent: pd.DataFrame) -> None:
    summary = json.loads(cli("area", "summary", "--json").stdout)
    assert summary["defined_by"] == "wards"
    assert summary["lsoas"]["count"] == len(independent) == 6
    assert summary["wards"]["count"] == 1
    assert summary["children_0_4"]["total"] == independent["children"].sum() == 674
    imd = independent.loc[independent["imd"] <= 3, "children"].sum()
    idaci = independent.loc[independent["idaci"] <= 3, "children"].sum()
    assert summary["children_0_4_in_imd_deciles_1_to_3"]["total"] == imd == 236
    assert summary["children_0_4_in_idaci_deciles_1_to_3"]["total"] == idaci == 360
    assert summary["la_codes"] == ["E09000010"]
    files = {source["file"] for key in ("lsoas", "children_0_4") for source in summary[key]["sources"]}
    assert all("boundsgreen" in name for name in files)
    edge = summary["network_extent"]
    assert "Wood Green Library" in edge["venues_beyond"] and "Bowes Road Library" not in edge["venues_beyond"]


def test_venues_beyond_the_complete_network_are_flagged(area, mirror: Path) -> None:
    facts = pd.read_csv(mirror / "venues" / "boundsgreen_venues.csv").dropna(subset=["easting"])
    min_x, min_y, max_x, max_y = COMPLETE_BOX
    outside = ~facts["easting"].between(min_x, max_x) | ~facts["northing"].between(min_y, max_y)
    expected = set(facts.loc[outside, "venue_id"])
    flagged = set(area.venues.loc[area.venues["beyond_network_extent"], "venue_id"])
    assert flagged == expected
    assert {"lib-wood-green", "lib-osidge"} <= flagged and "lib-bowes-road" not in flagged
    # The ward lies at least ~390 m inside the box: no child is counted beyond it.
    assert not area.children["beyond_network_extent"].any()


def test_coverage_runs_on_the_network_and_reports_its_edge(cli) -> None:
    result = json.loads(cli("coverage", "--json").stdout)
    assert result["method"] == "network"
    overall = {row["minutes"] if "minutes" in row else row["band"]: row for row in result["overall"]}
    covered = [overall[band]["covered"] for band in sorted(overall)]
    assert covered == sorted(covered) and covered[-1] <= 674
    assert covered == [203, 551, 674]
    edge = result["network_edge"]
    assert "Wood Green Library" in edge["venues_beyond"]
    assert edge["children_0_4_possibly_understated"]["15"] == pytest.approx(20)


def test_gaps_on_the_network(cli, tmp_path: Path) -> None:
    out = tmp_path / "gaps.gpkg"
    result = json.loads(cli("gaps", "--out", str(out), "--json").stdout)
    assert result["method"] == "network"
    written = gpd.read_file(out, layer="lsoa_gaps")
    assert set(written["lsoa_code"]) <= {"E01001390", "E01001392", "E01001393", "E01001528", "E01001529", "E01001530"}
    assert result["network_edge"]["venues_beyond"]


def test_catchments_on_the_network(cli, tmp_path: Path) -> None:
    out = tmp_path / "catchments.gpkg"
    result = json.loads(cli("catchments", "--out", str(out), "--json").stdout)
    assert result["method"] == "network"
    assert result["venues"] == 7 and result["catchments"] == 21
    written = gpd.read_file(out).set_index(["venue_id", "band"])
    assert len(written) == 21
    # Independent of the flag: a catchment stays clear of the edge when its bounds lie inside the box.
    min_x, min_y, max_x, max_y = COMPLETE_BOX
    bounds = written.geometry.bounds
    inside = (
        (bounds["minx"] >= min_x) & (bounds["miny"] >= min_y) & (bounds["maxx"] <= max_x) & (bounds["maxy"] <= max_y)
    )
    assert (written["reaches_network_edge"] == ~inside).all()
    assert result["reaching_network_edge"] == int((~inside).sum()) == 19
    assert not written.loc[("lib-bowes-road", 10.0), "reaches_network_edge"]


def test_optimise_chooses_libraries_for_stay_and_play(cli) -> None:
    result = json.loads(
        cli("optimise", "--model", "mclp", "--k", "2", "--candidates", "library", "--minutes", "15", "--json").stdout
    )
    assert result["travel_times"] == "network"
    chosen = {site["facility_id"] for site in result["selected"]}
    assert "lib-bowes-road" in chosen and len(chosen) == 2
    flags = {site["facility_id"]: site["beyond_network_extent"] for site in result["selected"]}
    assert flags["lib-bowes-road"] is False
    assert flags.get("lib-friern-barnet-community", True) is True
    assert result["covered_weight"] <= 674


def test_outreach_plan_on_the_network(cli, tmp_path: Path) -> None:
    result = json.loads(
        cli("outreach", "plan", "--out", str(tmp_path / "plan"), "--visits-per-month", "2", "--json").stdout
    )
    assert result["travel_times"]["method"] == "network"
    assert (tmp_path / "plan" / "visit_plan.csv").is_file()


def test_map_and_report_say_network(cli, tmp_path: Path) -> None:
    cli("map", "--out", str(tmp_path / "map.html"), "--json")
    map_html = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "network" in map_html and "crow-fly" not in map_html
    assert "7 libraries" in map_html and "librarys" not in map_html
    cli("report", "--out", str(tmp_path / "report.html"), "--json")
    report_html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "walking times: network" in report_html and "New Southgate" in report_html
    assert "crow-fly" not in report_html
    assert "5 venues lie beyond it" in report_html and "Wood Green Library" in report_html


@pytest.mark.parametrize("name", ["new-southgate-enfield-libraries-only", "new-southgate-optimised-two-libraries"])
def test_scenarios_run_on_the_network(cli, name: str, tmp_path: Path) -> None:
    scenario = REPO / "scenarios" / f"{name}.yaml"
    result = json.loads(cli("scenario", "run", str(scenario), "--out", str(tmp_path), "--json", area=False).stdout)
    text = json.dumps(result)
    assert '"network"' in text
    summary = result.get("summary", result)
    assert summary["covered_after"] < summary["covered_before"] <= 674


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.browser
def test_serve_shows_the_area_on_the_network(cli, tmp_path: Path) -> None:
    from browser import CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, require_chromium
    from playwright.sync_api import sync_playwright

    require_chromium()
    port = _free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "geoplan.cli", "serve", "--area", str(AREA), "--port", str(port)]
    with log.open("w") as handle:
        process = subprocess.Popen(command, env=cli.env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/planner_app"
        deadline = time.monotonic() + SERVE_START_S
        answered = False
        while not answered and time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=SERVE_START_S) as response:
                answered = response.status == HTTP_OK
            time.sleep(0.5)
        assert answered, f"geoplan serve did not answer: {log.read_text(errors='replace')[-2000:]}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url, timeout=LOAD_TIMEOUT_MS)
            page.locator(".geoplan-share").first.wait_for(timeout=LOAD_TIMEOUT_MS * 4)
            # Playwright's text locators reach into Panel's shadow DOM.
            page.get_by_text("New Southgate ward (Enfield): early-years planner").first.wait_for(
                timeout=LOAD_TIMEOUT_MS
            )
            page.get_by_text("along the street network", exact=False).first.wait_for(timeout=LOAD_TIMEOUT_MS)
            page.get_by_text("551 of 674 children", exact=False).first.wait_for(timeout=LOAD_TIMEOUT_MS)
            page.get_by_text("walk of a library or children's centre", exact=False).first.wait_for(
                timeout=LOAD_TIMEOUT_MS
            )
            browser.close()
        output = log.read_text(errors="replace")
        assert "Traceback" not in output, output[-2000:]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_crowfly_against_network_matches_an_independent_straight_line(area, mirror: Path) -> None:
    comparison = compare_methods(area)
    # Crow-fly, counted here from Code-Point and the venue postcodes: straight line x circuity at buggy pace.
    children = area.children
    facts = pd.read_csv(mirror / "venues" / "boundsgreen_venues.csv").dropna(subset=["easting"])
    dx = children.geometry.x.to_numpy()[:, None] - facts["easting"].to_numpy()[None, :]
    dy = children.geometry.y.to_numpy()[:, None] - facts["northing"].to_numpy()[None, :]
    minutes = np.hypot(dx, dy).min(axis=1) * CIRCUITY / (BUGGY_KMH * 1000 / 60)
    for row in comparison.table.itertuples():
        assert row.crowfly == pytest.approx(children["children_0_4"].to_numpy()[minutes <= row.band].sum())
        assert 0 <= row.pairs_disagree <= 1
    network = Workspace(area).travel_times()
    assert network.method == "network"
    nearest = np.asarray(network.minutes).min(axis=1)
    assert comparison.table["network"].tolist() == [
        children["children_0_4"].to_numpy()[nearest <= band].sum() for band in (10, 15, 20)
    ]
    assert set(comparison.lsoa_flips["lsoa_code"]) <= set(area.lsoas["lsoa_code"])
    assert "| 15 min |" in comparison.to_markdown()


def test_data_fetch_asks_for_the_local_authority_of_a_ward_area(cli) -> None:
    command = [sys.executable, "-m", "geoplan.cli", "data", "fetch", "--area", str(AREA)]
    done = subprocess.run(command, capture_output=True, text=True, env=cli.env, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "field 'area'" in done.stderr and "--la" in done.stderr


def test_edge_report_only_for_network_workspaces(area) -> None:
    crowfly = Workspace(area, crowfly=True)
    assert crowfly.method == "crow-fly" and crowfly.travel_times().method == "crow-fly"
    assert network_edge_report(crowfly) is None
    report = network_edge_report(Workspace(area))
    assert report is not None and report.children_beyond == 0
    assert "Wood Green Library" in report.venues_beyond
    assert all(children <= 674 for children in report.children_possibly_understated.values())


def test_walk_may_leave_extent_follows_the_ellipse() -> None:
    box = (0.0, 0.0, 1000.0, 1000.0)
    origins = np.array([[500.0, 500.0], [100.0, 500.0]])
    destinations = np.array([[600.0, 500.0], [100.0, 600.0]])
    # 300 m walks: the first pair's ellipse stays well inside; the second pair sits 100 m from the left edge.
    leaves = walk_may_leave_extent(origins, destinations, walk_m=300.0, extent=box)
    assert not leaves[0, 0] and leaves[1, 1]
    # Points farther apart than the walk can never be joined by it, so nothing can be cut.
    assert not walk_may_leave_extent(origins, destinations, walk_m=50.0, extent=box).any()
