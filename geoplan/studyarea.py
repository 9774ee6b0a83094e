"""The study area: a local authority's LSOAs, wards, deprivation, children, postcodes and venues.

:func:`load_study_area` reads a layer catalogue (``layers/*.yaml``), finds each source file
(local mirror or download cache, see :mod:`geoplan.sources`), checks it, joins it on LSOA
codes and returns a :class:`StudyArea` whose layers are all in EPSG:27700.

Which LSOAs and wards belong to the local authority comes from the ONS best-fit lookup, so the
same code works for any English LA; a source that has no rows for the LA is an error that names
the file, never an empty result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from geoplan import settings
from geoplan.errors import InputError
from geoplan.fileio import read_csv
from geoplan.layers import AreaCatalogue, load_catalogue
from geoplan.population import UNDER_2_SHARE, UNDER_3_SHARE, children_points
from geoplan.sources import CODEPOINT_HEADER, Source, find_local, get_source
from geoplan.venues import load_sessions, load_venues

#: Extent of the British National Grid (metres); a layer outside it is in the wrong CRS.
BNG_EXTENT = (0.0, 0.0, 700_000.0, 1_300_000.0)


@dataclass(frozen=True)
class SourceInfo:
    """Where one layer's numbers came from."""

    key: str
    title: str
    publisher: str
    vintage: str
    licence: str
    attribution: str
    url: str
    file: str

    @classmethod
    def of(cls, source: Source, path: Path) -> SourceInfo:
        """Describe ``source`` as read from ``path``."""
        return cls(
            key=source.key,
            title=source.title,
            publisher=source.publisher,
            vintage=source.vintage,
            licence=source.licence,
            attribution=source.attribution,
            url=source.url,
            file=path.name,
        )


@dataclass
class StudyArea:
    """Everything a planner's question starts from, for one local authority (EPSG:27700)."""

    la_code: str
    name: str
    catalogue: AreaCatalogue
    boundary: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame
    lsoas: gpd.GeoDataFrame
    postcodes: gpd.GeoDataFrame
    children: gpd.GeoDataFrame
    venues: gpd.GeoDataFrame
    sessions: pd.DataFrame
    provenance: dict[str, SourceInfo] = field(default_factory=dict)

    @property
    def located_venues(self) -> gpd.GeoDataFrame:
        """Venues whose place is known (they can be walked to)."""
        return self.venues[self.venues["located"]]


def _read_csv(key: str, path: Path, **kwargs: object) -> pd.DataFrame:
    frame = read_csv(path, **kwargs)
    if frame.empty:
        msg = f"file has no rows ({get_source(key).title})"
        raise InputError(msg, path=path)
    return frame


def _read_geo(key: str, path: Path) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        msg = f"not a readable geometry file ({str(exc).splitlines()[0]})"
        raise InputError(msg, path=path) from None
    if frame.empty:
        msg = f"file has no features ({get_source(key).title})"
        raise InputError(msg, path=path)
    if frame.crs is None:
        msg = f"geometry has no CRS; expected {settings.measure_crs} or another declared CRS"
        raise InputError(msg, path=path, field="crs")
    frame = frame.to_crs(settings.measure_crs)
    minx, miny, maxx, maxy = frame.total_bounds
    if not (minx >= BNG_EXTENT[0] and miny >= BNG_EXTENT[1] and maxx <= BNG_EXTENT[2] and maxy <= BNG_EXTENT[3]):
        declared = CRS.from_user_input(gpd.read_file(path, rows=1).crs).to_string()
        msg = f"coordinates do not fit the declared CRS {declared} (wrong CRS?)"
        raise InputError(msg, path=path, field="crs")
    return frame


def _canonical(key: str, frame: pd.DataFrame, path: Path, names: tuple[str, ...]) -> pd.DataFrame:
    """Rename the source's spellings of ``names`` to the canonical names and keep only those (plus geometry)."""
    source = get_source(key)
    renames = {source.column(name, frame.columns, path=path): name for name in names}
    keep = list(renames) + (["geometry"] if "geometry" in frame.columns else [])
    out = frame[keep].rename(columns=renames)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs) if "geometry" in out.columns else out


def _require_all(key: str, path: Path, wanted: pd.Index, present: pd.Series, what: str) -> None:
    missing = wanted.difference(pd.Index(present))
    if len(missing):
        msg = f"{len(missing)} of {len(wanted)} {what} of the study area do not join (e.g. {missing[0]})"
        raise InputError(msg, path=path, field=get_source(key).columns["lsoa_code"][0])


def _numeric(frame: pd.DataFrame, columns: tuple[str, ...], path: Path) -> pd.DataFrame:
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().any():
            row = int(values[values.isna()].index[0])
            msg = f"not a number: {frame.loc[row, column]!r}"
            raise InputError(msg, path=path, field=column, row=row + 2)
        frame[column] = values
    return frame


