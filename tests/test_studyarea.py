"""The study area loads from the real mirror, adds up, and rejects bad inputs with one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geoplan import settings
from geoplan.errors import DataSourceError, InputError
from geoplan.studyarea import load_study_area, summarise

REPO = Path(__file__).resolve().parent.parent
BEXLEY = REPO / "layers" / "bexley.yaml"


@pytest.fixture
def raw_copy(mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the mirror's raw files that a test may damage; nothing else is searched."""
    raw = tmp_path / "raw"
    shutil.copytree(mirror / "raw", raw, ignore=shutil.ignore_patterns("osm", "childrens-centres"))
    monkeypatch.setattr(settings, "data_dir", None)
    monkeypatch.setattr(settings, "cache_dir", tmp_path / "cache")
    return raw


def read_all(folder: Path, pattern: str) -> pd.DataFrame:
    """Every file of one source in the mirror (it holds subsets for several areas), as one table."""
    return pd.concat([pd.read_csv(path) for path in sorted(folder.glob(pattern))]).drop_duplicates()


def independent_totals(mirror: Path) -> tuple[int, int]:
    """Children 0-4 in Bexley, and in its LSOAs in IMD deciles 1-3, straight from the source CSVs."""
    census = read_all(mirror / "raw" / "population", "census2021-ts007a*.csv")
    iod = read_all(mirror / "raw" / "deprivation", "File_7_IoD2025*.csv")
    iod = iod[iod["Local Authority District code (2024)"] == "E09000004"]
    joined = census.merge(iod, left_on="geography code", right_on="LSOA code (2021)")
    deciles = joined["Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"]
    children = joined["Age: Aged 4 years and under"]
    return int(children.sum()), int(children[deciles <= 3].sum())


def test_bexley_counts_match_the_sources(bexley, mirror: Path) -> None:
    total, most_deprived = independent_totals(mirror)
    assert len(bexley.lsoas) == 148
    assert len(bexley.wards) == 17
    assert total == 15_035
    assert bexley.lsoas["children_0_4"].sum() == total
    summary = summarise(bexley)
    assert summary["children_0_4"]["total"] == total
    assert summary["children_0_4_in_imd_deciles_1_to_3"]["total"] == most_deprived
    assert sum(summary["children_0_4_by_imd_decile"]["counts"].values()) == total
    assert sum(summary["children_0_4_by_idaci_decile"]["counts"].values()) == total


def test_layers_are_projected_and_joined(bexley) -> None:
    for layer in (bexley.lsoas, bexley.wards, bexley.postcodes, bexley.children, bexley.boundary):
        assert layer.crs.to_epsg() == 27700
    assert bexley.lsoas["imd_decile"].between(1, 10).all()
    assert bexley.lsoas["idaci_decile"].between(1, 10).all()
    assert bexley.lsoas["ward_code"].isin(bexley.wards["ward_code"]).all()
    # Bexley is 60.5 km² and equal to the union of its LSOAs.
    assert bexley.boundary.geometry.area.iloc[0] / 1e6 == pytest.approx(60.54, abs=0.05)
    inside = bexley.postcodes[bexley.postcodes["in_area"]]
    assert inside.within(bexley.boundary.geometry.iloc[0].buffer(1)).all()


def test_children_points_preserve_every_lsoa_total(bexley) -> None:
    per_lsoa = bexley.children.groupby("lsoa_code")["children_0_4"].sum()
    expected = bexley.lsoas.set_index("lsoa_code")["children_0_4"]
    pd.testing.assert_series_equal(per_lsoa.sort_index(), expected.sort_index(), check_names=False)
    assert bexley.children["under_3"].sum() == pytest.approx(15_035 * 3 / 5)
    assert bexley.children["under_2"].sum() == pytest.approx(15_035 * 2 / 5)
    under_3 = bexley.children.groupby("lsoa_code")["under_3"].sum()
    np.testing.assert_allclose(under_3.sort_index(), bexley.lsoas.set_index("lsoa_code")["under_3"].sort_index())
    shares = bexley.children.groupby("lsoa_code")["children_0_4"].agg(["min", "max"])
    assert (shares["max"] - shares["min"]).le(1).all()


def test_venues_are_geocoded_through_code_point(bexley, mirror: Path) -> None:
    venues = bexley.venues.set_index("venue_id")
    assert len(venues) == 60
    assert venues["located"].sum() == 48
    codepoint = read_all(mirror / "raw" / "postcodes", "codepoint_open*.csv")
    west_street = codepoint[codepoint["Postcode"] == "DA8 1LW"].iloc[0]
    point = venues.loc["cc-west-street", "geometry"]
    assert (point.x, point.y) == (west_street["Eastings"], west_street["Northings"])
    assert not venues.loc["ey-hillsgrove", "located"]
    sessions = bexley.sessions
    assert sessions["venue_id"].isin(venues.index).all()
    assert set(sessions.loc[sessions["venue_id"] == "cc-north-cray", "session_type"]) >= {"health_clinic"}


