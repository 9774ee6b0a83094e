"""The planner's engine facade: every edit re-measures to the numbers the scenario engine and the matrix give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml
from bexley_facts import CENTRES_2025

from geoplan.cli.serve import check_credentials, serve_arguments
from geoplan.coverage import find_gaps, measure_coverage
from geoplan.errors import InputError
from geoplan.planner import PlannerSession
from geoplan.scenarios import (
    SCENARIO_DIR,
    baseline_scenario,
    compare,
    list_scenarios,
    resolve_scenario,
    run_scenario,
    scenario_yaml,
)
from geoplan.scenarios.edits import EditHistory
from geoplan.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
BEXLEY = REPO / "layers" / "bexley.yaml"
CENTRES = CENTRES_2025
BAND = 15.0


@pytest.fixture(scope="module")
def resources(mirror: Path) -> Workspace:
    return Workspace.shared(BEXLEY, data_dir=mirror)


@pytest.fixture(scope="module")
def area(resources):
    return resources.area


@pytest.fixture(scope="module")
def travel_times(resources):
    return resources.travel_times("buggy")


def covered_by_hand(area, travel_times, venue_ids, band=BAND) -> np.ndarray:
    """Per-origin reach: the matrix columns of ``venue_ids``, straight from the dense array."""
    columns = [list(travel_times.destination_ids).index(venue) for venue in venue_ids]
    return np.asarray(travel_times.minutes)[:, columns].min(axis=1) <= band


def children(area) -> np.ndarray:
    return area.children["children_0_4"].to_numpy(dtype=float)


def reference(area, travel_times, session: PlannerSession):
    """The ``scenario run`` engine's comparison of the session's scenario with the baseline."""
    return compare(area, travel_times, baseline_scenario(BEXLEY), session.scenario)


def test_baseline_metrics_are_the_matrix_counts(area, travel_times, resources) -> None:
    session = PlannerSession(resources)
    metrics = session.metrics()
    reach = covered_by_hand(area, travel_times, CENTRES)
    assert metrics["covered"] == children(area)[reach].sum()
    assert metrics["children"] == 15_035
    assert metrics["share"] == pytest.approx(children(area)[reach].sum() / 15_035)
    assert metrics["children_gaining"] == metrics["children_losing"] == 0
    assert set(metrics["centres"]) == set(CENTRES)
    by_imd = {row["decile"]: row for row in metrics["by_imd_decile"]}
    for decile, row in by_imd.items():
        in_decile = area.children["imd_decile"].to_numpy() == decile
        assert row["covered"] == children(area)[reach & in_decile].sum()
        assert row["share"] == row["baseline_share"]
    assert sum(row["children"] for row in metrics["by_idaci_decile"]) == 15_035
    assert json.loads(json.dumps(metrics)) == metrics


def test_closing_north_cray_loses_exactly_its_sole_catchment(area, travel_times, resources) -> None:
    session = PlannerSession(resources)
    session.toggle_venue("cc-north-cray", False)
    metrics = session.metrics()
    others = [centre for centre in CENTRES if centre != "cc-north-cray"]
    north_cray = covered_by_hand(area, travel_times, ["cc-north-cray"])
    only_north_cray = north_cray & ~covered_by_hand(area, travel_times, others)
    assert metrics["children_losing"] == children(area)[only_north_cray].sum() > 0
    assert metrics["covered"] == metrics["baseline_covered"] - metrics["children_losing"]
    comparison = reference(area, travel_times, session)
    assert metrics["covered"] == comparison.summary["covered_after"]
    assert metrics["children_losing"] == comparison.summary["children_losing"]
    assert metrics["session_venues"]["covered"] == comparison.summary["session_venues"]["covered_after"]
    assert metrics["session_venues"]["children_losing"] == comparison.summary["session_venues"]["children_losing"]
    impact = comparison.by_imd_decile.set_index("imd_decile")
    for row in metrics["by_imd_decile"]:
        assert row["covered"] == impact.loc[row["decile"], "covered_after"]
    assert "cc-north-cray" not in metrics["centres"]
    assert session.scenario.changes[-1].close == ["cc-north-cray"]
    # Re-opening undoes the close: back to the baseline with no change left.
    session.toggle_venue("cc-north-cray", True)
    assert session.scenario.changes == []
    assert session.metrics()["covered"] == metrics["baseline_covered"]


def test_moving_a_session_changes_session_reach_not_centres(area, travel_times, resources) -> None:
    session = PlannerSession(resources)
    session.move_session("north-cray-coffee-morning", "lib-thamesmead")
    table = session.sessions_table().set_index("session_id")
    assert table.loc["north-cray-coffee-morning", "venue_id"] == "lib-thamesmead"
    assert table.loc["north-cray-coffee-morning", "baseline_venue_id"] == "cc-north-cray"
    move = session.scenario.changes[-1].move_sessions
    assert (move.from_, move.to, move.sessions) == ("cc-north-cray", "lib-thamesmead", ["north-cray-coffee-morning"])
    metrics = session.metrics()
    comparison = reference(area, travel_times, session)
    assert metrics["covered"] == metrics["baseline_covered"]
    assert metrics["session_venues"]["covered"] == comparison.summary["session_venues"]["covered_after"]


def test_rejected_edits_leave_the_session_as_it_was(resources) -> None:
    session = PlannerSession(resources)
    session.toggle_venue("lib-thamesmead", False)
    before = session.to_scenario_yaml()
    with pytest.raises(InputError, match="closed"):
        session.move_session("north-cray-coffee-morning", "lib-thamesmead")
    with pytest.raises(InputError, match="no such venue"):
        session.toggle_venue("nowhere", False)
    for centre in CENTRES[:-1]:
        session.toggle_venue(centre, False)
    with pytest.raises(InputError, match="no open children's centre"):
        session.toggle_venue(CENTRES[-1], False)
    assert CENTRES[-1] in session.metrics()["centres"]
    with pytest.raises(InputError, match="more than 0 and at most 120"):
        session.set_band(-5)
    with pytest.raises(InputError, match="walking pace"):
        session.set_profile("cycle")
    assert session.to_scenario_yaml() != before  # the five closes were kept
    assert session.metrics()["centres"] == [CENTRES[-1]]


def test_adding_centres_by_venue_postcode_and_reopening(area, travel_times, resources) -> None:
    session = PlannerSession(resources)
    assert session.add_venue("lib-thamesmead") == "lib-thamesmead"
    assert session.scenario.changes[-1].redesignate.kind == "childrens_centre"
    library = session.metrics()
    reach = covered_by_hand(area, travel_times, [*CENTRES, "lib-thamesmead"])
    assert library["covered"] == children(area)[reach].sum()
    assert library["children_gaining"] == library["covered"] - library["baseline_covered"] > 0

    postcode = area.venues.set_index("venue_id").loc["com-belvedere", "postcode"]
    new_id = session.add_venue(postcode.lower().replace(" ", ""))
    assert new_id == "new-" + postcode.replace(" ", "").lower()
    opened = session.metrics()
    comparison = reference(area, travel_times, session)
    assert opened["covered"] == comparison.summary["covered_after"] >= library["covered"]
    # A centre at the same postcode as an existing venue reaches exactly that venue's catchment.
    same_place = covered_by_hand(area, travel_times, [*CENTRES, "lib-thamesmead", "com-belvedere"])
    assert opened["covered"] == children(area)[same_place].sum()

    reopened = session.add_venue("cc-crayford")
    assert reopened == "cc-crayford-reopened"
    venues = session.venues_table().set_index("venue_id")
    assert venues.loc["cc-crayford-reopened", "centre"] and not venues.loc["cc-crayford", "open"]
    crayford = covered_by_hand(area, travel_times, ["cc-crayford"])
    assert session.metrics()["covered"] == children(area)[same_place | crayford].sum()
    with pytest.raises(InputError, match="already re-opened"):
        session.toggle_venue("cc-crayford", True)
    # Closing a venue this scenario opened removes its 'open' change.
    session.toggle_venue("cc-crayford-reopened", False)
    assert all(change.open is None or change.open.id != "cc-crayford-reopened" for change in session.scenario.changes)


def test_band_and_profile_use_the_engine_at_that_setting(area, resources) -> None:
    session = PlannerSession(resources)
    session.set_profile("walk")
    session.set_band(20)
    metrics = session.metrics()
    walk = resources.travel_times("walk")
    assert walk.profile == "walk"
    expected = measure_coverage(area, walk, venue_ids=list(CENTRES), bands=(20,))
    assert metrics["covered"] == expected.overall.loc[20.0, "covered"]
    assert (metrics["band"], metrics["profile"]) == (20.0, "walk")
    assert metrics["covered"] > PlannerSession(resources).metrics()["covered"]
    assert session.scenario.settings.headline_minutes == 20.0


def test_gaps_rank_as_find_gaps(area, travel_times, resources) -> None:
    session = PlannerSession(resources)
    session.toggle_venue("cc-danson", False)
    ours = session.gaps()
    centres = [centre for centre in CENTRES if centre != "cc-danson"]
    theirs = find_gaps(area, travel_times, venue_ids=centres, minutes=BAND).lsoas
    assert list(ours["lsoa_code"]) == list(theirs["lsoa_code"])
    assert np.allclose(ours["need"], theirs["need"])
    assert np.array_equal(ours["children_beyond"], theirs["children_beyond"])
    assert list(ours["nearest_name"]) == list(theirs["nearest_name"])


@pytest.mark.parametrize("name", sorted(path.stem for path in SCENARIO_DIR.glob("bexley-*.yaml")))
def test_shipped_scenarios_round_trip_through_yaml(area, travel_times, resources, name: str) -> None:
    session = PlannerSession(resources)
    session.load_scenario(name)
    text = session.to_scenario_yaml()
    data = yaml.safe_load(text)
    assert data["version"] == 1 and data["name"] == name and data["base"] == "bexley"
    again = PlannerSession(resources)
    again.load_scenario_yaml(text, filename=f"{name}.yaml")
    assert again.to_scenario_yaml() == text
    assert again.metrics() == session.metrics()
    comparison = compare(area, travel_times, baseline_scenario(BEXLEY), resolve_scenario(name))
    assert session.metrics()["covered"] == comparison.summary["covered_after"]
    assert session.metrics()["children_losing"] == comparison.summary["children_losing"]


def test_edited_scenario_saves_and_loads_unchanged(resources) -> None:
    session = PlannerSession(resources)
    session.load_scenario("bexley-north-cray-to-thamesmead")
    session.toggle_venue("cc-northend", False)
    session.move_session("greenmead-baby-bank", "lib-thamesmead")
    session.add_venue("DA18 4DW")
    session.set_band(10)
    text = session.to_scenario_yaml()
    assert session.scenario.name == "bexley-north-cray-to-thamesmead-edited"
    loaded = PlannerSession(resources)
    loaded.load_scenario_yaml(text.encode("utf-8"), filename="mine.yaml")
    assert loaded.to_scenario_yaml() == text
    assert loaded.metrics() == session.metrics()
    assert [line for line in loaded.metrics()["changes"]] == session.metrics()["changes"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\nname: bad\ntitle: Bad\nchanges:\n  - close: [nowhere]\n",
            "mine.yaml, line 5, field 'changes[0].close[0]': unknown venue id 'nowhere'",
        ),
        ("version: 1\nname: bad\ntitle: [unclosed\n", "mine.yaml, line 3"),
        ("version: 2\nname: bad\ntitle: Bad\n", "mine.yaml, line 1, field 'version'"),
        ("- just\n- a list\n", "mine.yaml, line 1, field '(document)'"),
        ("", "mine.yaml, line 1, field 'version': file is empty"),
    ],
)
def test_bad_upload_names_file_line_and_field_and_keeps_state(resources, text: str, message: str) -> None:
    session = PlannerSession(resources)
    session.toggle_venue("cc-danson", False)
    before = session.to_scenario_yaml()
    with pytest.raises(InputError) as caught:
        session.load_scenario_yaml(text, filename="mine.yaml")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert session.to_scenario_yaml() == before


def test_upload_rejects_binary_and_other_areas(resources, tmp_path: Path) -> None:
    session = PlannerSession(resources)
    with pytest.raises(InputError, match="not UTF-8"):
        session.load_scenario_yaml(b"\xff\xfe\x00bad", filename="x.yaml")
    other = "version: 1\nname: other\ntitle: Other\nbase: /nowhere/elsewhere.yaml\n"
    with pytest.raises(InputError, match="field 'base'"):
        session.load_scenario_yaml(other, filename="x.yaml")


def test_sessions_do_not_share_state_under_concurrency(area, travel_times, resources) -> None:
    closes = [*CENTRES, "lib-thamesmead", "lib-erith", "com-greenmead", "lib-crayford"]

    def work(venue: str) -> tuple[str, dict, str]:
        session = PlannerSession(resources)
        session.toggle_venue(venue, False)
        return venue, session.metrics(), session.to_scenario_yaml()

    with ThreadPoolExecutor(max_workers=len(closes)) as pool:
        results = list(pool.map(work, closes))
    for venue, metrics, text in results:
        assert yaml.safe_load(text)["changes"] == [{"close": [venue]}]
        centres = [centre for centre in CENTRES if centre != venue]
        assert metrics["covered"] == children(area)[covered_by_hand(area, travel_times, centres)].sum()
        assert set(metrics["centres"]) == set(centres)
    assert PlannerSession(resources).scenario.changes == []


def test_report_is_the_committee_report_of_the_current_scenario(resources) -> None:
    session = PlannerSession(resources)
    session.toggle_venue("cc-north-cray", False)
    page = session.report_html()
    assert page.lstrip().lower().startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "(edited in the planner)" in page
    covered = f"{session.metrics()['covered']:,.0f}"
    assert covered in page
    assert '<script src="http' not in page and '<link href="http' not in page


def test_scenario_yaml_is_the_schema_of_scenarios(resources) -> None:
    for scenario in list_scenarios():
        text = scenario_yaml(scenario)
        assert list(yaml.safe_load(text)) == ["version", "name", "title", "description", "base", "settings", "changes"]


def credentials_file(folder: Path, users: object, mode: int = 0o600) -> Path:
    path = folder / "users.json"
    path.write_text(json.dumps(users), encoding="utf-8")
    path.chmod(mode)
    return path


def test_public_address_needs_authentication_and_secrets_stay_off_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="without authentication"):
        serve_arguments(port=5006, address="0.0.0.0", environ={})
    users = credentials_file(tmp_path, {"planner": "a long enough password"})
    argv, env = serve_arguments(port=5006, address="0.0.0.0", credentials=users, environ={})
    assert "a long enough password" not in " ".join(argv)
    assert "--basic-auth" not in argv and "--cookie-secret" not in argv
    assert env["PANEL_BASIC_AUTH"] == str(users.resolve())
    assert len(env["PANEL_COOKIE_SECRET"]) >= 32  # generated: Panel never answers 500 for a missing secret
    assert argv[argv.index("--basic-login-template") + 1].endswith("login.html")
    _, again = serve_arguments(port=5006, address="0.0.0.0", credentials=users, environ={})
    assert again["PANEL_COOKIE_SECRET"] != env["PANEL_COOKIE_SECRET"]
    _, kept = serve_arguments(
        port=5006, address="0.0.0.0", environ={"GEOPLAN_CREDENTIALS": str(users), "PANEL_COOKIE_SECRET": "given-secret"}
    )
    assert kept["PANEL_COOKIE_SECRET"] == "given-secret"
    with pytest.raises(InputError, match="accepts any user name"):
        serve_arguments(port=5006, address="0.0.0.0", environ={"PANEL_BASIC_AUTH": "pw"})
    argv, env = serve_arguments(port=5006, address="0.0.0.0", environ={"PANEL_OAUTH_PROVIDER": "github"})
    assert "PANEL_COOKIE_SECRET" in env
    local, env = serve_arguments(port=5007, address="127.0.0.1", environ={})
    assert "127.0.0.1:5007" in local and "PANEL_BASIC_AUTH" not in env


@pytest.mark.parametrize(
    ("users", "mode", "message"),
    [
        ({"planner": "a long enough password"}, 0o644, "can be read by other users"),
        ({"bad user!": "a long enough password"}, 0o600, "user name 'bad user!'"),
        ({"planner": "short"}, 0o600, "at least 8 characters"),
        (["planner", "password"], 0o600, "JSON object of user name to password"),
    ],
)
def test_bad_credentials_files_are_refused(tmp_path: Path, users: object, mode: int, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        check_credentials(credentials_file(tmp_path, users, mode))
    assert "\n" not in str(caught.value)


def test_undo_redo_and_unsaved_edits(resources) -> None:
    session = PlannerSession(resources)
    assert not session.unsaved and not session.can_undo
    with pytest.raises(InputError, match="nothing to undo"):
        session.undo()
    session.toggle_venue("cc-north-cray", False)
    session.move_session("greenmead-baby-bank", "lib-thamesmead")
    assert session.unsaved and len(session.scenario.changes) == 2
    session.undo()
    assert [change.kind for change in session.scenario.changes] == ["close"]
    session.undo()
    assert session.scenario.changes == [] and session.can_redo and not session.can_undo
    session.redo()
    assert session.metrics()["children_losing"] > 0
    session.rename("North Cray closed")
    assert session.scenario.name == "north-cray-closed" and not session.unsaved
    with pytest.raises(InputError, match="letters, digits and dashes"):
        session.rename("../../etc/passwd")


def test_edit_history_keeps_the_last_edits_and_moves_only_once_committed() -> None:
    shipped = sorted(list_scenarios(SCENARIO_DIR), key=lambda scenario: scenario.name)
    history = EditHistory(limit=2)
    for scenario in shipped[:3]:
        history.record(scenario)
    assert history.replaced == shipped[1:3] and history.undone == []

    def refuse(scenario: object) -> None:
        msg = "the engine refuses it"
        raise InputError(msg)

    with pytest.raises(InputError, match="refuses"):
        history.undo(shipped[3], refuse)
    assert history.replaced == shipped[1:3] and history.undone == []
    committed = []
    history.undo(shipped[3], committed.append)
    assert committed == [shipped[2]] and history.replaced == [shipped[1]] and history.undone == [shipped[3]]
    history.redo(shipped[2], committed.append)
    assert committed[-1] == shipped[3] and history.replaced == shipped[1:3] and history.undone == []
    with pytest.raises(InputError, match="nothing to redo"):
        history.redo(shipped[3], committed.append)


def test_page_address_token_restores_the_scenario(resources) -> None:
    session = PlannerSession(resources)
    session.load_scenario("bexley-north-cray-to-thamesmead")
    session.toggle_venue("cc-danson", False)
    restored = PlannerSession(resources)
    restored.restore(session.state_token())
    assert restored.to_scenario_yaml() == session.to_scenario_yaml()
    assert restored.metrics() == session.metrics()
    with pytest.raises(InputError, match="damaged"):
        restored.restore("not-a-token")


def test_moving_sessions_shows_the_session_type_gains_and_losses_of_scenario_run(area, travel_times, resources) -> None:
    """Issue 14: the app showed "0 gain, 0 lose" where scenario run showed children losing a session type."""
    session = PlannerSession(resources)
    session.load_scenario("bexley-north-cray-to-thamesmead")
    metrics = session.metrics()
    summary = run_scenario("bexley-north-cray-to-thamesmead", workspace=resources).summary
    assert metrics["session_types"]["children_losing"] == summary["children_losing_a_session_type"] > 0
    assert metrics["session_types"]["children_gaining"] == summary["children_gaining_a_session_type"] > 0
    tables = session.who_changes()
    by_type = session.comparison().session_types
    assert tables["session_types"]["Lose"].sum() == round(by_type["children_losing"]).sum()
    assert "Move" in metrics["changes"][0] and "north-cray" not in " ".join(metrics["changes"])


def test_cli_serve_refuses_public_address_without_auth(mirror: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PANEL_")}
    env["GEOPLAN_DATA"] = str(mirror)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from geoplan.cli import main; main()",
            "serve",
            "--address",
            "0.0.0.0",
            "--port",
            "5999",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("geoplan: error:") and "authentication" in lines[0]
