"""The study area: LSOAs, wards, deprivation, children, postcodes and venues of a programme area.

:func:`load_study_area` reads a layer catalogue (``layers/*.yaml``), finds each source file
(local mirror or download cache, see :mod:`geoplan.sources`), checks it, joins it on LSOA
codes and returns a :class:`StudyArea` whose layers are all in EPSG:27700.

An area is a whole local authority, a list of wards (possibly from several authorities) or a
list of LSOAs. Which LSOAs belong to it always comes from the ONS best-fit lookup, so the same
code works anywhere in England; a source that has no rows for the area is an error that names
the file, never an empty result.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from geoplan import settings
from geoplan.errors import InputError
from geoplan.fileio import csv_line, read_csv
from geoplan.layers import AreaCatalogue, AreaSpec, load_catalogue
from geoplan.population import UNDER_2_SHARE, UNDER_3_SHARE, children_points
from geoplan.sources import CODEPOINT_HEADER, Source, find_local, get_source, match_files, origin_of, search_roots
from geoplan.text import plural
from geoplan.venues import load_sessions, load_venues

#: Extent of the British National Grid (metres); a layer outside it is in the wrong CRS.
BNG_EXTENT = (0.0, 0.0, 700_000.0, 1_300_000.0)

#: IMD / IDACI deciles 1-3: "the 0-30% most deprived LSOAs nationally" of committee papers.
MOST_DEPRIVED_DECILE = 3

#: Lookup column that holds the codes a catalogue names its area by.
MEMBERSHIP_COLUMNS = {"la_code": "la_code", "wards": "ward_code", "lsoas": "lsoa_code"}

#: Column of ``children`` and ``venues``: the point lies beyond the walking network's complete extent.
BEYOND_NETWORK = "beyond_network_extent"


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
    #: Where the file was found: GEOPLAN_DATA, data folder, cache or embedded default (geoplan.sources.locate).
    origin: str
    folder: str

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
            origin=origin_of(path),
            folder=str(path.parent),
        )


@dataclass
class StudyArea:
    """Everything a planner's question starts from, for a local authority, some wards or some LSOAs (EPSG:27700).

    ``children`` and ``venues`` carry ``beyond_network_extent``: the point lies outside the box in
    which the walking network is complete (``network.complete_extent`` of the catalogue), so
    walks to or from it may be longer than they really are.
    """

    la_codes: tuple[str, ...]
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
    def la_code(self) -> str:
        """The ONS code of the area's local authority, or the codes joined by " + " when it spans several."""
        return " + ".join(self.la_codes)

    @property
    def network_extent(self) -> tuple[float, float, float, float] | None:
        """The box (EPSG:27700) in which the area's walking network is complete, when the catalogue states one."""
        return self.catalogue.network.complete_extent

    @property
    def example_postcode(self) -> str:
        """A real postcode of the area for hints ("such as N11 1BD"): a located venue's, else the first in the area."""
        located = self.venues.loc[self.venues["located"], "postcode"]
        return (
            str(located.iloc[0])
            if len(located)
            else str(self.postcodes.loc[self.postcodes["in_area"], "postcode"].iloc[0])
        )

    @property
    def located_venues(self) -> gpd.GeoDataFrame:
        """Venues whose place is known (they can be walked to)."""
        return self.venues[self.venues["located"]]


def _read_csv(key: str, path: Path, **kwargs: object) -> pd.DataFrame:
    frame = read_csv(path, limit_size=False, **kwargs)  # a published source file, national in size
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


def _numeric(frame: pd.DataFrame, columns: tuple[str, ...], path: Path, *, header: bool = True) -> pd.DataFrame:
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(float))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            msg = f"not a number: {str(frame[column].iloc[row])[:40]!r}"
            raise InputError(msg, path=path, field=column, line=csv_line(path, row, header=header))
        frame[column] = values
    return frame


