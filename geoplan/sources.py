"""The manifest of official open-data sources, and how each is found on disk.

Every number geoplan reports comes from one of these sources. A source is looked for, in
order, in the local mirror (``settings.data_dir`` / ``$GEOPLAN_DATA``), in the cache of imported
and downloaded files (``settings.cache_dir``; ``geoplan data import DIR`` and ``geoplan data
fetch`` fill it, see :mod:`geoplan.fetch`) and, with no mirror configured, in the open data the
package embeds for its default study area (``geoplan/data/<area>/``, with its provenance).

Files found locally may be the national file from the publisher or a subset of it with the same
columns (a mirror filtered to the study area plus a margin). Column names vary a little between
vintages and re-publications, so each source lists the accepted spellings of every column it needs.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from geoplan import resources, settings
from geoplan.errors import DataSourceError, InputError

OGL = "Open Government Licence v3.0"
ODBL = "Open Database Licence 1.0"
ONS_ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right"
)


class Source(BaseModel):
    """One published dataset: where it comes from, under what terms, and what it must contain."""

    model_config = ConfigDict(frozen=True)

    key: str
    title: str
    publisher: str
    url: str
    licence: str
    attribution: str
    vintage: str
    format: str
    #: How the data is obtained: one file over HTTP, an ArcGIS FeatureServer query, or the Overpass API.
    access: Literal["file", "arcgis", "overpass"] = "file"
    #: Name of the file ``geoplan data fetch`` / ``data import`` writes into ``<cache>/sources/``
    #: (``None`` for the street network, which :mod:`geoplan.network` caches as a built network).
    filename: str | None = None
    #: Glob patterns (matched against file names, case-insensitive) of files holding this source.
    local_patterns: tuple[str, ...]
    #: Canonical column name -> accepted spellings in the published file, first match wins.
    columns: dict[str, tuple[str, ...]]
    #: Member of a zip archive holding the data (glob), when the download is a zip.
    archive_member: str | None = None
    #: SHA-256 of the published file, where the publisher keeps it stable.
    sha256: str | None = None
    #: Size in bytes of the published file, where known (lets a resumed download be verified).
    size: int | None = None
    #: How a national file is cut down to the study area: by LA code column, by buffer, or not at all.
    area_filter: str = "none"

    def column(self, canonical: str, available: Iterable[str], *, path: Path | str) -> str:
        """Return the spelling of ``canonical`` present in ``available``.

        Raises
        ------
        InputError
            If none of the accepted spellings is present; the message names the file and field.
        """
        present = set(available)
        for alias in self.columns[canonical]:
            if alias in present:
                return alias
        expected = " or ".join(repr(a) for a in self.columns[canonical])
        msg = f"missing column {expected} ({self.title})"
        raise InputError(msg, path=path, field=canonical)


SOURCES: dict[str, Source] = {
    source.key: source
    for source in [
        Source(
            key="lsoa21_boundaries",
            title="Lower layer Super Output Areas (December 2021) Boundaries EW BGC",
            publisher="Office for National Statistics (Open Geography Portal)",
            url=(
                "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services/"
                "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V5/FeatureServer/0/query"
            ),
            licence=OGL,
            attribution=ONS_ATTRIBUTION,
            vintage="December 2021 (BGC, generalised to 20 m)",
            format="gpkg",
            access="arcgis",
            filename="Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V5.gpkg",
            local_patterns=("lsoa21_*gen*.gpkg", "Lower_layer_Super_Output_Areas_*2021*.gpkg", "LSOA_2021_*BGC*.gpkg"),
            columns={"lsoa_code": ("LSOA21CD",), "lsoa_name": ("LSOA21NM",)},
            area_filter="buffer",
        ),
        Source(
            key="wards",
            title="Wards (December 2025) Boundaries UK BGC",
            publisher="Office for National Statistics (Open Geography Portal); GLA Statistical GIS boundary files",
            url=(
                "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services/"
                "WD_DEC_2025_UK_BGC/FeatureServer/0/query"
            ),
            licence=OGL,
            attribution=ONS_ATTRIBUTION,
            vintage="Electoral wards as in force in December 2025 (codes WD25CD; older files by their own vintage)",
            format="gpkg",
            access="arcgis",
            filename="Wards_December_2025_Boundaries_UK_BGC.gpkg",
            local_patterns=("london_wards_*.gpkg", "wards20*_*.gpkg", "Wards_*202*_Boundaries*.gpkg", "WD*_BGC*.gpkg"),
            columns={
                "ward_code": ("WD25CD", "WD24CD", "WD23CD", "WD22CD", "GSS_CODE"),
                "ward_name": ("WD25NM", "WD24NM", "WD23NM", "WD22NM", "NAME"),
            },
            area_filter="buffer",
        ),
        Source(
            key="lsoa21_pwc",
            title="LSOA (December 2021) Population Weighted Centroids (V3)",
            publisher="Office for National Statistics (Open Geography Portal)",
            url=(
                "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services/"
                "LLSOA_Dec_2021_PWC_for_England_and_Wales_2022/FeatureServer/0/query"
            ),
            licence=OGL,
            attribution=ONS_ATTRIBUTION,
            vintage="Census 2021 population weighted centroids",
            format="gpkg",
            access="arcgis",
            filename="LSOA_PopCentroids_EW_2021_V3.gpkg",
            local_patterns=("lsoa21_population_weighted_centroids*.gpkg", "LSOA_PopCentroids_EW_2021*.gpkg"),
            columns={"lsoa_code": ("LSOA21CD",)},
            area_filter="buffer",
        ),
        Source(
            key="lsoa_ward_lookup",
            title="LSOA (2021) to Electoral Ward (2025) to LAD (2025) Best Fit Lookup in EW",
            publisher="Office for National Statistics (Open Geography Portal)",
            url=(
                "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services/"
                "LSOA21_WD25_LAD25_EW_LU_v2/FeatureServer/0/query"
            ),
            licence=OGL,
            attribution=ONS_ATTRIBUTION,
            vintage="2025 (v2), best fit",
            format="csv",
            access="arcgis",
            filename="LSOA21_WD25_LAD25_EW_LU_v2.csv",
            local_patterns=("lsoa21_to_ward*.csv", "LSOA_(2021)_to_Electoral_Ward_*.csv", "LSOA21_WD2*_LAD2*.csv"),
            columns={
                "lsoa_code": ("LSOA21CD",),
                "ward_code": ("WD25CD", "WD24CD", "WD23CD", "WD22CD"),
                "ward_name": ("WD25NM", "WD24NM", "WD23NM", "WD22NM"),
                "la_code": ("LAD25CD", "LAD24CD", "LAD23CD", "LAD22CD"),
                "la_name": ("LAD25NM", "LAD24NM", "LAD23NM", "LAD22NM"),
            },
            area_filter="la_code",
        ),
        Source(
            key="iod2025",
            title="English Indices of Deprivation 2025, File 7: all ranks, deciles and scores, with population denominators",
            publisher="Ministry of Housing, Communities and Local Government",
            url=(
                "https://assets.publishing.service.gov.uk/media/691ded56d140bbbaa59a2a7d/"
                "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv"
            ),
            licence=OGL,
            attribution="Contains public sector information licensed under the Open Government Licence v3.0 (MHCLG)",
            vintage="IoD2025, published 30 October 2025; ranks out of 33,755 LSOAs (2021) in England",
            format="csv",
            filename="File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv",
            local_patterns=("File_7_IoD2025*.csv",),
            columns={
                "lsoa_code": ("LSOA code (2021)",),
                "la_code": ("Local Authority District code (2024)",),
                "imd_score": ("Index of Multiple Deprivation (IMD) Score",),
                "imd_rank": ("Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",),
                "imd_decile": ("Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",),
                "idaci_score": ("Income Deprivation Affecting Children Index (IDACI) Score (rate)",),
                "idaci_rank": ("Income Deprivation Affecting Children Index (IDACI) Rank (where 1 is most deprived)",),
                "idaci_decile": (
                    "Income Deprivation Affecting Children Index (IDACI) Decile "
                    "(where 1 is most deprived 10% of LSOAs)",
                ),
                "population": ("Total population: mid 2022",),
            },
            area_filter="la_code",
        ),
        Source(
            key="census2021_age",
            title="Census 2021 TS007A: Age by five-year age bands (LSOA 2021)",
            publisher="Office for National Statistics (Nomis)",
            url="https://www.nomisweb.co.uk/output/census/2021/census2021-ts007a.zip",
            licence=OGL,
            attribution="Source: Office for National Statistics licensed under the Open Government Licence v3.0",
            vintage="Census Day, 21 March 2021",
            format="csv",
            archive_member="census2021-ts007a-lsoa.csv",
            filename="census2021-ts007a-lsoa.csv",
            local_patterns=("census2021-ts007a-lsoa*.csv",),
            columns={
                "lsoa_code": ("geography code",),
                "all_ages": ("Age: Total",),
                "children_0_4": ("Age: Aged 4 years and under",),
            },
            area_filter="lsoa",
        ),
        Source(
            key="codepoint_open",
            title="OS Code-Point Open (postcode unit centroids)",
            publisher="Ordnance Survey",
            url="https://api.os.uk/downloads/v1/products/CodePointOpen/downloads?area=GB&format=CSV&redirect",
            licence="OS OpenData licence (Open Government Licence v3.0)",
            attribution=(
                "Contains OS data © Crown copyright and database right 2025; Contains Royal Mail data © Royal Mail "
                "copyright and database right 2025; Contains National Statistics data © Crown copyright and "
                "database right 2025"
            ),
            vintage="2025.4.0 (October 2025)",
            format="csv",
            archive_member="Data/CSV/*.csv",
            filename="codepoint_open.csv",
            local_patterns=("codepoint_open*.csv",),
            columns={
                "postcode": ("Postcode",),
                "quality": ("Positional_quality_indicator",),
                "easting": ("Eastings",),
                "northing": ("Northings",),
                "la_code": ("Admin_district_code",),
                "ward_code": ("Admin_ward_code",),
            },
            area_filter="buffer",
        ),
        Source(
            key="osm_overpass",
            title="OpenStreetMap ways tagged highway=*, via the Overpass API",
            publisher="OpenStreetMap contributors",
            url=settings.overpass_url,
            licence=ODBL,
            attribution="© OpenStreetMap contributors (ODbL)",
            vintage="live at download time (the date is recorded with the cached network)",
            format="osm",
            access="overpass",
            local_patterns=("*.osm", "*.osm.bz2", "*.osm.pbf"),
            columns={},
            area_filter="buffer",
        ),
    ]
}

#: Column names of Code-Point Open, which ships without a header row.
CODEPOINT_HEADER = (
    "Postcode",
    "Positional_quality_indicator",
    "Eastings",
    "Northings",
    "Country_code",
    "NHS_regional_HA_code",
    "NHS_HA_code",
    "Admin_county_code",
    "Admin_district_code",
    "Admin_ward_code",
)


def get_source(key: str) -> Source:
    """Return the manifest entry ``key``."""
    try:
        return SOURCES[key]
    except KeyError:
        msg = f"unknown data source {key!r}; known: {', '.join(sorted(SOURCES))}"
        raise InputError(msg) from None


#: Where a source file was found, in look-up order (see :func:`find_local` and :func:`origin_of`).
DATA_FOLDER, GEOPLAN_DATA, CACHE, EMBEDDED = "data folder", "GEOPLAN_DATA", "cache", "embedded default"
#: The file in each embedded study-area folder naming its local authority, files and their provenance.
EMBEDDED_PROVENANCE = "PROVENANCE.yaml"


def embedded_areas() -> dict[str, Path]:
    """Local authority code -> folder of the open data embedded in the package for it."""
    return _embedded_areas(resources.embedded_data_dir()) if settings.use_embedded_data else {}


@functools.cache
def _embedded_areas(root: Path) -> dict[str, Path]:
    # Read once per process: every source look-up asks, and the package's files do not change.
    records = sorted(root.glob(f"*/{EMBEDDED_PROVENANCE}")) if root.is_dir() else []
    return {str(yaml.safe_load(record.read_text(encoding="utf-8"))["la_code"]): record.parent for record in records}


def search_roots(
    data_dir: str | os.PathLike[str] | None = None, *, la_code: str | None = None
) -> list[tuple[str, Path]]:
    """Places searched for source files, in order, each with its origin label.

    A folder holding a ``raw/`` subfolder (the layout of the shared mirror) is searched in ``raw/``.
    The data embedded in the package for ``la_code`` comes last, and only when no data folder is
    configured: a configured folder that lacks a file is a mistake to report, not to patch with
    files of another vintage.
    """
    roots: list[tuple[str, Path]] = []
    folders = {DATA_FOLDER: data_dir, GEOPLAN_DATA: settings.data_dir, CACHE: Path(settings.cache_dir) / "sources"}
    for origin, candidate in folders.items():
        if candidate is None:
            continue
        path = Path(candidate)
        if (path / "raw").is_dir():
            path = path / "raw"
        if path.is_dir() and path not in [root for _, root in roots]:
            roots.append((origin, path))
    embedded = embedded_areas().get(la_code or "")
    if data_dir is None and settings.data_dir is None and embedded is not None:
        roots.append((EMBEDDED, embedded))
    return roots


def match_files(key: str, root: str | os.PathLike[str]) -> list[Path]:
    """Files under ``root`` (recursively) whose names match source ``key``'s patterns, sorted.

    Hidden files and folders (download partials, provenance records) are never matches.
    """
    source = get_source(key)
    root = Path(root)
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
        and any(fnmatch.fnmatch(path.name.lower(), pattern.lower()) for pattern in source.local_patterns)
    )


def find_local(key: str, *, data_dir: str | os.PathLike[str] | None = None, la_code: str | None = None) -> Path:
    """Return the local file holding source ``key``.

    Looks in ``data_dir``, then the mirror (``settings.data_dir`` / ``$GEOPLAN_DATA``), then the
    cache of imported and downloaded files, then (with neither folder configured) the data the
    package embeds for ``la_code``; :func:`origin_of` says which of them a file came from.

    Raises
    ------
    DataSourceError
        If no file matching the source's patterns is found; the one-line message says where it
        looked and every way to get the file.
    """
    source = get_source(key)
    roots = search_roots(data_dir, la_code=la_code)
    for _, root in roots:
        matches = match_files(key, root)
        if matches:
            return matches[0]
    where = ", ".join(f"{origin} {root}" for origin, root in roots) or f"the empty cache {settings.cache_dir}"
    msg = (
        f"no file for source '{key}' ({source.title}) in {where} (expected a file named like "
        f"{source.local_patterns[0]}); set GEOPLAN_DATA to a folder holding the source files (or the folder "
        "holding their raw/ folder), or run 'geoplan data import DIR' once, or 'geoplan data fetch' with internet"
    )
    raise DataSourceError(msg)


def origin_of(path: str | os.PathLike[str]) -> str:
    """Which look-up place a source file found by :func:`find_local` lies in: EMBEDDED, CACHE, GEOPLAN_DATA or DATA_FOLDER."""
    path = Path(path).resolve()
    places = {
        EMBEDDED: resources.embedded_data_dir(),
        CACHE: Path(settings.cache_dir) / "sources",
        GEOPLAN_DATA: settings.data_dir,
    }
    for origin, folder in places.items():
        if folder is not None and path.is_relative_to(Path(folder).resolve()):
            return origin
    return DATA_FOLDER
