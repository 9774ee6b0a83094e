"""One cache for everything geoplan computes once and reuses: networks, travel times, grids.

As in osmnx, an entry is a file named by a hash of everything that determines its content, in a
folder per kind under ``settings.cache_dir``. Entries are numpy ``.npz`` archives written with
``allow_pickle=False`` (a cache file can never run code), each carrying its format version and a
sha256 checksum of its arrays and metadata. :func:`load_arrays` verifies both before anything is
used: an entry that is truncated, bit-flipped, foreign or of another version is removed and
reported as missing, so the caller rebuilds it rather than using a silently changed result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from geoplan import settings
from geoplan.errors import CacheError, OutputError
from geoplan.fileio import atomic_path, read_error

#: Version of the entry layout; entries of any other version are rebuilt.
CACHE_FORMAT = "geoplan-cache-1"

_META = "__meta__"
_CHECKSUM = "checksum"
_FORMAT = "format"
_READ_BLOCK = 1 << 20

log = logging.getLogger(__name__)


def hash_key(*parts: object) -> str:
    """The sha256 hex digest of ``parts``: JSON-able values and numpy arrays, in order."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file's bytes, read in blocks.

    Raises
    ------
    InputError
        The file cannot be read (a folder, no permission, an I/O error); one line naming it.
    """
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(_READ_BLOCK), b""):
                digest.update(block)
    except OSError as exc:
        raise read_error(path, exc) from None
    return digest.hexdigest()


def cache_folder(kind: str, *, root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of one kind of entry (``networks``, ``traveltimes``, ...), created if needed.

    Raises
    ------
    CacheError
        The cache folder is not a folder or cannot be written.
    """
    folder = Path(root if root is not None else settings.cache_dir) / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"{folder}: cannot use this cache folder ({exc.strerror or exc}); set GEOPLAN_CACHE to a writable folder"
        raise CacheError(msg) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        msg = f"{folder}: cache folder is not writable; set GEOPLAN_CACHE to a writable folder"
        raise CacheError(msg)
    return folder


def entry_path(kind: str, key: str, *, root: str | os.PathLike[str] | None = None) -> Path:
    """The file of the entry ``key`` (a :func:`hash_key` digest) of ``kind``."""
    return cache_folder(kind, root=root) / f"{key}.npz"


def _checksum(arrays: Mapping[str, np.ndarray], meta_json: str) -> str:
    digest = hashlib.sha256(meta_json.encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_arrays(
    path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None = None
) -> Path:
    """Write numeric ``arrays`` and JSON-able ``meta`` as one verified entry, atomically.

    Raises
    ------
    ValueError
        An array holds Python objects (they would need pickling).
    """
    plain = {name: np.asarray(array) for name, array in arrays.items()}
    for name, array in plain.items():
        if array.dtype.hasobject:
            msg = f"cache array {name!r} holds Python objects; store numbers or fixed-width strings"
            raise ValueError(msg)
    meta_json = json.dumps(dict(meta or {}), sort_keys=True, default=str)
    header = {_FORMAT: CACHE_FORMAT, _CHECKSUM: _checksum(plain, meta_json), "meta": meta_json}
    try:
        with atomic_path(path) as tmp, tmp.open("wb") as handle:
            np.savez(handle, **plain, **{_META: np.array(json.dumps(header))})
    except OutputError as exc:
        msg = f"{exc}; set GEOPLAN_CACHE to a writable folder"
        raise CacheError(msg) from None
    return Path(path)


def _plausible(path: Path) -> str | None:
    """Why ``path`` cannot be an entry written by :func:`save_arrays`, checked before any array is read.

    Entries are stored uncompressed, so no member may claim more bytes than the file holds and no
    array header may claim more bytes than its member: a forged header cannot make the loader
    allocate memory the file does not contain.
    """
    size = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if _META + ".npy" not in {member.filename for member in members}:
            return "no geoplan header"
        for member in members:
            if member.compress_type != zipfile.ZIP_STORED or member.file_size > size:
                return f"member {member.filename} is not a stored array"
            with archive.open(member) as handle:
                version = np.lib.format.read_magic(handle)
                read_header = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(handle)
                claimed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                if dtype.hasobject or claimed > member.file_size:
                    return f"member {member.filename} claims more data than it holds"
    return None


def load_arrays(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """Read a verified entry: ``(arrays, meta)``, or ``None`` when missing or not trustworthy.

    An entry that fails to parse, has another format version or whose checksum does not match
    is deleted (and logged), so the caller rebuilds it.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        problem = _plausible(path)
        if problem is not None:
            return _discard(path, problem)
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive[_META]))
            if header.get(_FORMAT) != CACHE_FORMAT:
                return _discard(path, "another cache format")
            arrays = {name: archive[name] for name in archive.files if name != _META}
        if _checksum(arrays, header["meta"]) != header[_CHECKSUM]:
            return _discard(path, "checksum mismatch")
        return arrays, json.loads(header["meta"])
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        EOFError,
        MemoryError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
    ) as exc:
        return _discard(path, type(exc).__name__)


def load_entry(
    path: str | os.PathLike[str], *, kind: str, version: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """:func:`load_arrays` for an entry of one ``kind`` and ``version``: ``None`` for any other too.

    ``meta`` is returned without its ``kind`` and ``version``.
    """
    entry = load_arrays(path)
    if entry is None:
        return None
    arrays, meta = entry
    if meta.pop("kind", None) != kind or meta.pop("version", None) != version:
        return None
    return arrays, meta


def read_entry(
    path: str | os.PathLike[str], *, kind: str, version: str, what: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """:func:`load_entry` for a file a user names (``what`` it should be, for the message).

    Raises
    ------
    CacheError
        The file is missing, damaged or from another geoplan version (a damaged file is removed).
    """
    entry = load_entry(path, kind=kind, version=version)
    if entry is None:
        msg = f"{path}: not a usable {what} file (missing, damaged or from another geoplan version)"
        raise CacheError(msg)
    return entry


def _discard(path: Path, reason: str) -> None:
    log.warning("cache entry %s is not usable (%s); rebuilding it", path, reason)
    try:
        path.unlink()
    except OSError:
        pass
    return None


def cache_info(*, root: str | os.PathLike[str] | None = None) -> dict[str, dict[str, int]]:
    """Entries and bytes per kind of entry in the cache folder."""
    base = Path(root if root is not None else settings.cache_dir)
    info: dict[str, dict[str, int]] = {}
    if not base.is_dir():
        return info
    for folder in sorted(item for item in base.iterdir() if item.is_dir()):
        files = [item for item in folder.rglob("*") if item.is_file()]
        info[folder.name] = {"files": len(files), "bytes": sum(item.stat().st_size for item in files)}
    return info


def clear_cache(kinds: list[str] | None = None, *, root: str | os.PathLike[str] | None = None) -> int:
    """Remove every entry (or those of ``kinds``); returns the number of files removed."""
    base = Path(root if root is not None else settings.cache_dir)
    removed = 0
    if not base.is_dir():
        return removed
    for folder in sorted(item for item in base.iterdir() if item.is_dir()):
        if kinds is not None and folder.name not in kinds:
            continue
        removed += sum(1 for item in folder.rglob("*") if item.is_file())
        shutil.rmtree(folder)
    return removed
