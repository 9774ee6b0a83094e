"""Atomic file output: a reader never sees a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from geoplan.errors import InputError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The temporary file sits in the same directory so the final ``os.replace`` is atomic.
    On any exception the temporary file is removed and ``target`` is left as it was.

    Parameters
    ----------
    target
        The file to write.

    Yields
    ------
    Path
        A path to write the content to (it does not exist yet; it keeps the target's suffix
        so format drivers that look at the extension still work).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``target`` atomically (UTF-8) and return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory that replaces the files of ``target`` only on success.

    Files written into the yielded directory are moved into ``target`` one by one with
    ``os.replace`` after the block succeeds; on failure nothing reaches ``target``.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target))
    try:
        yield staging
        for item in sorted(staging.rglob("*")):
            if item.is_file():
                dest = target / item.relative_to(staging)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item, dest)
    finally:
        for item in sorted(staging.rglob("*"), reverse=True):
            if item.is_dir():
                item.rmdir()
            else:
                item.unlink()
        staging.rmdir()


def read_csv(path: str | os.PathLike[str], **kwargs: Any) -> pd.DataFrame:
    """Read a CSV as strings (no NA guessing), turning every read failure into a one-line error.

    The error names the file and the kind of failure only: a parser message can quote a line of
    the file, and some inputs (registration records) must never be echoed.

    Raises
    ------
    InputError
        The file is missing, empty, or not a readable CSV.
    """
    path = Path(path)
    if not path.is_file():
        msg = "file not found"
        raise InputError(msg, path=path)
    try:
        return pd.read_csv(path, **{"dtype": str, "keep_default_na": False, **kwargs})
    except pd.errors.EmptyDataError:
        msg = "file is empty"
        raise InputError(msg, path=path) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        msg = f"not a readable CSV ({type(exc).__name__})"
        raise InputError(msg, path=path) from None


def read_yaml(path: str | os.PathLike[str], *, what: str) -> object:
    """Parse a YAML file, turning a missing file or bad YAML into a one-line error naming the line."""
    path = Path(path)
    if not path.is_file():
        msg = f"{what} not found"
        raise InputError(msg, path=path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        msg = f"not valid YAML{line}"
        raise InputError(msg, path=path) from None
