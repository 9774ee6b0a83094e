"""Atomic file output: a reader never sees a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


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
