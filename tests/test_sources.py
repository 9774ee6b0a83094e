"""The manifest of sources: names, patterns, columns and the MANIFEST.md table agree with each other and the mirror."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import yaml
from typer.testing import CliRunner

from geoplan import resources, settings
from geoplan.cache import file_sha256
from geoplan.cli import app
from geoplan.errors import DataSourceError, InputError
from geoplan.fetch import FETCH_ORDER, manifest_markdown
from geoplan.fetch.embed import embed_area
from geoplan.sources import (
    CODEPOINT_HEADER,
    EMBEDDED_PROVENANCE,
    SOURCES,
    embedded_areas,
    find_local,
    get_source,
    load_sources,
    match_files,
)

REPO = Path(__file__).resolve().parent.parent
ONS_FEATURESERVER = re.compile(
    r"^https://services1\.arcgis\.com/ESMARspQHYMw9BZ9/arcgis/rest/services/\w+/FeatureServer/0/query$"
)

#: Folder of the mirror each source's file sits in.
MIRROR_FOLDERS = {
    "lsoa_ward_lookup": "lookups",
    "lsoa21_boundaries": "boundaries",
    "wards": "boundaries",
    "lsoa21_pwc": "boundaries",
    "iod2025": "deprivation",
    "census2021_age": "population",
    "codepoint_open": "postcodes",
}


def test_every_source_is_fetched_once_in_dependency_order() -> None:
    assert sorted(FETCH_ORDER) == sorted(SOURCES)
    assert FETCH_ORDER.index("lsoa_ward_lookup") < FETCH_ORDER.index("lsoa21_boundaries")
    assert FETCH_ORDER.index("lsoa21_boundaries") == 1  # every later filter needs the LA outline


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_manifest_entry_is_complete(key: str) -> None:
    source = SOURCES[key]
    assert source.key == key
    assert source.title and source.publisher and source.licence and source.attribution and source.vintage
    assert source.url.startswith("https://")
    if source.access == "arcgis":
        assert ONS_FEATURESERVER.match(source.url), source.url
        assert source.area_filter == "la_code" or source.format == "gpkg"
    if source.access == "file" and source.url.endswith(".zip"):
        assert source.archive_member
    if source.sha256 is not None:
        assert re.fullmatch(r"[0-9a-f]{64}", source.sha256)
    if source.filename is None:
        assert source.access == "overpass"  # geoplan.network caches the network it builds from it
        return
    # The cache file is found again by its own patterns and by no other source's.
    owners = [
        other.key
        for other in SOURCES.values()
        if any(re.fullmatch(_glob(p), source.filename, re.IGNORECASE) for p in other.local_patterns)
    ]
    assert owners == [key]


def _glob(pattern: str) -> str:
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")


@pytest.mark.parametrize("key", sorted(MIRROR_FOLDERS))
def test_mirror_file_of_each_source_has_its_columns(mirror: Path, key: str) -> None:
    raw = mirror / "raw" if (mirror / "raw").is_dir() else mirror
    [path] = [
        path for path in match_files(key, raw) if "bexley" in path.name.lower()
    ]  # the mirror holds other areas too
    assert path.parent.name == MIRROR_FOLDERS[key]
    source = get_source(key)
    if source.format == "gpkg":
        info = pyogrio.read_info(path)
        columns = list(info["fields"])
        assert info["crs"] == settings.measure_crs
    else:
        columns = list(pd.read_csv(path, nrows=0).columns)
        if key == "codepoint_open":
            assert tuple(columns) == CODEPOINT_HEADER
    for canonical in source.columns:
        assert source.column(canonical, columns, path=path) in columns


def test_missing_column_names_file_field_and_accepted_spellings() -> None:
    with pytest.raises(InputError, match=r"^x\.csv, field 'ward_code': missing column 'WD25CD' or 'WD24CD'"):
        get_source("lsoa_ward_lookup").column("ward_code", ["LSOA21CD"], path="x.csv")


def test_find_local_ignores_partial_downloads_and_hidden_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "data_dir", None)
    monkeypatch.setattr(settings, "cache_dir", tmp_path)
    partial = tmp_path / "sources" / ".partial"
    partial.mkdir(parents=True)
    (partial / "File_7_IoD2025_x.csv").write_text("LSOA code (2021)\n")
    (tmp_path / "sources" / ".File_7_IoD2025_tmp.csv").write_text("LSOA code (2021)\n")
    with pytest.raises(DataSourceError, match=r"no file for source 'iod2025'.*geoplan data fetch"):
        find_local("iod2025")
    done = tmp_path / "sources" / get_source("iod2025").filename
    done.write_text("LSOA code (2021)\n")
    assert find_local("iod2025") == done


def test_unknown_source_is_a_one_line_error() -> None:
    with pytest.raises(InputError, match="unknown data source 'imd2019'; known: census2021_age"):
        get_source("imd2019")


def test_manifest_md_is_the_generated_table() -> None:
    text = (REPO / "data" / "boundaries" / "MANIFEST.md").read_text(encoding="utf-8")
    assert text == manifest_markdown(), "regenerate MANIFEST.md with geoplan.fetch.manifest_markdown()"
    for source in SOURCES.values():
        assert source.url in text and (source.filename is None or f"sources/{source.filename}" in text)


def _tuples(value: object) -> object:
    if isinstance(value, list):
        return tuple(value)
    return {name: _tuples(item) for name, item in value.items()} if isinstance(value, dict) else value


def test_manifest_is_read_from_the_shipped_yaml_file() -> None:
    path = resources.sources_manifest()
    assert path == REPO / "data" / "boundaries" / "sources.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(SOURCES) == list(entries)
    for key, entry in entries.items():
        source = SOURCES[key]
        assert {name: getattr(source, name) for name in entry} == _tuples(entry)
        assert source.url == entry.get("url", settings.overpass_url)
        assert source.model_dump(exclude_defaults=True).keys() <= {"key", "url", *entry}


def test_overpass_url_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "overpass_url", "https://overpass.example.org/api/interpreter")
    sources = load_sources(resources.sources_manifest())
    assert sources["osm_overpass"].url == "https://overpass.example.org/api/interpreter"
    assert {key: source for key, source in sources.items() if key != "osm_overpass"} == {
        key: source for key, source in SOURCES.items() if key != "osm_overpass"
    }


BROKEN_MANIFESTS = [
    ("  licence: OS OpenData licence (Open Government Licence v3.0)\n", "", "codepoint_open.licence", "Field required"),
    (
        "  access: arcgis\n  filename: Lower_layer",
        "  access: ftp\n  filename: Lower_layer",
        "lsoa21_boundaries.access",
        "Input should be 'file', 'arcgis' or 'overpass'",
    ),
    ("  format: osm\n", "  format: osm\n  licnce: ODbL\n", "osm_overpass.licnce", "Extra inputs are not permitted"),
    (
        "    lsoa_code: [LSOA21CD]\n    lsoa_name:",
        "    lsoa_code: LSOA21CD\n    lsoa_name:",
        "lsoa21_boundaries.columns.lsoa_code",
        "Input should be a valid tuple",
    ),
    (
        "wards:\n  title: Wards",
        "wards: Wards\nformer_wards:\n  title: Wards",
        "wards",
        "not a mapping of source fields",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "field", "message"), BROKEN_MANIFESTS, ids=[case[2] for case in BROKEN_MANIFESTS]
)
def test_broken_manifest_is_one_line_naming_file_and_field(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    text = resources.sources_manifest().read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "sources.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError, match=f"^{re.escape(f'{path}, field {field!r}: {message}')}") as error:
        load_sources(path)
    assert "\n" not in str(error.value)


def test_data_sources_command_lists_the_manifest() -> None:
    result = CliRunner().invoke(app, ["data", "sources", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["key"] for row in rows] == list(FETCH_ORDER)
    assert all(row["publisher"] and row["licence"] and row["url"] for row in rows)


#: The embedded default data may take at most this many bytes of the package.
EMBEDDED_MAX_BYTES = 5 * 1024 * 1024


def test_embedded_default_area_is_the_mirror_cut_to_what_the_area_reads(mirror: Path, tmp_path: Path) -> None:
    shipped = resources.embedded_data_dir() / "bexley"
    record = yaml.safe_load((shipped / EMBEDDED_PROVENANCE).read_text(encoding="utf-8"))
    assert record["la_code"] == "E09000004" and embedded_areas() == {"E09000004": shipped}
    assert sum(path.stat().st_size for path in shipped.iterdir()) <= EMBEDDED_MAX_BYTES
    names = [entry["file"] for entry in record["files"]]
    assert sorted(path.name for path in shipped.iterdir()) == sorted([*names, EMBEDDED_PROVENANCE])

    embed_area(REPO / "layers" / "bexley.yaml", tmp_path, data_dir=mirror)
    rebuilt = yaml.safe_load((tmp_path / EMBEDDED_PROVENANCE).read_text(encoding="utf-8"))
    for entry, again in zip(record["files"], rebuilt["files"], strict=True):
        path = shipped / entry["file"]
        assert file_sha256(path) == entry["sha256"], f"{path} differs from its provenance record"
        assert all(entry[field] for field in ("publisher", "vintage", "licence", "attribution", "copied_from"))
        assert match_files(entry["source"], shipped) == [path]
        unchanging = {key: value for key, value in entry.items() if key not in ("sha256", "copied_from")}
        assert unchanging == {key: value for key, value in again.items() if key not in ("sha256", "copied_from")}
        if path.suffix == ".gpkg":  # a GeoPackage records when it was written: compare the features
            pd.testing.assert_frame_equal(gpd.read_file(path), gpd.read_file(tmp_path / path.name))
        else:
            assert path.read_bytes() == (tmp_path / path.name).read_bytes()
    assert [entry["rows"] for entry in record["files"] if entry["source"] != "codepoint_open"] == [
        148,
        17,
        148,
        148,
        148,
        148,
    ]