def _read_postcodes(path: Path, area: gpd.GeoSeries, margin_m: float) -> gpd.GeoDataFrame:
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    header = None if first.split(",")[0].strip('"') == CODEPOINT_HEADER[0] else list(CODEPOINT_HEADER)
    frame = _read_csv("codepoint_open", path, names=header)
    names = ("postcode", "easting", "northing", "la_code", "ward_code")
    frame = _numeric(_canonical("codepoint_open", frame, path, names), ("easting", "northing"), path)
    frame["postcode"] = frame["postcode"].str.replace(r"\s+", "", regex=True).str.upper()
    frame["postcode"] = frame["postcode"].str[:-3] + " " + frame["postcode"].str[-3:]
    points = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["easting"], frame["northing"]), crs=settings.measure_crs
    )
    window = area.buffer(margin_m).union_all()
    return points[points.within(window)].drop(columns=["easting", "northing"]).reset_index(drop=True)


def load_study_area(
    path: str | os.PathLike[str] | None = None, *, data_dir: str | os.PathLike[str] | None = None
) -> StudyArea:
    """Load the study area a layer catalogue describes.

    Parameters
    ----------
    path
        A layer catalogue; ``settings.default_area`` (Bexley) when omitted.
    data_dir
        A folder of source files searched before the configured mirror and the cache.

    Returns
    -------
    StudyArea

    Raises
    ------
    InputError
        A source file is empty, lacks a column, has no or the wrong CRS, or does not join
        (the message names the file and field).
    DataSourceError
        A source file is not available locally.
    """
    catalogue = load_catalogue(path or settings.default_area)
    la_code = catalogue.area.la_code
    provenance: dict[str, SourceInfo] = {}

    def locate(layer: str) -> tuple[str, Path]:
        key = catalogue.layers[layer].source
        found = find_local(key, data_dir=data_dir)
        provenance[layer] = SourceInfo.of(get_source(key), found)
        return key, found

    key, lookup_path = locate("ward_lookup")
    lookup = _canonical(
        key, _read_csv(key, lookup_path), lookup_path, ("lsoa_code", "ward_code", "ward_name", "la_code", "la_name")
    )
    lookup = lookup[lookup["la_code"] == la_code]
    if lookup.empty:
        msg = f"no LSOAs for local authority {la_code} in the LSOA-to-ward lookup"
        raise InputError(msg, path=lookup_path, field="la_code")
    lsoa_codes = pd.Index(lookup["lsoa_code"].unique())

    key, lsoa_path = locate("lsoas")
    all_lsoas = _canonical(key, _read_geo(key, lsoa_path), lsoa_path, ("lsoa_code", "lsoa_name"))
    _require_all(key, lsoa_path, lsoa_codes, all_lsoas["lsoa_code"], "LSOAs")
    lsoas = all_lsoas[all_lsoas["lsoa_code"].isin(lsoa_codes)].merge(
        lookup[["lsoa_code", "ward_code", "ward_name"]], on="lsoa_code", validate="one_to_one"
    )

    key, iod_path = locate("deprivation")
    iod_names = ("lsoa_code", "la_code", "imd_score", "imd_rank", "imd_decile", "idaci_score", "idaci_rank",
                 "idaci_decile", "population")  # fmt: skip
    iod = _canonical(key, _read_csv(key, iod_path), iod_path, iod_names)
    if not iod["lsoa_code"].isin(lsoa_codes).any():
        msg = f"no rows for local authority {la_code} ({catalogue.area.name}) in the deprivation file"
        raise InputError(msg, path=iod_path, field="lsoa_code")
    iod = iod[iod["lsoa_code"].isin(lsoa_codes)].reset_index(drop=True)
    _require_all(key, iod_path, lsoa_codes, iod["lsoa_code"], "LSOAs")
    iod = _numeric(iod, iod_names[2:], iod_path)
    for column in ("imd_rank", "imd_decile", "idaci_rank", "idaci_decile", "population"):
        iod[column] = iod[column].astype(int)
    lsoas = lsoas.merge(iod.drop(columns="la_code"), on="lsoa_code", validate="one_to_one")

    key, census_path = locate("population")
    census = _canonical(key, _read_csv(key, census_path), census_path, ("lsoa_code", "children_0_4"))
    census = census[census["lsoa_code"].isin(lsoa_codes)].reset_index(drop=True)
    _require_all(key, census_path, lsoa_codes, census["lsoa_code"], "LSOAs")
    census = _numeric(census, ("children_0_4",), census_path)
    census["children_0_4"] = census["children_0_4"].astype(int)
    census["under_3"] = census["children_0_4"] * UNDER_3_SHARE
    census["under_2"] = census["children_0_4"] * UNDER_2_SHARE
    lsoas = lsoas.merge(census, on="lsoa_code", validate="one_to_one")

    key, pwc_path = locate("lsoa_centroids")
    centroids = _canonical(key, _read_geo(key, pwc_path), pwc_path, ("lsoa_code",))
    centroids = centroids[centroids["lsoa_code"].isin(lsoa_codes)]
    _require_all(key, pwc_path, lsoa_codes, centroids["lsoa_code"], "LSOAs")
    centroid_points = centroids.set_index("lsoa_code").geometry.representative_point()
    lsoas["centroid_x"] = lsoas["lsoa_code"].map(centroid_points.x)
    lsoas["centroid_y"] = lsoas["lsoa_code"].map(centroid_points.y)
    lsoas = lsoas.sort_values("lsoa_code").reset_index(drop=True)

    key, ward_path = locate("wards")
    wards = _canonical(key, _read_geo(key, ward_path), ward_path, ("ward_code", "ward_name"))
    ward_codes = pd.Index(lookup["ward_code"].unique())
    missing_wards = ward_codes.difference(pd.Index(wards["ward_code"]))
    if len(missing_wards):
        msg = f"{len(missing_wards)} ward(s) of the study area missing (e.g. {missing_wards[0]})"
        raise InputError(msg, path=ward_path, field=get_source(key).columns["ward_code"][0])
    wards = wards[wards["ward_code"].isin(ward_codes)].sort_values("ward_code").reset_index(drop=True)
    ward_names = lookup.drop_duplicates("ward_code").set_index("ward_code")["ward_name"]
    wards["ward_name"] = wards["ward_code"].map(ward_names)

    boundary_geometry = lsoas.geometry.union_all()
    la_name = lookup["la_name"].iloc[0]
    boundary = gpd.GeoDataFrame(
        {"la_code": [la_code], "name": [la_name]}, geometry=[boundary_geometry], crs=settings.measure_crs
    )

    key, postcode_path = locate("postcodes")
    postcodes = _read_postcodes(postcode_path, boundary.geometry, catalogue.area.margin_m)
    joined = gpd.sjoin(postcodes, lsoas[["lsoa_code", "geometry"]], how="left", predicate="within")
    postcodes = postcodes.assign(lsoa_code=joined.groupby(level=0)["lsoa_code"].first())
    postcodes["in_area"] = postcodes["lsoa_code"].notna()
    postcodes = postcodes[["postcode", "lsoa_code", "ward_code", "la_code", "in_area", "geometry"]]

    children = children_points(lsoas, postcodes)
    venues = load_venues(catalogue.resolve(catalogue.venues.file), postcodes)
    sessions = load_sessions(catalogue.resolve(catalogue.sessions.file), venues["venue_id"])

    return StudyArea(
        la_code=la_code,
        name=catalogue.area.name,
        catalogue=catalogue,
        boundary=boundary,
        wards=wards,
        lsoas=gpd.GeoDataFrame(lsoas, geometry="geometry", crs=settings.measure_crs),
        postcodes=postcodes,
        children=children,
        venues=venues,
        sessions=sessions,
        provenance=provenance,
    )