def test_another_london_borough_without_iod_rows_is_a_clear_error(mirror: Path, tmp_path: Path) -> None:
    catalogue = BEXLEY.read_text().replace("E09000004", "E09000011").replace("London Borough of Bexley", "Greenwich")
    greenwich = tmp_path / "greenwich.yaml"
    greenwich.write_text(catalogue.replace("bexley/", str(REPO / "layers" / "bexley") + "/"))
    with pytest.raises(InputError, match=r"File_7_IoD2025.*no rows for local authority E09000011"):
        load_study_area(greenwich, data_dir=mirror)


def damage(path: Path, transform) -> None:
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        transform(frame).to_csv(path, index=False)
    else:
        frame = gpd.read_file(path)
        result = transform(frame)
        path.unlink()
        result.to_file(path, driver="GPKG")


CASES = {
    "renamed IoD column": (
        "deprivation/File_7*.csv",
        lambda f: f.rename(
            columns={"Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)": "IMD decile"}
        ),
        r"File_7_IoD2025.*field 'imd_decile'",
    ),
    "LSOA codes that do not join": (
        "population/census2021*.csv",
        lambda f: f.assign(**{"geography code": f["geography code"].str.replace("E01000", "X01000")}),
        r"census2021-ts007a.*LSOAs of the study area do not join",
    ),
    "boundaries with no CRS": (
        "boundaries/lsoa21_london*.gpkg",
        lambda f: f.set_crs(None, allow_override=True),
        r"lsoa21_london.*field 'crs'.*no CRS",
    ),
    "boundaries in the wrong CRS": (
        "boundaries/london_wards*.gpkg",
        lambda f: f.set_crs("EPSG:4326", allow_override=True),
        r"london_wards.*field 'crs'.*wrong CRS",
    ),
    "empty lookup": (
        "lookups/lsoa21*.csv",
        lambda f: f.iloc[0:0],
        r"lsoa21_to_ward.*(no rows|empty)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_source_file_gives_one_line_error(raw_copy: Path, case: str) -> None:
    pattern, transform, message = CASES[case]
    damage(sorted(raw_copy.glob(pattern))[0], transform)
    with pytest.raises(InputError, match=message) as caught:
        load_study_area(BEXLEY, data_dir=raw_copy)
    assert "\n" not in str(caught.value)


def test_missing_source_file_names_the_source(raw_copy: Path) -> None:
    for path in raw_copy.glob("deprivation/File_7*.csv"):
        path.unlink()
    with pytest.raises(DataSourceError, match=r"no file for source 'iod2025'"):
        load_study_area(BEXLEY, data_dir=raw_copy)


def test_empty_source_file(raw_copy: Path) -> None:
    sorted(raw_copy.glob("population/census2021*.csv"))[0].write_text("")
    with pytest.raises(InputError, match=r"census2021-ts007a.*empty"):
        load_study_area(BEXLEY, data_dir=raw_copy)


def catalogue_with_venues(tmp_path: Path, venues: pd.DataFrame) -> Path:
    folder = tmp_path / "area"
    folder.mkdir()
    venues.to_csv(folder / "venues.csv", index=False)
    shutil.copy(REPO / "layers" / "bexley" / "sessions.csv", folder / "sessions.csv")
    catalogue = (
        BEXLEY.read_text()
        .replace("bexley/venues.csv", "area/venues.csv")
        .replace("bexley/sessions.csv", "area/sessions.csv")
    )
    path = tmp_path / "area.yaml"
    path.write_text(catalogue)
    return path


def bexley_venues() -> pd.DataFrame:
    return pd.read_csv(REPO / "layers" / "bexley" / "venues.csv", dtype=str, keep_default_na=False)


def test_unknown_postcode_names_the_row(mirror: Path, tmp_path: Path) -> None:
    venues = bexley_venues()
    venues.loc[3, "postcode"] = "DA8 1QQ"
    with pytest.raises(InputError, match=r"venues.csv, (row|line) 5, field 'postcode'.*DA8 1QQ"):
        load_study_area(catalogue_with_venues(tmp_path, venues), data_dir=mirror)


def test_duplicate_venue_id_names_the_row(mirror: Path, tmp_path: Path) -> None:
    venues = bexley_venues()
    venues.loc[10, "venue_id"] = venues.loc[2, "venue_id"]
    with pytest.raises(InputError, match=r"venues.csv, (row|line) 12, field 'venue_id'.*duplicate"):
        load_study_area(catalogue_with_venues(tmp_path, venues), data_dir=mirror)


def test_cli_summary_json(mirror: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "geoplan.cli", "area", "summary", "--json"],
        capture_output=True,
        text=True,
        env={"GEOPLAN_DATA": str(mirror), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    summary = json.loads(run.stdout)
    assert summary["lsoas"]["count"] == 148
    assert summary["wards"]["count"] == 17
    assert summary["children_0_4"]["total"] == 15_035
    assert summary["children_0_4"]["sources"][0]["publisher"].startswith("Office for National Statistics")


def test_cli_bad_catalogue_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\narea: [unclosed\n")
    run = subprocess.run(
        [sys.executable, "-m", "geoplan.cli", "area", "summary", "--area", str(bad)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "bad.yaml" in run.stderr and "line" in run.stderr


NEW_SOUTHGATE = REPO / "layers" / "new-southgate.yaml"
IMD_DECILE = "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"
IDACI_DECILE = "Income Deprivation Affecting Children Index (IDACI) Decile (where 1 is most deprived 10% of LSOAs)"


def catalogue_for_area(tmp_path: Path, area_lines: str) -> Path:
    """The New Southgate catalogue with another ``area:`` block (facts files by absolute path)."""
    text = NEW_SOUTHGATE.read_text()
    head, rest = text.split("area:\n", 1)
    rest = rest[rest.index("layers:") :]
    folder = str(REPO / "layers" / "new-southgate")
    path = tmp_path / "area.yaml"
    path.write_text(head + "area:\n" + area_lines + rest.replace("new-southgate/", folder + "/"))
    return path


def raw_children(mirror: Path, lsoa_codes: list[str]) -> pd.DataFrame:
    census = read_all(mirror / "raw" / "population", "census2021-ts007a*.csv").set_index("geography code")
    iod = read_all(mirror / "raw" / "deprivation", "File_7_IoD2025*.csv").set_index("LSOA code (2021)")
    return pd.DataFrame(
        {
            "children": census.loc[lsoa_codes, "Age: Aged 4 years and under"].to_numpy(),
            "imd": iod.loc[lsoa_codes, IMD_DECILE].to_numpy(),
            "idaci": iod.loc[lsoa_codes, IDACI_DECILE].to_numpy(),
        }
    )


def test_wards_from_two_local_authorities(mirror: Path, tmp_path: Path) -> None:
    wards = ["E05013686", "E05013586"]  # New Southgate (Enfield), Bounds Green (Haringey)
    path = catalogue_for_area(tmp_path, f"  wards: [{', '.join(wards)}]\n  name: New Southgate and Bounds Green\n")
    area = load_study_area(path, data_dir=mirror)
    lookup = read_all(mirror / "raw" / "lookups", "lsoa21_to_ward*.csv")
    codes = sorted(lookup.loc[lookup["WD25CD"].isin(wards), "LSOA21CD"].unique())
    expected = raw_children(mirror, codes)
    assert area.la_codes == ("E09000010", "E09000014")
    assert sorted(area.lsoas["lsoa_code"]) == codes and len(codes) == 10
    assert sorted(area.wards["ward_code"]) == sorted(wards)
    summary = summarise(area)
    assert summary["children_0_4"]["total"] == expected["children"].sum() == 1127
    assert (
        summary["children_0_4_in_imd_deciles_1_to_3"]["total"]
        == expected.loc[expected["imd"] <= 3, "children"].sum()
        == 537
    )
    assert (
        summary["children_0_4_in_idaci_deciles_1_to_3"]["total"]
        == expected.loc[expected["idaci"] <= 3, "children"].sum()
        == 446
    )


def test_an_area_of_named_lsoas(mirror: Path, tmp_path: Path) -> None:
    codes = ["E01001528", "E01001529"]
    path = catalogue_for_area(
        tmp_path, f"  lsoas: [{', '.join(codes)}]\n  name: Two LSOAs of New Southgate\n  margin_m: 3000\n"
    )
    area = load_study_area(path, data_dir=mirror)
    assert sorted(area.lsoas["lsoa_code"]) == codes
    assert area.lsoas["children_0_4"].sum() == raw_children(mirror, codes)["children"].sum()
    assert area.children["children_0_4"].sum() == area.lsoas["children_0_4"].sum()


@pytest.mark.parametrize(
    ("area_lines", "message"),
    [
        ("  wards: [E05099999]\n  name: Nowhere\n", r"lsoa21_to_ward.*field 'area.wards'.*E05099999"),
        (
            "  la_code: E09000010\n  wards: [E05013686]\n  name: Both\n",
            r"field 'area'.*exactly one of la_code, wards, lsoas",
        ),
        ("  wards: [E01001528]\n  name: An LSOA code as a ward\n", r"field 'area.wards.0'"),
        ("  wards: [E05013686, E05013686]\n  name: Twice\n", r"E05013686 twice"),
    ],
)
def test_bad_area_definitions_are_one_line_errors(mirror: Path, tmp_path: Path, area_lines: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        load_study_area(catalogue_for_area(tmp_path, area_lines), data_dir=mirror)
    assert "\n" not in str(caught.value)


def test_complete_extent_must_be_an_ordered_box(tmp_path: Path) -> None:
    text = NEW_SOUTHGATE.read_text().replace(
        "[528177.7, 190789.8, 531566.5, 193082.0]", "[531566.5, 190789.8, 528177.7, 193082.0]"
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=r"field 'network.complete_extent'.*min < max"):
        load_study_area(path)


def test_programme_centre_kinds_are_checked(tmp_path: Path) -> None:
    text = NEW_SOUTHGATE.read_text().replace(
        "centre_kinds: [childrens_centre, send_hub, library]", "centre_kinds: [libary]"
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=r"field 'programme.centre_kinds'.*unknown venue kind 'libary'"):
        load_study_area(path)