def _read_postcodes(path: Path, area: gpd.GeoSeries, margin_m: float) -> gpd.GeoDataFrame:
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    header = None if first.split(",")[0].strip('"') == CODEPOINT_HEADER[0] else list(CODEPOINT_HEADER)
    frame = _read_csv("codepoint_open", path, names=header)
    names = ("postcode", "easting", "northing", "la_code", "ward_code")
    frame = _numeric(
        _canonical("codepoint_open", frame, path, names), ("easting", "northing"), path, header=header is None
    )
    frame["postcode"] = frame["postcode"].str.replace(r"\s+", "", regex=True).str.upper()
    frame["postcode"] = frame["postcode"].str[:-3] + " " + frame["postcode"].str[-3:]
    points = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["easting"], frame["northing"]), crs=settings.measure_crs
    )
    window = area.buffer(margin_m).union_all()
    return points[points.within(window)].drop(columns=["easting", "northing"]).reset_index(drop=True)


def _candidate_files(key: str, data_dir: str | os.PathLike[str] | None, la_code: str | None) -> list[Path]:
    """Every local file of source ``key``, most specific folder first (a mirror may hold files of several areas)."""
    paths = [path for _, root in search_roots(data_dir, la_code=la_code) for path in match_files(key, root)]
    return paths or [find_local(key, data_dir=data_dir, la_code=la_code)]


def _first_covering(
    paths: list[Path], read: Callable[[Path], pd.DataFrame], covers: Callable[[pd.DataFrame], bool]
) -> tuple[Path, pd.DataFrame]:
    """The first file whose rows cover the study area, else the first file (whose checks then name what is missing).

    A broken file (empty, a column missing, no CRS) is an error at once, never skipped.
    """
    first = (paths[0], read(paths[0]))
    if covers(first[1]):
        return first
    for path in paths[1:]:
        frame = read(path)
        if covers(frame):
            return path, frame
    return first


def _area_label(spec: AreaSpec) -> str:
    if spec.la_code is not None:
        return f"local authority {spec.la_code} ({spec.name})"
    codes = spec.wards if spec.wards is not None else spec.lsoas
    what = "ward" if spec.wards is not None else "LSOA"
    return f"the {plural(len(codes), what)} of {spec.name}"


def _members(lookup: pd.DataFrame, spec: AreaSpec) -> pd.DataFrame:
    """Rows of the LSOA-to-ward lookup that belong to the area the catalogue names."""
    column = MEMBERSHIP_COLUMNS[spec.defined_by]
    wanted = getattr(spec, spec.defined_by)
    return lookup[lookup[column].isin([wanted] if isinstance(wanted, str) else wanted)]


def _lookup_covers(lookup: pd.DataFrame, spec: AreaSpec) -> bool:
    members = _members(lookup, spec)
    if spec.la_code is not None:
        return not members.empty
    wanted = spec.wards if spec.wards is not None else spec.lsoas
    return set(wanted) <= set(members[MEMBERSHIP_COLUMNS[spec.defined_by]])


