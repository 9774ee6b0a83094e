"""Scenarios: the shipped 2021 options run and agree with hand computations; bad files fail on one line."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from bexley_facts import CENTRES_2025
from pyproj import Transformer

from geoplan import settings
from geoplan.cli import main
from geoplan.errors import ScenarioError
from geoplan.outputs.committee import committee_area
from geoplan.planner import PlannerSession
from geoplan.scenarios import (
    SCENARIO_DIR,
    apply_scenario,
    baseline_scenario,
    compare,
    list_scenarios,
    load_scenario,
    run_scenario,
    scenario_yaml,
)
from geoplan.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
BEXLEY = REPO / "layers" / "bexley.yaml"
NEW_SOUTHGATE = REPO / "layers" / "new-southgate.yaml"
BEFORE, ONE_CENTRE, ADOPTED, NORTH_CRAY = (
    "bexley-2021-before",
    "bexley-2021-option2-one-centre",
    "bexley-2021-adopted",
    "bexley-north-cray-to-thamesmead",
)
SHIPPED = (BEFORE, ONE_CENTRE, ADOPTED, NORTH_CRAY)
# Centre buildings of each option, written out from CONTEXT.md (Cabinet report, 1 September 2021).
BASELINE_CENTRES = set(CENTRES_2025)
CENTRES = {
    BEFORE: BASELINE_CENTRES | {"ey-greenmead", "ey-st-augustines", "ey-hillsgrove"},
    ONE_CENTRE: {"cc-west-street"},
    ADOPTED: BASELINE_CENTRES - {"cc-northend"},
    NORTH_CRAY: BASELINE_CENTRES,
}
HEADLINE = 15.0
#: Seconds a hostile file may take to be refused (it is refused before anything is built).
FAST_FAILURE_S = 1.0


@pytest.fixture(scope="module")
def comparisons(bexley, travel_times):
    baseline = baseline_scenario(BEXLEY)
    return {
        name: compare(bexley, travel_times, baseline, load_scenario(SCENARIO_DIR / f"{name}.yaml")) for name in SHIPPED
    }


def children_within(area, travel_times, venue_ids, minutes=HEADLINE) -> float:
    """Children within ``minutes`` of the nearest of ``venue_ids``, straight from the matrix columns."""
    columns = [list(travel_times.destination_ids).index(v) for v in venue_ids if v in travel_times.destination_ids]
    nearest = np.asarray(travel_times.minutes)[:, columns].min(axis=1)
    return float(area.children.loc[nearest <= minutes, "children_0_4"].sum())


# --- shipped scenarios ------------------------------------------------------------------------


def test_shipped_scenarios_are_listed_and_valid(bexley):
    bexley_scenarios = [scenario for scenario in list_scenarios(SCENARIO_DIR) if scenario.base_path() == BEXLEY]
    assert [scenario.name for scenario in bexley_scenarios] == sorted(SHIPPED)
    for scenario in bexley_scenarios:
        assert scenario.path.stem == scenario.name
        assert scenario.base == "bexley"
        assert "Source" in scenario.description
        applied = apply_scenario(bexley, scenario)
        assert set(applied.configuration.centre_ids) == CENTRES[scenario.name]


def test_centre_coverage_one_centre_le_adopted_le_before(comparisons):
    for band in (10.0, 15.0, 20.0):
        covered = {name: comparisons[name].coverage_after.overall.loc[band, "covered"] for name in SHIPPED}
        assert covered[ONE_CENTRE] <= covered[ADOPTED] <= covered[BEFORE]
    at_15 = {name: comparisons[name].summary["covered_after"] for name in SHIPPED}
    assert at_15[ONE_CENTRE] < at_15[ADOPTED] < comparisons[ADOPTED].summary["covered_before"] < at_15[BEFORE]


def test_coverage_matches_the_matrix_by_hand(bexley, travel_times, comparisons):
    for name in SHIPPED:
        summary = comparisons[name].summary
        assert summary["covered_before"] == children_within(bexley, travel_times, BASELINE_CENTRES)
        assert summary["covered_after"] == children_within(bexley, travel_times, CENTRES[name])
        assert summary["children"] == bexley.lsoas["children_0_4"].sum()
        for band in (10.0, 20.0):
            expected = children_within(bexley, travel_times, CENTRES[name], band)
            assert comparisons[name].coverage_after.overall.loc[band, "covered"] == expected


def test_crowfly_coverage_matches_geometry(bexley, travel_times, comparisons):
    if travel_times.method != "crow-fly":
        pytest.skip("travel times come from a walking network here")
    metres_per_minute = travel_times.speed_kmh * 1000 / 60
    reach = HEADLINE * metres_per_minute / bexley.catalogue.network.crowfly_circuity
    venues = bexley.venues.set_index("venue_id")
    children = bexley.children
    for name in SHIPPED:
        points = venues.loc[[v for v in CENTRES[name] if venues.loc[v, "located"]]].geometry
        distance = np.min([children.geometry.distance(point).to_numpy() for point in points], axis=0)
        assert comparisons[name].summary["covered_after"] == children.loc[distance <= reach, "children_0_4"].sum()


def test_gains_and_losses_add_up(bexley, travel_times, comparisons):
    adopted = comparisons[ADOPTED]
    summary = adopted.summary
    # Adopted vs today: only Northend stops being a centre, so nobody gains and the losers are exactly
    # the children whose only centre within 15 minutes was Northend.
    assert summary["children_gaining"] == 0
    assert summary["children_losing"] == summary["covered_before"] - summary["covered_after"] > 0
    for name in SHIPPED:
        comparison = comparisons[name]
        total_losing = comparison.summary["children_losing"]
        for table in (comparison.by_imd_decile, comparison.by_idaci_decile, comparison.by_ward, comparison.by_lsoa):
            assert table["children_losing"].sum() == total_losing
            assert table["children_gaining"].sum() == comparison.summary["children_gaining"]
            assert table["children"].sum() == comparison.summary["children"]
            assert (table["change"] == table["covered_after"] - table["covered_before"]).all()
        assert list(comparison.by_imd_decile["imd_decile"]) == list(range(1, 11))
        lsoas = comparison.changed_areas
        assert lsoas.crs.to_epsg() == 27700
        assert (lsoas["method"] == travel_times.method).all()
        moved = (
            comparison.by_lsoa[
                [
                    "children_losing",
                    "children_gaining",
                    "session_losing",
                    "session_gaining",
                    "types_losing",
                    "types_gaining",
                ]
            ]
            .gt(0)
            .any(axis=1)
        )
        assert set(lsoas["lsoa_code"]) == set(comparison.by_lsoa.loc[moved, "lsoa_code"])
    losing_lsoas = adopted.changed_areas.set_index("lsoa_code")["children_losing"]
    assert losing_lsoas.sum() == summary["children_losing"]
    wards = set(adopted.changed_areas["ward_name"])
    assert "Slade Green & Northend" in wards


def test_one_centre_moves_every_centre_session_to_west_street(bexley, comparisons):
    applied = comparisons[ONE_CENTRE].after
    sessions = applied.configuration.sessions.set_index("session_id")["venue_id"]
    for session_id in (
        "nh-baby-group",
        "northend-midwifery",
        "north-cray-well-baby",
        "danson-saturday-clinic",
        "normandy-send-support",
    ):
        assert sessions[session_id] == "cc-west-street"
    others = BASELINE_CENTRES - {"cc-west-street"}
    assert len(applied.moved_sessions) == bexley.sessions["venue_id"].isin(others).sum() == 19
    assert applied.configuration.kinds["cc-danson"] == "early_years_site"
    assert comparisons[ONE_CENTRE].summary["most_deprived_30"]["children_losing"] > 0


def test_north_cray_sessions_move_reach_to_thamesmead(bexley, travel_times, comparisons):
    comparison = comparisons[NORTH_CRAY]
    summary = comparison.summary
    assert summary["children_losing"] == summary["children_gaining"] == 0
    types = comparison.session_types.set_index("session_type")
    before = {"health_review": {"cc-west-street", "cc-north-cray", "cc-northend"}}
    after = {"health_review": {"cc-west-street", "com-greenmead", "cc-northend"}}
    assert types.loc["health_review", "covered_before"] == children_within(
        bexley, travel_times, before["health_review"]
    )
    assert types.loc["health_review", "covered_after"] == children_within(bexley, travel_times, after["health_review"])
    columns = [list(travel_times.destination_ids).index(v) for v in ("cc-west-street", "cc-northend")]
    others = np.asarray(travel_times.minutes)[:, columns].min(axis=1) > HEADLINE
    north_cray = (
        np.asarray(travel_times.minutes)[:, list(travel_times.destination_ids).index("cc-north-cray")] <= HEADLINE
    )
    greenmead = (
        np.asarray(travel_times.minutes)[:, list(travel_times.destination_ids).index("com-greenmead")] <= HEADLINE
    )
    children = bexley.children["children_0_4"].to_numpy()
    assert types.loc["health_review", "children_losing"] == children[others & north_cray & ~greenmead].sum() > 0
    assert types.loc["health_review", "children_gaining"] == children[others & greenmead & ~north_cray].sum() > 0
    assert types.loc["stay_and_play", "change"] == 0
    assert summary["children_gaining_a_session_type"] > 0
    # E2SFCA shares out a fixed supply: moving sessions leaves the children-weighted mean unchanged
    # but shifts accessibility from North Cray's ward to Thamesmead East.
    assert summary["e2sfca"]["after"] == pytest.approx(summary["e2sfca"]["before"], rel=1e-9)
    wards = comparison.by_ward.set_index("ward_name")["e2sfca_change"]
    assert wards["Thamesmead East"] > 0
    assert wards["St Mary's & St James"] < 0
    assert {"Thamesmead East", "St Mary's & St James"} <= set(comparison.changed_areas["ward_name"])


def test_unlocated_hillsgrove_is_reported_not_counted(comparisons):
    comparison = comparisons[BEFORE]
    assert comparison.summary["centres_after"] == 9
    assert comparison.summary["located_centres_after"] == 8
    centres = [row for row in comparison.after.uncounted() if row["role"] == "centre"]
    assert [row["venue_id"] for row in centres] == ["ey-hillsgrove"]
    assert "Hillsgrove" in comparison.report_html()
    assert "could not be counted" in comparison.report_html()
    assert any(row["venue_id"] == "ey-hillsgrove" for row in comparison.to_dict()["after"]["not_counted"])


def test_outputs_aggregate_to_lsoa_and_write_atomically(bexley, comparisons, tmp_path: Path):
    comparison = comparisons[NORTH_CRAY]
    written = comparison.write(tmp_path / "out")
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == sorted(path.name for path in written)
    metrics = json.loads(written[0].read_text())
    assert metrics["method"] == comparison.method
    assert metrics["summary"]["lsoas_changed"] == len(comparison.changed_areas)
    layer = gpd.read_file(written[1], layer="changed_areas")
    assert len(layer) == len(comparison.changed_areas)
    assert layer.crs.to_epsg() == 27700
    origins = set(bexley.children["origin_id"])
    for text in (written[0].read_text(), written[2].read_text()):
        tokens = set(re.findall(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}", text))
        assert not tokens & origins, "a postcode-level row leaked into the output"
    assert written[2].read_text().startswith('<section class="geoplan-scenario"')


# --- opening venues and escaping ------------------------------------------------------------


def write(tmp_path: Path, body: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body.replace("BASE", str(BEXLEY)), encoding="utf-8")
    return path


def test_opened_venue_gets_the_same_travel_times_as_a_venue_at_that_place(bexley, travel_times, tmp_path: Path):
    northend = bexley.venues.set_index("venue_id").loc["cc-northend", "geometry"]
    lon, lat = Transformer.from_crs(settings.measure_crs, settings.display_crs, always_xy=True).transform(
        northend.x, northend.y
    )
    path = write(
        tmp_path,
        f"""version: 1
