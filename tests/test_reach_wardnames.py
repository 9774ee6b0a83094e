"""One ward-name matcher for outreach rules and FOI ward tables, checked against the real spellings."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from geoplan.errors import InputError
from geoplan.outreach.rules import load_outreach_rules
from geoplan.reach.foi import read_ward_tables, ward_table_layer
from geoplan.wardnames import WardNames, ward_key

#: The only Bexley ward whose FOI spelling differs from the ONS one (full stops after "St").
FOI_ST_MARYS = "St. Mary's & St. James"


@pytest.fixture(scope="module")
def ons_wards(mirror: Path) -> pd.DataFrame:
    """ONS ward codes and names (December 2025) of Bexley, read straight from the mirror's ONS file."""
    path = mirror / "raw" / "boundaries" / "wards_dec2025_uk_bfc_attributes_centroid_in_bexley_2km.csv"
    frame = pd.read_csv(path, dtype=str)
    frame = frame[frame["LAD25NM"] == "Bexley"]
    return frame.rename(columns={"WD25CD": "ward_code", "WD25NM": "ward_name"})[["ward_code", "ward_name"]]


@pytest.fixture(scope="module")
def foi_names(mirror: Path) -> list[str]:
    """Every ward name in the council's FOI tables (the CSVs, without the 'Outside' and 'Total' rows)."""
    names: set[str] = set()
    for path in sorted((mirror / "raw" / "childrens-centres").glob("FOI_*.csv")):
        rows = pd.read_csv(path, header=None, dtype=str)
        header = rows.index[rows[0] == "Ward Name"][0]
        names.update(name for name in rows[0].iloc[header + 1 :].dropna() if name not in ("Total",))
    return sorted(name for name in names if not name.startswith("Outside"))


def test_the_old_matchers_disagreed_on_a_real_ward() -> None:
    # What outreach/rules.py compared (case, '&' and spaces only) and what reach/foi.py compared
    # (every non-alphanumeric dropped): the FOI spelling passed the second but not the first.
    rules_key = " ".join(FOI_ST_MARYS.replace("&", " and ").lower().split())
    assert rules_key != " ".join("St Mary's & St James".replace("&", " and ").lower().split())
    assert ward_key(FOI_ST_MARYS) == ward_key("St Mary's & St James") == "stmarysandstjames"


def test_every_foi_name_matches_its_ons_ward(bexley, ons_wards, foi_names) -> None:
    assert sorted(bexley.wards["ward_code"]) == sorted(ons_wards["ward_code"])
    names = WardNames(bexley.wards)
    ons_code = dict(zip(ons_wards["ward_name"], ons_wards["ward_code"], strict=True))
    expected = {name: ons_code.get(name) for name in foi_names}
    assert [name for name, code in expected.items() if code is None] == [FOI_ST_MARYS]
    expected[FOI_ST_MARYS] = ons_code["St Mary's & St James"]
    assert {name: names.code(name) for name in foi_names} == expected
    assert len(foi_names) == len(ons_wards) == 17


@pytest.mark.parametrize(
    "written",
    [
        "St Mary's & St James",
        FOI_ST_MARYS,
        "st marys and st james",
        "ST MARY’S & ST JAMES",  # a curly apostrophe, as word processors type it
        "  St Mary's  &  St James ",
        "E05011229",
    ],
)
def test_ways_of_writing_a_ward(bexley, ons_wards, written: str) -> None:
    code = ons_wards.set_index("ward_name").loc["St Mary's & St James", "ward_code"]
    assert WardNames(bexley.wards).code(written) == code


@pytest.mark.parametrize("written", ["Saint Mary's & Saint James", "St Mary's", "Mary's & St James", "Atlantis"])
def test_names_that_match_no_ward(bexley, written: str) -> None:
    assert WardNames(bexley.wards).code(written) is None


def test_rules_file_accepts_the_foi_spelling(bexley, ons_wards, tmp_path: Path) -> None:
    path = tmp_path / "outreach.yaml"
    path.write_text(f'version: 1\nareas:\n  - name: North Cray\n    every_months: 1\n    wards: ["{FOI_ST_MARYS}"]\n')
    (rule,) = load_outreach_rules(path, bexley)
    assert rule.ward_codes == tuple(ons_wards.loc[ons_wards["ward_name"] == "St Mary's & St James", "ward_code"])


def test_foi_table_rows_land_on_the_ons_wards(mirror: Path, bexley, ons_wards) -> None:
    (table,) = read_ward_tables(mirror / "raw" / "childrens-centres" / "FOI_16447468__FOI_16447468.csv")
    layer = ward_table_layer(table, bexley).set_index("ward_name")
    raw = pd.read_csv(mirror / "raw" / "childrens-centres" / "FOI_16447468__FOI_16447468.csv", dtype=str)
    registered = dict(zip(raw["Ward Name"], raw["No. of Children Currently Registered (Distinct Count)"], strict=True))
    assert int(layer.loc["St Mary's & St James", "registered"]) == int(registered[FOI_ST_MARYS]) == 127
    assert layer["registered"].notna().all() and len(layer) == len(ons_wards)


def test_the_same_name_in_two_wards_asks_for_the_code(mirror: Path) -> None:
    # An area mixing two ward vintages: the GLA 2018 file's spelling of the ward, under another code.
    gla = gpd.read_file(mirror / "raw" / "boundaries" / "london_wards_2018_gla_bexley_2km.gpkg")
    assert FOI_ST_MARYS in set(gla["NAME"])
    wards = pd.DataFrame({"ward_code": ["E05011229", "E05000999"], "ward_name": ["St Mary's & St James", FOI_ST_MARYS]})
    names = WardNames(wards)
    with pytest.raises(
        InputError, match=r"^rules.yaml, field 'wards': ward .St Mary's & St James. fits 2 wards"
    ) as info:
        names.code("St Mary's & St James", path="rules.yaml", field="wards")
    assert "E05011229, E05000999" in str(info.value) and "\n" not in str(info.value)
    assert names.code("E05000999") == "E05000999"