def load_study_area(
    path: str | os.PathLike[str] | None = None, *, data_dir: str | os.PathLike[str] | None = None
) -> StudyArea:
    """Load the study area a layer catalogue describes.

    Which LSOAs belong to the area (a local authority, a list of wards or a list of LSOAs)
    comes from the ONS LSOA-to-ward lookup. When the data folders hold several files of one
    source (national files, or subsets for several areas), each layer is read from the first
    file that holds every LSOA (or ward) of the area.

    Parameters
    ----------
    path
        A layer catalogue; ``settings.default_area`` when omitted.
    data_dir
        A folder of source files searched before the configured mirror and the cache.

    Returns
    -------
    StudyArea

    Raises
    ------
    InputError
        A source file is empty, lacks a column, has no or the wrong CRS, or does not join, or
        a ward or LSOA the catalogue names is not in the lookup (the message names the file and field).
    DataSourceError
        A source file is not available locally.
    """
    catalogue = load_catalogue(path or settings.default_area)
    spec = catalogue.area
    provenance: dict[str, SourceInfo] = {}

    def select(
        layer: str, read: Callable[[str, Path], pd.DataFrame], covers: Callable[[pd.DataFrame], bool]
    ) -> tuple[str, Path, pd.DataFrame]:
        key = catalogue.layers[layer].source
        found, frame = _first_covering(
            _candidate_files(key, data_dir, spec.la_code), lambda candidate: read(key, candidate), covers
        )
        provenance[layer] = SourceInfo.of(get_source(key), found)
        return key, found, frame

    def covers_lsoas(frame: pd.DataFrame) -> bool:
        return bool(pd.Index(lsoa_codes).isin(frame["lsoa_code"]).all())

    lookup_names = ("lsoa_code", "ward_code", "ward_name", "la_code", "la_name")
    key, lookup_path, lookup = select(
        "ward_lookup",
        lambda key, found: _canonical(key, _read_csv(key, found), found, lookup_names),
        lambda frame: _lookup_covers(frame, spec),
    )
    members = _members(lookup, spec)
    if spec.la_code is not None and members.empty:
        msg = f"no LSOAs for local authority {spec.la_code} in the LSOA-to-ward lookup"
        raise InputError(msg, path=lookup_path, field="la_code")
    if spec.la_code is None:
        column = MEMBERSHIP_COLUMNS[spec.defined_by]
        absent = [code for code in getattr(spec, spec.defined_by) if code not in set(members[column])]
        if absent:
            msg = f"{plural(len(absent), 'code')} of the catalogue's area.{spec.defined_by} not in the lookup (e.g. {absent[0]})"
            raise InputError(msg, path=lookup_path, field=f"area.{spec.defined_by}")
    lookup = members
    lsoa_codes = pd.Index(lookup["lsoa_code"].unique())

    key, lsoa_path, all_lsoas = select(
        "lsoas",
        lambda key, found: _canonical(key, _read_geo(key, found), found, ("lsoa_code", "lsoa_name")),
        covers_lsoas,
    )
    _require_all(key, lsoa_path, lsoa_codes, all_lsoas["lsoa_code"], "LSOAs")
    lsoas = all_lsoas[all_lsoas["lsoa_code"].isin(lsoa_codes)].merge(
        lookup[["lsoa_code", "ward_code", "ward_name"]], on="lsoa_code", validate="one_to_one"
    )

    iod_names = (
        "lsoa_code",
        "la_code",
        "imd_score",
        "imd_rank",
        "imd_decile",
        "idaci_score",
        "idaci_rank",
        "idaci_decile",
        "population",
    )
    key, iod_path, iod = select(
        "deprivation", lambda key, found: _canonical(key, _read_csv(key, found), found, iod_names), covers_lsoas
    )
    if not iod["lsoa_code"].isin(lsoa_codes).any():
        msg = f"no rows for {_area_label(spec)} in the deprivation file"
        raise InputError(msg, path=iod_path, field="lsoa_code")
    iod = iod[iod["lsoa_code"].isin(lsoa_codes)].reset_index(drop=True)
    _require_all(key, iod_path, lsoa_codes, iod["lsoa_code"], "LSOAs")
    iod = _numeric(iod, iod_names[2:], iod_path)
    for column in ("imd_rank", "imd_decile", "idaci_rank", "idaci_decile", "population"):
        iod[column] = iod[column].astype(int)
    lsoas = lsoas.merge(iod.drop(columns="la_code"), on="lsoa_code", validate="one_to_one")

    key, census_path, census = select(
        "population",
        lambda key, found: _canonical(key, _read_csv(key, found), found, ("lsoa_code", "children_0_4")),
        covers_lsoas,
    )
    census = census[census["lsoa_code"].isin(lsoa_codes)].reset_index(drop=True)
    _require_all(key, census_path, lsoa_codes, census["lsoa_code"], "LSOAs")
    census = _numeric(census, ("children_0_4",), census_path)
    census["children_0_4"] = census["children_0_4"].astype(int)
    census["under_3"] = census["children_0_4"] * UNDER_3_SHARE
    census["under_2"] = census["children_0_4"] * UNDER_2_SHARE
    lsoas = lsoas.merge(census, on="lsoa_code", validate="one_to_one")

    key, pwc_path, centroids = select(
        "lsoa_centroids",
        lambda key, found: _canonical(key, _read_geo(key, found), found, ("lsoa_code",)),
        covers_lsoas,
    )
    centroids = centroids[centroids["lsoa_code"].isin(lsoa_codes)]
    _require_all(key, pwc_path, lsoa_codes, centroids["lsoa_code"], "LSOAs")
    centroid_points = centroids.set_index("lsoa_code").geometry.representative_point()
    lsoas["centroid_x"] = lsoas["lsoa_code"].map(centroid_points.x)
    lsoas["centroid_y"] = lsoas["lsoa_code"].map(centroid_points.y)
    lsoas = lsoas.sort_values("lsoa_code").reset_index(drop=True)

    ward_codes = pd.Index(lookup["ward_code"].unique())
    key, ward_path, wards = select(
        "wards",
        lambda key, found: _canonical(key, _read_geo(key, found), found, ("ward_code", "ward_name")),
        lambda frame: bool(ward_codes.isin(frame["ward_code"]).all()),
    )
    missing_wards = ward_codes.difference(pd.Index(wards["ward_code"]))
    if len(missing_wards):
        msg = f"{len(missing_wards)} ward(s) of the study area missing (e.g. {missing_wards[0]})"
        raise InputError(msg, path=ward_path, field=get_source(key).columns["ward_code"][0])
    wards = wards[wards["ward_code"].isin(ward_codes)].sort_values("ward_code").reset_index(drop=True)
    ward_names = lookup.drop_duplicates("ward_code").set_index("ward_code")["ward_name"]
    wards["ward_name"] = wards["ward_code"].map(ward_names)

    la_codes = tuple(sorted(lookup["la_code"].unique()))
    la_names = lookup.drop_duplicates("la_code").set_index("la_code")["la_name"]
    boundary = gpd.GeoDataFrame(
        {"la_code": [" + ".join(la_codes)], "name": [spec.name], "la_name": [" + ".join(la_names[list(la_codes)])]},
        geometry=[lsoas.geometry.union_all()],
        crs=settings.measure_crs,
    )

    _, _, postcodes = select(
        "postcodes",
        lambda key, found: _read_postcodes(found, boundary.geometry, spec.margin_m),
        lambda frame: bool(frame.within(boundary.geometry.iloc[0]).any()),
    )
    joined = gpd.sjoin(postcodes, lsoas[["lsoa_code", "geometry"]], how="left", predicate="within")
    postcodes = postcodes.assign(lsoa_code=joined.groupby(level=0)["lsoa_code"].first())
    postcodes["in_area"] = postcodes["lsoa_code"].notna()
    postcodes = postcodes[["postcode", "lsoa_code", "ward_code", "la_code", "in_area", "geometry"]]

    extent = catalogue.network.complete_extent
    children = children_points(lsoas, postcodes)
    children[BEYOND_NETWORK] = beyond_extent(children.geometry, extent)
    venues = load_venues(catalogue.resolve(catalogue.venues.file), postcodes)
    venues[BEYOND_NETWORK] = venues["located"] & beyond_extent(venues.geometry, extent)
    sessions = load_sessions(catalogue.resolve(catalogue.sessions.file), venues["venue_id"])

    return StudyArea(
        la_codes=la_codes,
        name=spec.name,
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


def beyond_extent(points: gpd.GeoSeries, extent: tuple[float, float, float, float] | None) -> np.ndarray:
    """Whether each point lies outside ``extent`` (min x, min y, max x, max y; EPSG:27700); all ``False`` without one.

    Missing or empty geometries (venues with no known place) are never "beyond".
    """
    if extent is None or not len(points):
        return np.zeros(len(points), dtype=bool)
    min_x, min_y, max_x, max_y = extent
    x, y = points.x.to_numpy(float), points.y.to_numpy(float)
    inside = (x >= min_x) & (x <= max_x) & (y >= min_y) & (y <= max_y)
    return np.isfinite(x) & ~inside


def summarise(area: StudyArea) -> dict[str, object]:
    """Headline counts of a study area, each with the publisher and vintage of its source.

    Children in IMD deciles 1-3 are the "0-30% most deprived LSOAs nationally" of committee papers.
    """

    def cite(*layers: str) -> list[dict[str, str]]:
        return [
            {
                "publisher": area.provenance[layer].publisher,
                "title": area.provenance[layer].title,
                "vintage": area.provenance[layer].vintage,
                "file": area.provenance[layer].file,
            }
            for layer in layers
        ]

    def by_decile(column: str) -> dict[str, int]:
        counts = area.lsoas.groupby(column)["children_0_4"].sum()
        return {str(decile): int(counts.get(decile, 0)) for decile in range(1, 11)}

    def in_deciles_1_to_3(column: str) -> int:
        return int(area.lsoas.loc[area.lsoas[column] <= MOST_DEPRIVED_DECILE, "children_0_4"].sum())

    styles = area.catalogue.venues.styles
    kinds = area.venues.groupby("kind").agg(
        venues=("venue_id", "size"), located=("located", "sum"), beyond=(BEYOND_NETWORK, "sum")
    )
    return {
        "la_code": area.la_code,
        "la_codes": list(area.la_codes),
        "defined_by": area.catalogue.area.defined_by,
        "name": area.name,
        "data_from": sorted({f"{info.origin} ({info.folder})" for info in area.provenance.values()}),
        "lsoas": {"count": len(area.lsoas), "sources": cite("lsoas", "ward_lookup")},
        "wards": {"count": len(area.wards), "sources": cite("wards", "ward_lookup")},
        "children_0_4": {"total": int(area.lsoas["children_0_4"].sum()), "sources": cite("population")},
        "children_0_4_by_imd_decile": {"counts": by_decile("imd_decile"), "sources": cite("deprivation", "population")},
        "children_0_4_by_idaci_decile": {
            "counts": by_decile("idaci_decile"),
            "sources": cite("deprivation", "population"),
        },
        "children_0_4_in_imd_deciles_1_to_3": {
            "total": in_deciles_1_to_3("imd_decile"),
            "sources": cite("deprivation", "population"),
        },
        "children_0_4_in_idaci_deciles_1_to_3": {
            "total": in_deciles_1_to_3("idaci_decile"),
            "sources": cite("deprivation", "population"),
        },
        "postcodes": {"in_area": int(area.postcodes["in_area"].sum()), "sources": cite("postcodes")},
        "venues_by_kind": {
            "counts": {
                kind: {
                    "label": styles[kind].label if kind in styles else kind.replace("_", " ").capitalize(),
                    "venues": int(row.venues),
                    "located": int(row.located),
                    "beyond_network_extent": int(row.beyond),
                }
                for kind, row in kinds.iterrows()
            },
            "sources": [{"publisher": "geoplan venue facts file", "file": str(area.catalogue.venues.file)}],
        },
        "network_extent": network_extent_summary(area),
    }


def network_extent_summary(area: StudyArea) -> dict[str, object] | None:
    """Where the area's walking network stops being complete, and which points lie beyond it (``None`` without an extent)."""
    if area.network_extent is None:
        return None
    beyond_venues = area.venues[area.venues[BEYOND_NETWORK]]
    beyond_children = area.children[area.children[BEYOND_NETWORK]]
    return {
        "complete_extent_27700": list(area.network_extent),
        "venues_beyond": [str(name) for name in beyond_venues["name"]],
        "origins_beyond": len(beyond_children),
        "children_0_4_at_origins_beyond": int(beyond_children["children_0_4"].sum()),
    }
