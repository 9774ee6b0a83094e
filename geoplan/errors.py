"""Exceptions raised by geoplan.

Every exception carries a one-line message naming the file, row or field at fault, so the CLI
can print it as it is and exit with status 2, never with a traceback. As in r5py, each one also
subclasses the built-in exception a caller would expect (``ValueError`` for bad input, ``OSError``
for files and downloads), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class GeoplanError(Exception):
    """Base class of every error geoplan raises on purpose."""


def _where(path: object | None, row: int | str | None, line: int | None, field: str | None) -> str:
    parts = []
    if path is not None:
        parts.append(str(path))
    if line is not None:
        parts.append(f"line {line}")
    if row is not None:
        parts.append(f"row {row}")
    if field is not None:
        parts.append(f"field '{field}'")
    return ", ".join(parts) + ": " if parts else ""


class InputError(GeoplanError, ValueError):
    """A file, row, field or argument supplied by the user is not usable.

    ``line`` is the line of the file (1 = the header of a CSV), the one convention geoplan uses
    for every file it reads; ``row`` is kept for callers that name a row some other way.
    """

    def __init__(
        self,
        message: str,
        *,
        path: object | None = None,
        field: str | None = None,
        row: int | str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(_where(path, row, line, field) + message)
        self.path = path
        self.field = field
        self.row = row
        self.line = line


class ScenarioError(InputError):
    """A scenario file that cannot be used; the message names the file, the line and the field."""

    def __init__(self, message: str, *, path: object, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message, path=path, line=line, field=field)


class DataSourceError(GeoplanError, OSError):
    """A data source could not be found, downloaded or verified."""


class CacheError(GeoplanError, OSError):
    """The cache folder cannot be used (not writable, not a folder)."""


class OutputError(GeoplanError, OSError):
    """An output path cannot be written (a folder where a file is wanted, no permission, ...)."""


class NetworkUnavailableError(GeoplanError, RuntimeError):
    """No walking network can be built or loaded for the request."""