def summarise(area: StudyArea) -> dict[str, object]:
    """Headline counts of a study area, each with the publisher and vintage of its source.

    Children in IMD deciles 1-3 are the "0-30% most deprived LSOAs nationally" of committee papers.
    """

    def cite(*layers: str) -> list[dict[str, str]]:
        return [
            {"publisher": area.provenance[layer].publisher, "title": area.provenance[layer].title,
             "vintage": area.provenance[layer].vintage, "file": area.provenance[layer].file}
            for layer in layers
        ]  # fmt: skip

    def by_decile(column: str) -> dict[str, int]:
        counts = area.lsoas.groupby(column)["children_0_4"].sum()
        return {str(decile): int(counts.get(decile, 0)) for decile in range(1, 11)}

    most_deprived_30 = int(area.lsoas.loc[area.lsoas["imd_decile"] <= 3, "children_0_4"].sum())
    kinds = area.venues.groupby("kind").agg(venues=("venue_id", "size"), located=("located", "sum"))
    return {
        "la_code": area.la_code,
        "name": area.name,
        "lsoas": {"count": len(area.lsoas), "sources": cite("lsoas", "ward_lookup")},
        "wards": {"count": len(area.wards), "sources": cite("wards", "ward_lookup")},
        "children_0_4": {"total": int(area.lsoas["children_0_4"].sum()), "sources": cite("population")},
        "children_0_4_by_imd_decile": {"counts": by_decile("imd_decile"), "sources": cite("deprivation", "population")},
        "children_0_4_by_idaci_decile": {
            "counts": by_decile("idaci_decile"),
            "sources": cite("deprivation", "population"),
        },
        "children_0_4_in_imd_deciles_1_to_3": {"total": most_deprived_30, "sources": cite("deprivation", "population")},
        "postcodes": {"in_area": int(area.postcodes["in_area"].sum()), "sources": cite("postcodes")},
        "venues_by_kind": {
            "counts": {kind: {"venues": int(row.venues), "located": int(row.located)} for kind, row in kinds.iterrows()},
            "sources": [{"publisher": "geoplan venue facts file", "file": str(area.catalogue.venues.file)}],
        },
    }
