"""Import source files from a local folder (a mirror, a colleague's copy) into ``<cache>/sources``."""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyogrio

from geoplan.errors import DataSourceError, InputError
from geoplan.fetch.manifest import FETCH_ORDER
from geoplan.fetch.provenance import describe, record, target_path
from geoplan.fileio import atomic_path
from geoplan.sources import CODEPOINT_HEADER, Source, get_source, match_files


@dataclass
class ImportReport:
    """What ``import_sources`` copied into the cache and what the folder lacked."""

    directory: Path
    imported: list[tuple[str, Path, Path]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form."""
        return {
            "directory": str(self.directory),
            "imported": [{"key": key, "from": str(src), "to": str(dst)} for key, src, dst in self.imported],
            "missing": self.missing,
            "skipped": self.skipped,
        }


def _validate_local(source: Source, path: Path) -> None:
    """Check that a local file holds the source's columns (raises InputError naming the file)."""
    if source.format == "csv":
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            first = handle.readline()
        header = next(csv.reader([first]), [])
        if source.key == "codepoint_open" and header and header[0] != CODEPOINT_HEADER[0]:
            header = list(CODEPOINT_HEADER)
        if not header:
            msg = f"file is empty ({source.title})"
            raise InputError(msg, path=path)
        for canonical in source.columns:
            source.column(canonical, header, path=path)
    elif source.format == "gpkg":
        try:
            info = pyogrio.read_info(path)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            msg = f"not a readable GeoPackage ({str(exc).splitlines()[0]})"
            raise InputError(msg, path=path) from None
        if not info["crs"]:
            msg = "geometry has no CRS"
            raise InputError(msg, path=path, field="crs")
        for canonical in source.columns:
            source.column(canonical, list(info["fields"]), path=path)


def _count_rows(source: Source, path: Path) -> int:
    if source.format == "gpkg":
        return int(pyogrio.read_info(path)["features"])
    with path.open("rb") as handle:
        first = handle.readline()
        lines = 1 + sum(1 for line in handle if line.strip())
    has_header = first.lstrip(b'\xef\xbb\xbf"').startswith(CODEPOINT_HEADER[0].encode())
    headerless = source.key == "codepoint_open" and not has_header
    return lines - (0 if headerless else 1)


def import_sources(directory: str | os.PathLike[str]) -> ImportReport:
    """Copy every manifest source found in ``directory`` (by its file-name patterns) into the cache.

    Each file is validated (its columns) and copied atomically under the source's cache file
    name. Street networks are not imported: a study area names its OSM extract in its catalogue.

    Raises
    ------
    DataSourceError
        ``directory`` does not exist or holds none of the table and boundary sources; or some are
        missing (listed, after the ones found were imported).
    InputError
        A file found lacks a required column (the message names the file and field).
    """
    root = Path(directory)
    if (root / "raw").is_dir():
        root = root / "raw"
    if not root.is_dir():
        msg = f"import folder not found: {directory}"
        raise DataSourceError(msg)
    report = ImportReport(directory=root)
    found: dict[str, Path] = {}
    for key in FETCH_ORDER:
        source = get_source(key)
        if source.access == "overpass":
            report.skipped.append(key)
            continue
        matches = match_files(key, root)
        if matches:
            _validate_local(source, matches[0])
            found[key] = matches[0]
        else:
            report.missing.append(key)
    if not found:
        expected = "; ".join(f"{key} ({get_source(key).local_patterns[0]})" for key in report.missing)
        msg = f"{root} holds none of the data sources; expected files named like: {expected}"
        raise DataSourceError(msg)
    for key, path in found.items():
        source = get_source(key)
        target = target_path(source)
        with atomic_path(target) as tmp:
            shutil.copyfile(path, tmp)
        rows = _count_rows(source, target)
        record(key, describe(source, target, url=source.url, rows=rows, area=None, imported_from=str(path)))
        report.imported.append((key, path, target))
    return report
