"""Exceptions raised by geoplan.

Every exception carries a one-line message naming the file, row or field at fault,
so the CLI can print it as it is and exit non-zero without a traceback.
"""

from __future__ import annotations


class GeoplanError(Exception):
    """Base class of every error geoplan raises on purpose."""


class InputError(GeoplanError, ValueError):
    """A file, row, field or argument supplied by the user is not usable."""

    def __init__(
        self,
        message: str,
        *,
        path: object | None = None,
        field: str | None = None,
        row: int | str | None = None,
    ) -> None:
        where = []
        if path is not None:
            where.append(str(path))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where) + ": " if where else ""
        super().__init__(prefix + message)
        self.path = path
        self.field = field
        self.row = row


class DataSourceError(GeoplanError, OSError):
    """A data source could not be found, downloaded or verified."""


class NetworkUnavailableError(GeoplanError, RuntimeError):
    """No walking network can be built or loaded for the request."""
