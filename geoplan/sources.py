"""The manifest of official open-data sources, and how each is found on disk.

Every number geoplan reports comes from one of these sources, listed in ``data/boundaries/sources.yaml``
(shipped with the package; :data:`SOURCES` is read from it once). A source is looked for, in
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
from pydantic import BaseModel, ConfigDict, ValidationError

from geoplan import resources, settings
from geoplan.errors import DataSourceError, InputError
from geoplan.fileio import invalid_field, read_yaml


class Source(BaseModel):
    """One published dataset: where it comes from, under what terms, and what it must contain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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


def load_sources(path: str | os.PathLike[str]) -> dict[str, Source]:
    """Read and check a manifest of sources (``data/boundaries/sources.yaml``): source key -> entry, in file order.

    The Overpass entry's URL is :data:`geoplan.settings.overpass_url`, so a deployment can use its own server.

    Raises
    ------
    InputError
        The file is missing, not valid YAML or not a mapping of entries, or an entry lacks a field or
        has a wrong one; the one-line message names the file and the field (``<key>.<field>``).
    """
    path = Path(path)
    entries = read_yaml(path, what="manifest of sources")
    if not isinstance(entries, dict) or not entries:
        msg = "empty or not a mapping of source keys to their fields"
        raise InputError(msg, path=path)
    sources = {}
    for key, entry in entries.items():
        if not isinstance(entry, dict):
            msg = "not a mapping of source fields"
            raise InputError(msg, path=path, field=str(key))
        if entry.get("access") == "overpass":
            entry = {**entry, "url": settings.overpass_url}
        try:
            sources[key] = Source.model_validate({**entry, "key": key})
        except ValidationError as exc:
            raise invalid_field(exc, path=path, within=str(key)) from None
    return sources


#: The manifest of sources, read once: source key -> entry.
SOURCES: dict[str, Source] = load_sources(resources.sources_manifest())

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
