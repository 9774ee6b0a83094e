"""HTTP downloads: verified, resumable (``Range`` / ``If-Range``), with progress on a terminal.

Whole files stream into ``<cache>/sources/.partial/<name>.part``; an interrupted transfer keeps
what it received and the next run resumes it, and a complete one is checked against the
manifest's size and SHA-256 before anything reads it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import requests
import urllib3
from tqdm import tqdm

from geoplan import settings
from geoplan.cache import file_sha256
from geoplan.errors import DataSourceError
from geoplan.sources import Source

#: Bytes read from the network per write.
CHUNK_BYTES = 1 << 16


USER_AGENT = "geoplan/0.1 (open-source early-years service planning; python-requests)"


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def announce(source: Source, url: str) -> None:
    """Say on stderr what is about to be downloaded, from whom, and under which licence."""
    print(f"Downloading {source.title} from {source.publisher}: {url} ({source.licence})", file=sys.stderr)


def progress_bar(total: int | None, initial: int, label: str) -> tqdm:
    enabled = settings.show_progress and sys.stderr.isatty()
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=label, disable=not enabled, leave=False)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost error of requests' wrapping (ConnectionError -> MaxRetryError -> NameResolutionError)."""
    while True:
        reason = getattr(exc, "reason", None)
        inner = reason if isinstance(reason, BaseException) else None
        if inner is None and exc.args and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]
        if inner is None:
            return exc
        exc = inner


def unreachable(url: str, exc: Exception) -> DataSourceError:
    cause = _root_cause(exc)
    # urllib3 prefixes messages with the repr of its connection object, which tells a reader nothing.
    reason = re.sub(r"^<[^>]*>:\s*", "", str(cause).splitlines()[0] if str(cause) else "")
    msg = (
        f"cannot download {url} ({exc.__class__.__name__}: {reason[:160] or cause.__class__.__name__}); "
        "check the network, or set GEOPLAN_DATA to a local copy of the source files (the folder holding raw/), "
        "or run 'geoplan data import DIR' once"
    )
    return DataSourceError(msg)


def check_status(response: requests.Response, url: str) -> None:
    if response.status_code >= 400:
        msg = f"download of {url} failed: HTTP {response.status_code} {response.reason}"
        raise DataSourceError(msg)


def _total_from_content_range(value: str | None) -> tuple[int | None, int | None]:
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", (value or "").strip())
    if match is None:
        return None, None
    total = None if match.group(2) == "*" else int(match.group(2))
    return int(match.group(1)), total


def download_file(url: str, part: Path, *, label: str, session: requests.Session | None = None) -> tuple[int, bool]:
    """Stream ``url`` into ``part``, resuming from its current length with an HTTP Range request.

    The validator (ETag or Last-Modified) of the first response is kept beside the partial file
    and sent as ``If-Range``, so a file that changed on the server is downloaded afresh.

    Returns
    -------
    tuple[int, bool]
        Bytes received by this call, and whether the transfer resumed an earlier one.

    Raises
    ------
    DataSourceError
        The server is unreachable, answers with an error, or the transfer stops before the
        announced length (the partial file is kept so the next run resumes it).
    """
    session = session or new_session()
    part.parent.mkdir(parents=True, exist_ok=True)
    validator_path = part.with_name(part.name + ".validator")
    offset = part.stat().st_size if part.exists() else 0
    # Byte ranges and lengths must refer to the file itself, not to a compressed transfer of it.
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if validator_path.is_file():
            headers["If-Range"] = validator_path.read_text(encoding="utf-8").strip()
    try:
        response = session.get(url, headers=headers, stream=True, timeout=settings.http_timeout_s)
    except requests.RequestException as exc:
        raise unreachable(url, exc) from None
    with response:
        if response.status_code == 416 and offset:
            # The partial file is at least as long as the resource: it cannot be resumed, start again.
            part.unlink()
            validator_path.unlink(missing_ok=True)
            return download_file(url, part, label=label, session=session)
        check_status(response, url)
        resumed = response.status_code == 206
        if resumed:
            start, total = _total_from_content_range(response.headers.get("Content-Range"))
            if start != offset:
                msg = f"download of {url} failed: asked to resume at byte {offset}, server sent from byte {start}"
                raise DataSourceError(msg)
        else:
            offset = 0
            length = response.headers.get("Content-Length")
            identity = response.headers.get("Content-Encoding", "identity") == "identity"
            total = int(length) if length is not None and length.isdigit() and identity else None
            validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
            if validator:
                validator_path.write_text(validator, encoding="utf-8")
            else:
                validator_path.unlink(missing_ok=True)
        received = 0
        with part.open("ab" if resumed else "wb") as handle, progress_bar(total, offset, label) as bar:
            try:
                for chunk in _chunks(response):
                    handle.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                expected = f"{total:,}" if total is not None else "an unknown number of"
                msg = (
                    f"download of {url} was cut off after {offset + received:,} of {expected} bytes "
                    f"({exc.__class__.__name__}); run the command again to resume it"
                )
                raise DataSourceError(msg) from None
    size = part.stat().st_size
    if total is not None and size != total:
        msg = f"download of {url} is truncated: {size:,} of {total:,} bytes; run the command again to resume it"
        raise DataSourceError(msg)
    return received, resumed


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """Body of ``response`` as it arrives, so an interrupted transfer keeps every byte received for resuming."""
    response.raw.decode_content = True
    while chunk := response.raw.read1(CHUNK_BYTES):
        yield chunk


def discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    part.with_name(part.name + ".validator").unlink(missing_ok=True)


def verify_bytes(source: Source, part: Path, url: str) -> None:
    """Compare a complete download with the manifest's size and checksum; a mismatch discards it."""
    size = part.stat().st_size
    if source.size is not None and size != source.size:
        discard(part)
        msg = f"download of {url} has {size:,} bytes, the published file has {source.size:,}; discarded"
        raise DataSourceError(msg)
    if source.sha256 is not None:
        digest = file_sha256(part)
        if digest != source.sha256.lower():
            discard(part)
            msg = (
                f"download of {url} is corrupt: SHA-256 {digest[:12]}… differs from the published "
                f"{source.sha256[:12]}…; discarded"
            )
            raise DataSourceError(msg)
