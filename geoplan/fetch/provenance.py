"""The record of what is in ``<cache>/sources``: where each file came from and which area it covers.

``<cache>/sources/.provenance.json`` holds one entry per source (file, publisher, licence,
vintage, URL, rows, SHA-256, local authority and margin, time), written atomically after the file
itself, so the record never names a file that is not complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoplan import settings
from geoplan.cache import file_sha256
from geoplan.fileio import write_text
from geoplan.sources import Source

if TYPE_CHECKING:
    from geoplan.fetch.window import AreaWindow


#: Hidden folder of ``<cache>/sources`` holding downloads in progress (never matched by ``find_local``).
PARTIAL_DIR = ".partial"


#: Hidden record of where each cached file came from and which area it covers.
PROVENANCE_FILE = ".provenance.json"


def sources_dir() -> Path:
    """The cache folder holding fetched and imported source files."""
    return Path(settings.cache_dir) / "sources"


def target_path(source: Source) -> Path:
    """The file ``source`` is written to in the cache."""
    return sources_dir() / source.filename


@dataclass(frozen=True)
class FetchResult:
    """One source written into the cache."""

    key: str
    path: Path
    url: str
    rows: int
    downloaded_bytes: int = 0
    resumed: bool = False
    skipped: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form."""
        return {
            "key": self.key,
            "file": str(self.path),
            "url": self.url,
            "rows": self.rows,
            "downloaded_bytes": self.downloaded_bytes,
            "resumed": self.resumed,
            "skipped": self.skipped,
        }


def read_provenance() -> dict[str, dict[str, Any]]:
    """The record of cached sources (key -> file, url, area, checksums, time)."""
    path = sources_dir() / PROVENANCE_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        # A damaged record only costs a re-fetch; it never blocks reading the cache.
        return {}


def record(key: str, fields: dict[str, Any]) -> None:
    """Write the provenance of source ``key`` (after its file is complete)."""
    provenance = read_provenance()
    provenance[key] = fields
    write_text(sources_dir() / PROVENANCE_FILE, json.dumps(provenance, indent=2, sort_keys=True) + "\n")


def describe(
    source: Source, path: Path, *, url: str, rows: int, area: AreaWindow | None, **extra: Any
) -> dict[str, Any]:
    """The provenance fields of ``path``, written for ``source`` from ``url``."""
    return {
        "file": path.name,
        "title": source.title,
        "publisher": source.publisher,
        "licence": source.licence,
        "vintage": source.vintage,
        "url": url,
        "rows": rows,
        "sha256": file_sha256(path),
        "la_code": area.la_code if area else None,
        "margin_m": area.margin_m if area else None,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }


def covers(key: str, la_code: str, margin_m: float) -> bool:
    """Whether the cache already holds ``key`` fetched for this LA with at least this margin."""
    fields = read_provenance().get(key)
    if not fields or not (sources_dir() / fields.get("file", "")).is_file():
        return False
    if fields.get("la_code") is None:
        return True
    return fields["la_code"] == la_code and float(fields.get("margin_m") or 0) >= margin_m