name: replace-northend
title: <b>Replace Northend</b> & co
base: BASE
changes:
  - close: [cc-northend]
  - open:
      id: new-northend
      name: New Northend centre
      kind: childrens_centre
      postcode: da8 2eb
      sessions:
        - {{session_id: new-stay-and-play, title: Stay and play, session_type: stay_and_play, sessions_per_week: 2}}
  - open: {{id: new-northend-lonlat, name: Same place by lon/lat, kind: library, lon: {lon}, lat: {lat}}}
""",
    )
    scenario = load_scenario(path)
    comparison = compare(bexley, travel_times, baseline_scenario(BEXLEY), scenario)
    matrix = np.asarray(comparison.after.travel_times.minutes)
    ids = list(comparison.after.travel_times.destination_ids)
    original = np.asarray(travel_times.minutes)[:, list(travel_times.destination_ids).index("cc-northend")]
    np.testing.assert_allclose(matrix[:, ids.index("new-northend")], original)
    np.testing.assert_allclose(matrix[:, ids.index("new-northend-lonlat")], original, atol=1e-3)
    assert comparison.summary["covered_after"] == comparison.summary["covered_before"]
    assert comparison.summary["children_losing"] == comparison.summary["children_gaining"] == 0
    stopped = set(comparison.after.dropped_sessions["session_id"])
    assert stopped == {
        "northend-midwifery",
        "northend-antenatal",
        "northend-health-reviews",
        "northend-saturday-clinic",
    }
    fragment = comparison.report_html()
    assert "&lt;b&gt;Replace Northend&lt;/b&gt; &amp; co" in fragment
    assert "<b>Replace" not in fragment


# --- bad scenario files ------------------------------------------------------------------------

HEAD = "version: 1\nname: bad\ntitle: Bad\nbase: BASE\nchanges:\n"
OPEN = "  - open:\n      id: {id}\n      name: A venue\n      kind: library\n      postcode: {postcode}\n"
BAD_FILES = {
    "unknown-venue": (HEAD + "  - close: [cc-danson, cc-foo]\n", 6, "changes[0].close[1]", "unknown venue id 'cc-foo'"),
    "duplicate-venue-id": (
        HEAD + OPEN.format(id="cc-danson", postcode="DA8 1LW"),
        7,
        "changes[0].open.id",
        "duplicate venue id 'cc-danson'",
    ),
    "duplicate-opened-id": (
        HEAD + OPEN.format(id="new-a", postcode="DA8 1LW") + OPEN.format(id="new-a", postcode="DA8 1LW"),
        12,
        "changes[1].open.id",
        "duplicate venue id 'new-a' (opened on line 7)",
    ),
    "close-twice": (
        HEAD + "  - close: [cc-danson]\n  - redesignate: {venue: cc-northend, kind: early_years_site}\n"
        "  - close: [cc-north-cray, cc-danson]\n",
        8,
        "changes[2].close[1]",
        "closed twice (already closed on line 6)",
    ),
    "close-closed-in-file": (HEAD + "  - close: [cc-bedonwell]\n", 6, "changes[0].close[0]", "closed twice"),
    "postcode-not-live": (
        HEAD + OPEN.format(id="new-a", postcode="ZZ9 9ZZ"),
        10,
        "changes[0].open.postcode",
        "postcode ZZ9 9ZZ is not a live postcode",
    ),
    "postcode-malformed": (
        HEAD + OPEN.format(id="new-a", postcode="DA8-1LW-X"),
        10,
        "changes[0].open.postcode",
        "malformed postcode",
    ),
    "unknown-session": (
        HEAD + "  - move_sessions: {from: cc-north-cray, to: lib-thamesmead, sessions: [north-cray-foo]}\n",
        6,
        "changes[0].move_sessions.sessions[0]",
        "session 'north-cray-foo' is unknown",
    ),
    "yaml-syntax": (
        HEAD + "  - close: [cc-danson\n  - close: [cc-northend]\n",
        6,
        "changes[0].close",
        "not valid YAML",
    ),
    "wrong-type": (HEAD + "  - close: cc-danson\n", 6, "changes[0].close", "valid list"),
    "wrong-type-nested": (
        "version: 1\nname: bad\ntitle: Bad\nsettings:\n  bands: [10, fifteen]\n",
        5,
        "settings.bands[1]",
        "valid number",
    ),
    "unknown-field": (HEAD + "  - shut: [cc-danson]\n", 6, "changes[0].shut", "unknown field 'shut'"),
    "missing-field": (
        HEAD + "  - move_sessions:\n      from: cc-danson\n",
        6,
        "changes[0].move_sessions.to",
        "missing required field 'to'",
    ),
    "empty": ("", 1, "version", "file is empty"),
    "wrong-version": ("version: 2\nname: bad\ntitle: Bad\n", 1, "version", "unsupported scenario version 2"),
}


def check_bad(bexley, path: Path) -> None:
    scenario = load_scenario(path)
    apply_scenario(bexley, scenario)


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_gives_one_line_naming_file_line_and_field(bexley, tmp_path: Path, case: str):
    body, line, field, fragment = BAD_FILES[case]
    path = write(tmp_path, body, f"{case}.yaml")
    with pytest.raises(ScenarioError) as caught:
        check_bad(bexley, path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}, line {line}, field '{field}': "), message
    assert fragment in message
    assert caught.value.line == line


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["geoplan", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    captured = capsys.readouterr()
    return int(caught.value.code or 0), captured.out, captured.err


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_cli_rejects_bad_file_with_exit_2_and_writes_nothing(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
):
    monkeypatch.setattr(settings, "data_dir", mirror)
    body, line, field, _ = BAD_FILES[case]
    path = write(tmp_path, body, f"{case}.yaml")
    out = tmp_path / "out"
    code, _, stderr = run_cli(monkeypatch, capsys, "scenario", "run", str(path), "--out", str(out))
    assert code == 2
    assert stderr.count("\n") == 1
    assert stderr.startswith(f"geoplan: error: {path}, line {line}, field '{field}': ")
    assert not out.exists()


def test_cli_run_list_and_validate(mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setattr(settings, "data_dir", mirror)
    code, stdout, _ = run_cli(monkeypatch, capsys, "scenario", "list", "--json")
    assert code == 0
    assert set(SHIPPED) <= {row["name"] for row in json.loads(stdout)}
    code, stdout, _ = run_cli(monkeypatch, capsys, "scenario", "validate", *[f"scenarios/{n}.yaml" for n in SHIPPED])
    assert code == 0
    assert stdout.count("ok: ") == len(SHIPPED)
    out = tmp_path / "out"
    code, stdout, _ = run_cli(
        monkeypatch,
        capsys,
        "scenario",
        "run",
        ONE_CENTRE,
        "--against",
        str(SCENARIO_DIR / f"{ADOPTED}.yaml"),
        "--out",
        str(out),
        "--json",
    )
    assert code == 0
    payload = json.loads(stdout)
    assert payload["before"]["name"] == ADOPTED
    assert payload["after"]["centres"] == ["cc-west-street"]
    assert payload["summary"]["children_gaining"] == 0
    assert payload["method"] in ("network", "crow-fly")
    assert sorted(path.name for path in out.iterdir()) == sorted(
        f"{ONE_CENTRE}-vs-{ADOPTED}.{suffix}" for suffix in ("json", "gpkg", "html")
    )


# --- files that travel, hostile files, one profile vocabulary ----------------------------------


def test_saved_and_shipped_scenarios_validate_from_any_folder(bexley, travel_times, tmp_path: Path):
    """Issue 14: a scenario naming ``base: ../layers/bexley.yaml`` failed anywhere but in scenarios/."""
    elsewhere = tmp_path / "committee" / "papers"
    elsewhere.mkdir(parents=True)
    copied = elsewhere / f"{NORTH_CRAY}.yaml"
    copied.write_text((SCENARIO_DIR / f"{NORTH_CRAY}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    scenario = load_scenario(copied)
    assert scenario.base_path() == BEXLEY.resolve()
    shipped = compare(
        bexley, travel_times, baseline_scenario(BEXLEY), load_scenario(SCENARIO_DIR / f"{NORTH_CRAY}.yaml")
    )
    moved = compare(bexley, travel_times, baseline_scenario(BEXLEY), scenario)
    assert moved.summary == shipped.summary
    # A catalogue path relative to the scenario file resolves from the file's own folder.
    relative = write(
        elsewhere, f"version: 1\nname: rel\ntitle: Relative\nbase: {Path('..') / '..' / 'cat.yaml'}\n", "rel.yaml"
    )
    assert load_scenario(relative).base_path() == (tmp_path / "cat.yaml").resolve()
    # What the planner saves names the shipped catalogue, so it loads from any folder.
    text = scenario_yaml(scenario)
    assert "base: bexley\n" in text
    assert load_scenario(write(tmp_path, text, "saved.yaml")).base_path() == BEXLEY.resolve()


def test_billion_laughs_fails_fast_on_one_line(tmp_path: Path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]"
        for i in range(9)
    ]
    body = "version: 1\nname: laughs\ntitle: Laughs\n" + "\n".join(lines) + "\n"
    assert len(body.encode()) < 1024
    path = write(tmp_path, body, "laughs.yaml")
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    elapsed = time.perf_counter() - started
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}, line 4: ") and "anchors and aliases" in message
    assert elapsed < FAST_FAILURE_S


def test_profile_is_a_name_or_a_speed_as_in_the_cli(bexley, tmp_path: Path):
    head = "version: 1\nname: pace\ntitle: Pace\nsettings:\n  profile: {}\n"
    assert load_scenario(write(tmp_path, head.format("4.5"), "speed.yaml")).settings.profile_name == "4.5kmh"
    assert load_scenario(write(tmp_path, head.format("walk"), "walk.yaml")).settings.profile_name == "walk"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, head.format("cycle"), "cycle.yaml"))
    assert "line 5, field 'settings.profile'" in str(caught.value) and "speed in km/h" in str(caught.value)
    with pytest.raises(ScenarioError, match="positive number of km/h"):
        load_scenario(write(tmp_path, head.format("-3"), "negative.yaml"))


def test_scenario_without_base_is_for_the_area_it_runs_on(bexley, mirror: Path, tmp_path: Path):
    """Nothing may be Bexley-only: a file naming no ``base`` is measured on the study area it is run on."""
    body = "version: 1\nname: no-bowes-road\ntitle: Bowes Road Library closes\nchanges:\n  - close: [lib-bowes-road]\n"
    path = write(tmp_path, body, "no-base.yaml")
    # Without a study area it is for the default one (Bexley), which has no Bowes Road Library.
    assert load_scenario(path).base_path() == Path(settings.default_area).resolve()
    with pytest.raises(
        ScenarioError, match=r"line 5, field 'changes\[0\]\.close\[0\]': unknown venue id 'lib-bowes-road'"
    ):
        apply_scenario(bexley, load_scenario(path))
    workspace = Workspace(NEW_SOUTHGATE, data_dir=mirror)
    comparison = run_scenario(path, workspace=workspace)
    summary = comparison.summary
    # Children 0-4 of New Southgate ward, read here from the raw census and lookup files.
    lookup = pd.read_csv(next((mirror / "raw" / "lookups").glob("*boundsgreen.csv")))
    census = pd.read_csv(next((mirror / "raw" / "population").glob("*boundsgreen.csv"))).set_index("geography code")
    lsoas = lookup.loc[lookup["WD25CD"] == "E05013686", "LSOA21CD"]
    assert summary["children"] == census.loc[lsoas, "Age: Aged 4 years and under"].sum() == 674
    # The programme's centres are the venue file's libraries and centres with a postcode (located).
    venues = pd.read_csv(REPO / "layers" / "new-southgate" / "venues.csv", keep_default_na=False)
    centres = set(venues.loc[venues["kind"].isin(["library", "childrens_centre"]), "venue_id"])
    located = set(venues.loc[venues["venue_id"].isin(centres) & venues["postcode"].ne(""), "venue_id"])
    assert (summary["centres_before"], summary["centres_after"]) == (len(centres), len(centres) - 1) == (9, 8)
    travel_times = workspace.travel_times("buggy")
    area = workspace.area
    assert summary["covered_before"] == children_within(area, travel_times, located) == 551
    assert summary["covered_after"] == children_within(area, travel_times, located - {"lib-bowes-road"})
    assert summary["covered_after"] < summary["covered_before"]
    assert comparison.method == "network"
    # The report (--area) and the planner take the file for their study area too, and save it naming it.
    assert committee_area([str(path)], area=NEW_SOUTHGATE) == NEW_SOUTHGATE.resolve()
    session = PlannerSession(workspace)
    session.load_scenario_yaml(path.read_bytes(), filename="no-base.yaml")
    assert session.metrics()["covered"] == summary["covered_after"]
    assert "base: new-southgate\n" in session.to_scenario_yaml()
    assert "base:" not in scenario_yaml(load_scenario(path))


def test_base_error_says_what_base_accepts(tmp_path: Path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, "version: 1\nname: empty-base\ntitle: Empty base\nbase: ''\n"))
    message = str(caught.value)
    assert "line 4, field 'base'" in message and "(bexley, new-southgate)" in message
    assert "without base, a scenario is for the study area it is run on" in message


def test_cli_scenario_commands_take_the_area_for_a_file_without_base(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr(settings, "data_dir", mirror)
    body = "version: 1\nname: no-bowes-road\ntitle: Bowes Road Library closes\nchanges:\n  - close: [lib-bowes-road]\n"
    path = write(tmp_path, body, "no-base.yaml")
    area = str(NEW_SOUTHGATE)
    code, stdout, stderr = run_cli(monkeypatch, capsys, "scenario", "validate", str(path), "--area", area)
    assert (code, stderr) == (0, "")
    assert stdout.strip().endswith("(no-bowes-road, 1 change, 8 centres)")
    code, stdout, _ = run_cli(monkeypatch, capsys, "scenario", "run", str(path), "--area", area, "--json")
    assert code == 0
    expected = run_scenario(path, workspace=Workspace(NEW_SOUTHGATE, data_dir=mirror)).summary
    summary = json.loads(stdout)["summary"]
    assert (
        (summary["children"], summary["covered_before"])
        == (expected["children"], expected["covered_before"])
        == (
            674,
            551,
        )
    )
    assert summary["covered_after"] == expected["covered_after"]
    # Without --area the file is for the default study area, which has no Bowes Road Library.
    code, _, stderr = run_cli(monkeypatch, capsys, "scenario", "validate", str(path))
    assert code == 2 and "unknown venue id 'lib-bowes-road'" in stderr
