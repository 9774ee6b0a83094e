"""Registration reach from records, FOI ward tables, and what reaches the output directory.

The records file here is a TEST FIXTURE generated in the test from a seeded RNG: pseudonymous ids
``TEST-0001``..., real Bexley postcodes from OS Code-Point Open, invented dates. No real personal
data exists in this project.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geoplan.errors import InputError
from geoplan.reach import (
    COUNT_MEASURES,
    ReachWarning,
    analyse_reach,
    read_records,
    read_ward_tables,
    ward_table_layer,
    write_ward_tables,
)
from geoplan.reach.records import OUTSIDE_AREA, TOTAL, UNKNOWN_AREA

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 1, 31)
SEED = 20250801
N_CHILDREN = 700
#: Valid-format postcodes that are not in OS Code-Point Open (checked below): "unknown area".
INVENTED_POSTCODES = ("DA18 9ZZ", "DA7 9XX", "DA15 9ZY")
HEADER = ["child_id", "postcode", "date_of_birth", "venue", "attendance_date"]


@pytest.fixture(scope="module")
def fixture_records(bexley, tmp_path_factory):
    """Generate the records file and, independently, what each child should count as."""
    rng = np.random.default_rng(SEED)
    postcodes = bexley.postcodes
    gazetteer = set(postcodes["postcode"])
    assert not gazetteer.intersection(INVENTED_POSTCODES)
    inside = postcodes[postcodes["in_area"]].sort_values("postcode")
    outside = postcodes[~postcodes["in_area"]].sort_values("postcode")["postcode"].to_list()
    # children cluster in a few LSOAs so some cells are large enough to be shown
    lsoas = sorted(inside["lsoa_code"].unique())
    busy = rng.choice(lsoas, size=30, replace=False)
    by_lsoa = {code: group["postcode"].to_list() for code, group in inside.groupby("lsoa_code")}
    venues = bexley.venues.loc[bexley.venues["kind"] == "childrens_centre", "venue_id"].to_list()
    rows, children = [], {}
    start = date(2025, 1, 1)
    for number in range(1, N_CHILDREN + 1):
        child = f"TEST-{number:04d}"
        roll = rng.random()
        if roll < 0.01:
            postcode, place = INVENTED_POSTCODES[number % len(INVENTED_POSTCODES)], UNKNOWN_AREA
        elif roll < 0.02:
            postcode, place = outside[int(rng.integers(len(outside)))], OUTSIDE_AREA
        else:
            lsoa = busy[int(rng.integers(len(busy)))] if rng.random() < 0.8 else lsoas[int(rng.integers(len(lsoas)))]
            postcode, place = by_lsoa[lsoa][int(rng.integers(len(by_lsoa[lsoa])))], lsoa
        dob = start - timedelta(days=int(rng.integers(0, 4 * 365)))
        visits = sorted(int(day) for day in rng.choice(365, size=int(rng.choice([0, 1, 1, 2, 3, 5, 8])), replace=False))
        venue = venues[int(rng.integers(len(venues)))]
        written = postcode.replace(" ", "").lower() if rng.random() < 0.1 else postcode
        if not visits:
            rows.append([child, written, dob.isoformat(), venue, ""])
        for day in visits:
            rows.append([child, written, dob.isoformat(), venue, (start + timedelta(days=day)).isoformat()])
        children[child] = {
            "place": place,
            "postcode": postcode,
            "dob": dob.isoformat(),
            "dates": [(start + timedelta(days=day)).isoformat() for day in visits],
        }
    rows.append(list(rows[10]))  # one exact duplicate row: counted once, with a warning
    path = tmp_path_factory.mktemp("records") / "TEST_FIXTURE_records_not_real.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path, children


def _expected(children: dict, bexley) -> dict[str, dict]:
    """Independent count: plain Python over the generated children."""
    lsoa_ward = dict(zip(bexley.lsoas["lsoa_code"], bexley.lsoas["ward_code"], strict=True))
    lsoa_decile = dict(zip(bexley.lsoas["lsoa_code"], bexley.lsoas["imd_decile"], strict=True))
    tallies = {"lsoa": defaultdict(Counter), "ward": defaultdict(Counter), "decile": defaultdict(Counter)}
    months = defaultdict(Counter)
    for facts in children.values():
        place, visits = facts["place"], len(facts["dates"])
        keys = {"lsoa": place, "ward": lsoa_ward.get(place, place), "decile": lsoa_decile.get(place, place)}
        for table, key in keys.items():
            for target in (key, TOTAL):
                tally = tallies[table][target]
                tally["registered"] += 1
                tally["attended_once_or_more"] += visits >= 1
                tally["attended_more_than_once"] += visits >= 2
                tally["attendances"] += visits
        for day in facts["dates"]:
            months[day[:7]]["attendances"] += 1
    per_month_children = defaultdict(set)
    for child, facts in children.items():
        for day in facts["dates"]:
            per_month_children[day[:7]].add(child)
    return {"tallies": tallies, "months": months, "month_children": per_month_children}


@pytest.fixture(scope="module")
def result(fixture_records, bexley):
    path, _ = fixture_records
    with pytest.warns(ReachWarning) as caught:
        outcome = analyse_reach(path, bexley, today=TODAY)
    outcome.caught = [str(warning.message) for warning in caught]
    return outcome


def test_aggregates_match_an_independent_count(result, fixture_records, bexley):
    _, children = fixture_records
    expected = _expected(children, bexley)
    tallies = expected["tallies"]
    lsoa = result.unprotected["lsoa"]
    assert lsoa.index.tolist() == sorted(bexley.lsoas["lsoa_code"])
    for code in lsoa.index:
        for measure in COUNT_MEASURES:
            assert lsoa.loc[code, measure] == tallies["lsoa"][code][measure], (code, measure)
    assert (lsoa["children_living"] == bexley.lsoas.set_index("lsoa_code")["children_0_4"]).all()
    ward = result.unprotected["ward"]
    assert len(ward) == len(bexley.wards) + 3
    for code in ward.index:
        for measure in COUNT_MEASURES:
            assert ward.loc[code, measure] == tallies["ward"][code][measure], (code, measure)
    assert ward.loc[TOTAL, "registered"] == N_CHILDREN
    assert ward.loc[TOTAL, "children_living"] == 15_035
    decile = result.unprotected["decile"]
    for key in decile.index:
        for measure in COUNT_MEASURES:
            assert decile.loc[key, measure] == tallies["decile"][key][measure], (key, measure)
    unknown = sum(facts["place"] == UNKNOWN_AREA for facts in children.values())
    assert unknown > 0 and ward.loc[UNKNOWN_AREA, "registered"] == unknown
    deprived = result.unprotected["deprived"]
    in_area = sum(1 for facts in children.values() if facts["place"].startswith("E0") and facts["dates"])
    most_30 = sum(tallies["decile"][decile_]["attended_once_or_more"] for decile_ in (1, 2, 3))
    assert deprived.loc["imd_1_3", "attended_once_or_more"] == most_30
    assert deprived.loc["imd_1_3", "share_of_attenders"] == pytest.approx(round(most_30 / in_area, 3))
    monthly = result.unprotected["monthly"]
    assert monthly.index.tolist() == [f"2025-{month:02d}" for month in range(1, 13)]
    for month in monthly.index:
        assert monthly.loc[month, "attendances"] == expected["months"][month]["attendances"]
        assert monthly.loc[month, "children_attending"] == len(expected["month_children"][month])


def test_problems_are_counted_not_named(result, fixture_records):
    _, children = fixture_records
    unknown = sum(facts["place"] == UNKNOWN_AREA for facts in children.values())
    assert result.problems["duplicate_rows"] == 1
    assert result.problems["children_with_postcode_not_found"] == unknown
    assert result.problems["children_with_malformed_postcode"] == 0
    summary = result.to_dict()["problems"]
    assert summary["duplicate_rows"] == 1 and summary["children_with_postcode_not_found"] == unknown >= 5
    assert any("unknown area" in line for line in result.caught)
    for line in result.caught:
        assert "TEST-" not in line
        assert not any(postcode in line for postcode in INVENTED_POSTCODES)


def test_published_tables_suppress_small_counts_and_leak_none(result):
    tables = result.published()
    threshold = result.threshold
    for name, published in tables.items():
        counts = result.unprotected[name]
        for column in result.masks[name].columns:
            if column in ("children_living", "share_of_attenders"):
                continue
            for key in counts.index:
                shown, true = published.loc[key, column], counts.loc[key, column]
                if 1 <= true < threshold:
                    assert shown == "X", (name, key, column)
                assert shown == "X" or shown == true, (name, key, column)
    ward = tables["ward"]
    lsoa = tables["lsoa"]
    # independent audit of the published CSV values: no column equation with exactly one X
    for measure in COUNT_MEASURES:
        column = ward[measure]
        assert (column == "X").sum() != 1, measure
        for ward_code in ward.index[:-3]:
            members = [*lsoa.loc[lsoa["ward_code"] == ward_code, measure].tolist(), ward.loc[ward_code, measure]]
            assert sum(value == "X" for value in members) != 1, (ward_code, measure)
    decile = tables["decile"]
    for measure in COUNT_MEASURES:
        assert (decile[measure] == "X").sum() != 1
    assert (ward["registered"] == "X").any()  # the fixture does exercise suppression
    hidden = ward["registered"] == "X"
    assert (ward.loc[hidden, "reach"] == "X").all()


def test_output_directory_holds_no_row_level_value(result, fixture_records, tmp_path):
    _, children = fixture_records
    written = result.write(tmp_path / "out")
    names = {path.name for path in written}
    assert {
        "reach_by_ward.csv",
        "reach_by_lsoa.csv",
        "reach.gpkg",
        "reach_wards.geojson",
        "reach_summary.json",
    } <= names
    needles = set()
    for child, facts in children.items():
        needles |= {child, facts["postcode"], facts["postcode"].replace(" ", ""), facts["dob"], *facts["dates"]}
        day = date.fromisoformat(facts["dob"])
        needles.add(day.strftime("%d/%m/%Y"))
    blobs = [path.read_bytes() for path in (tmp_path / "out").rglob("*") if path.is_file()]
    assert len(blobs) == len(written)
    for needle in needles:
        for variant in {needle, needle.lower()}:
            encoded = variant.encode()
            assert not any(encoded in blob for blob in blobs), "a row-level value reached the output"
    wards = gpd.read_file(tmp_path / "out" / "reach.gpkg", layer="reach_wards")
    assert wards.crs.to_epsg() == 27700 and len(wards) == 17
    shown = wards[~wards["registered_suppressed"]]
    assert (shown["reach"] - shown["registered"] / shown["children_living"]).abs().max() < 1e-3
    assert wards["registered"].isna().eq(wards["registered_suppressed"]).all()
    geojson = gpd.read_file(tmp_path / "out" / "reach_wards.geojson")
    assert geojson.crs.to_epsg() == 4326
    summary = json.loads((tmp_path / "out" / "reach_summary.json").read_text())
    assert summary["disclosure"]["threshold"] == 5 and summary["months"] == ["2025-01", "2025-12"]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


GOOD_ROW = ["TEST-0001", "DA8 1LW", "2023-05-01", "V1", "2025-03-02"]


@pytest.mark.parametrize(
    ("header", "rows", "expected"),
    [
        (
            ["child_id", "postcode", "venue", "attendance_date"],
            [GOOD_ROW[:2] + GOOD_ROW[3:]],
            "date_of_birth or age_band",
        ),
        (["child_id", "date_of_birth", "venue", "attendance_date"], [GOOD_ROW[:1] + GOOD_ROW[2:]], "field 'postcode'"),
        (HEADER, [], "header but no rows"),
        (HEADER, [[*GOOD_ROW[:4], "2027-01-01"]], "line 2, field 'attendance_date': date is in the future"),
        (
            HEADER,
            [GOOD_ROW, [*GOOD_ROW[:2], "2026-06-01", *GOOD_ROW[3:]]],
            "line 3, field 'date_of_birth': date is in the future",
        ),
        (HEADER, [[*GOOD_ROW[:4], "31/02/2025"]], "line 2, field 'attendance_date': not a date"),
        (HEADER, [["", *GOOD_ROW[1:]]], "line 2, field 'child_id': child id is blank"),
    ],
)
def test_bad_records_give_one_line_errors_without_values(tmp_path, header, rows, expected):
    path = _write(tmp_path / "records.csv", header, rows)
    with pytest.raises(InputError) as caught:
        read_records(path, today=TODAY)
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert "DA8 1LW" not in message and "2023-05-01" not in message and "2026-06-01" not in message


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match="file is empty"):
        read_records(path, today=TODAY)


def test_malformed_postcode_counts_as_unknown_area(tmp_path, bexley):
    path = _write(
        tmp_path / "records.csv",
        HEADER,
        [GOOD_ROW, ["TEST-0002", "NOT A CODE", *GOOD_ROW[2:]], ["TEST-0003", "", *GOOD_ROW[2:]]],
    )
    with pytest.warns(ReachWarning, match="2 child\\(ren\\) with a malformed or blank postcode"):
        outcome = analyse_reach(path, bexley, today=TODAY)
    assert outcome.unprotected["ward"].loc[UNKNOWN_AREA, "registered"] == 2
    assert outcome.unprotected["ward"].loc[TOTAL, "registered"] == 3
    # three children in all: every count is small, so the published table shows X or 0 only
    published = outcome.published()["ward"]
    assert set(published["registered"].astype(str)) <= {"X", "0"}
    # the warning names the count, the written summary does not: it would give away the X
    assert outcome.to_dict()["problems"]["children_with_malformed_postcode"] == "X"


def test_a_higher_threshold_and_records_without_attendances(fixture_records, bexley, tmp_path):
    path, _ = fixture_records
    with pytest.warns(ReachWarning):
        strict = analyse_reach(path, bexley, threshold=10, suppress_zero=True, today=TODAY)
    for name, table in strict.published().items():
        for column in strict.masks[name].columns:
            if column in ("children_living", "share_of_attenders"):
                continue
            numbers = pd.to_numeric(table[column].where(table[column] != "X"))
            assert not ((numbers < 10) & numbers.notna()).any(), (name, column)
    registered_only = _write(tmp_path / "records.csv", HEADER, [[*GOOD_ROW[:4], ""], ["TEST-0002", *GOOD_ROW[1:4], ""]])
    outcome = analyse_reach(registered_only, bexley, today=TODAY)
    assert outcome.months is None and outcome.unprotected["ward"].loc[TOTAL, "attendances"] == 0
    assert outcome.to_dict()["total"]["registered"] == "X"


def test_age_band_and_aliases_are_accepted(tmp_path, bexley):
    path = _write(
        tmp_path / "records.csv",
        ["\ufeffChild ID", "Postcode", "Age band", "Centre", "Date"],
        [["TEST-0001", "da81lw", "0-2", "V1", "02/03/2025"]],
    )
    records, problems = read_records(path, today=TODAY)
    assert records.loc[0, "attendance_date"] == pd.Timestamp("2025-03-02") and problems["duplicate_rows"] == 0


@pytest.fixture(scope="module")
def foi_dir(mirror: Path) -> Path:
    path = mirror / "raw" / "childrens-centres"
    if not path.is_dir():
        pytest.fail(f"FOI tables missing from the mirror: {path}")
    return path


def test_foi_ward_tables_import_with_x_as_suppressed(foi_dir, bexley):
    tables = read_ward_tables(foi_dir)
    assert [table.key for table in tables] == ["foi_16447468_all", "foi_16447669_0_2_years", "foi_16447669_3_4_years"]
    assert [(table.source, table.age_group) for table in tables] == [
        ("FOI_16447468__FOI_16447468.csv", "all"),
        ("FOI_16447669__0-2_Years.csv", "0-2"),
        ("FOI_16447669__3-4_Years.csv", "3-4"),
    ]
    overall, young, older = tables
    assert len(overall.wards) == 17 and overall.outside["registered"].tolist() == [105]
    assert overall.wards["registered"].sum() + 105 == 4290  # the reply's own total
    barnehurst = young.wards.set_index("ward_name").loc["Barnehurst"]
    assert barnehurst["registered"] == 43 and pd.isna(barnehurst["attended_once_or_more"])
    assert barnehurst["attended_once_or_more_suppressed"] and barnehurst["children_living_ons"] == 419
    assert older.wards["registered_suppressed"].sum() == 5
    # the reply's totals add the shown cells only
    assert older.wards["registered"].sum() == 270 and young.wards["attendances"].sum() == 2213
    layer = ward_table_layer(young, bexley)
    row = layer.set_index("ward_name").loc["St Mary's & St James"]  # "St. Mary's & St. James" in the reply
    assert row["registered"] == 35 and row["children_living_ons"] == 528
    assert row["reach_ons"] == pytest.approx(round(35 / 528, 3))
    census = bexley.lsoas.groupby("ward_code")["children_0_4"].sum()
    assert layer.set_index("ward_code").loc["E05011217", "children_living"] == round(census["E05011217"] * 3 / 5)
    whole = ward_table_layer(overall, bexley).set_index("ward_name")
    assert whole.loc["Erith", "reach"] == pytest.approx(round(548 / census["E05011225"], 3))


def test_foi_workbook_reads_like_its_csv(foi_dir):
    from_book = read_ward_tables(foi_dir / "FOI_16447669.xlsx")
    from_csv = read_ward_tables(foi_dir / "FOI_16447669__3-4_Years.csv")
    assert [table.age_group for table in from_book] == ["0-2", "3-4"]
    pd.testing.assert_frame_equal(from_book[1].wards, from_csv[0].wards)


def test_foi_unmatched_ward_is_named(tmp_path, bexley):
    path = tmp_path / "foi.csv"
    path.write_text("Ward Name,No. of Children Currently Registered (Distinct Count)\nErith,12\nBrampton,X\nTotal,12\n")
    (table,) = read_ward_tables(path)
    with pytest.raises(InputError, match="ward 'Brampton' matches no ward of"):
        ward_table_layer(table, bexley)
    path.write_text("Ward Name,No. of Children Currently Registered (Distinct Count)\nErith,twelve\n")
    with pytest.raises(InputError, match=r"row 2, field .No\. of Children Currently Registered"):
        read_ward_tables(path)


def test_foi_layers_are_written(foi_dir, bexley, tmp_path):
    written = write_ward_tables(read_ward_tables(foi_dir), bexley, tmp_path)
    layer = gpd.read_file(tmp_path / "ward_tables.gpkg", layer="foi_16447669_0_2_years")
    assert layer.crs.to_epsg() == 27700 and len(layer) == 17
    assert layer["attended_once_or_more"].isna().sum() == layer["attended_once_or_more_suppressed"].sum() > 0
    published = pd.read_csv(tmp_path / "foi_16447669_0_2_years.csv", dtype=str)
    assert (published.loc[published["ward_name"] == "Barnehurst", "attended_once_or_more"] == "X").all()
    assert gpd.read_file(written[1]).crs.to_epsg() == 4326


def test_cli_reach_writes_and_reports(fixture_records, mirror, tmp_path):
    path, _ = fixture_records
    env = {"GEOPLAN_DATA": str(mirror), "PATH": ""}
    command = [
        sys.executable,
        "-m",
        "geoplan.cli",
        "reach",
        "--records",
        str(path),
        "--out",
        str(tmp_path / "r"),
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["problems"]["duplicate_rows"] == 1 and "TEST-" not in done.stdout + done.stderr
    assert (tmp_path / "r" / "reach.gpkg").is_file()
    foi = [
        sys.executable,
        "-m",
        "geoplan.cli",
        "reach",
        "--foi",
        str(mirror / "raw" / "childrens-centres"),
        "--out",
        str(tmp_path / "f"),
    ]
    done = subprocess.run(foi, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "f" / "ward_tables.gpkg").is_file()
    bad = subprocess.run(
        [*command[:5], str(tmp_path / "missing.csv"), *command[6:]],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "file not found" in bad.stderr


def test_result_repr_holds_no_unsuppressed_counts(result):
    text = repr(result)
    assert "unprotected" not in text and "masks" not in text and "problems=" not in text
    assert str(int(result.unprotected["ward"].loc[TOTAL, "registered"])) not in text
