"""Reading and writing files safely: atomic output, one-line read errors, bounded YAML.

Every file geoplan writes goes through :func:`atomic_path` (or :func:`write_text`,
:func:`write_bytes`, :func:`write_csv`, :func:`atomic_directory`): a reader never sees a half-written
file, and a path that cannot be written (a folder where a file is wanted, a file where a folder is
wanted, no permission, a full disk) raises one :class:`~geoplan.errors.OutputError` naming it,
leaving nothing behind. CSVs for people (:func:`write_csv`) are :func:`spreadsheet_safe`: no cell
runs as a formula when the file is opened in a spreadsheet.

Every user file geoplan reads goes through :func:`read_csv` or :func:`read_yaml`: a missing,
unreadable, wrongly encoded or malformed file raises one :class:`~geoplan.errors.InputError`
naming the file (and the line where it can). Rows are named by their line in the file, the
header being line 1 (:func:`csv_line`). YAML is read by :class:`BoundedLoader`, which refuses
anchors and aliases and stops at a size, node and nesting limit, so a small file can never expand
into a huge document (the "billion laughs") or exhaust the stack.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from geoplan import settings
from geoplan.errors import InputError, OutputError

if TYPE_CHECKING:
    from pydantic import ValidationError

#: Largest YAML file read (bytes): catalogues, rules and scenarios are a few kilobytes.
MAX_YAML_BYTES = 1_000_000
#: Most YAML nodes (values, lists, mappings) in one file.
MAX_YAML_NODES = 50_000
#: Deepest nesting of lists and mappings in one YAML file (real files are under 10 deep).
MAX_YAML_DEPTH = 64
#: Range of :data:`geoplan.settings.max_user_csv_bytes` (1 kB to 2 GB).
MIN_CSV_LIMIT_BYTES, MAX_CSV_LIMIT_BYTES = 1_000, 2_000_000_000
#: Line of the first data row of a CSV with a header.
FIRST_DATA_LINE = 2
#: First characters that make a spreadsheet read a text cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Text that a spreadsheet reads as a plain number, whatever its sign: never a formula.
PLAIN_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


# --------------------------------------------------------------------------- writing
def _output_error(target: Path, exc: OSError) -> OutputError:
    if isinstance(exc, IsADirectoryError) or (exc.errno == errno.EISDIR):
        reason = "is a folder; give a file name"
    elif isinstance(exc, NotADirectoryError | FileExistsError):
        reason = "a file stands where a folder is needed on this path"
    elif isinstance(exc, PermissionError):
        reason = "permission denied"
    elif exc.errno == errno.ENOSPC:
        reason = "no space left on the disk"
    elif exc.errno == errno.EROFS:
        reason = "the disk is read-only"
    else:
        reason = exc.strerror or type(exc).__name__
    return OutputError(f"{target}: cannot write ({reason})")


def _make_parents(folder: Path, target: Path) -> list[Path]:
    """Create ``folder`` and missing parents; return the folders created (deepest last)."""
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise _output_error(target, NotADirectoryError(errno.ENOTDIR, "not a folder", str(probe)))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty(missing)
        raise _output_error(target, exc) from None
    return list(reversed(missing))


def _remove_empty(folders: list[Path]) -> None:
    """Remove folders this module created for an output that was not written (deepest first)."""
    for folder in sorted(folders, key=lambda item: len(item.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()


def check_output_file(target: str | os.PathLike[str]) -> Path:
    """Raise :class:`OutputError` at once if ``target`` can never be written as a file.

    That is: it is a folder or a device, or a file stands where one of its folders should be.
    Commands that write several files call this for each before computing anything, so a bad
    second path does not leave the first file written.
    """
    target = Path(target)
    if target.is_dir():
        raise _output_error(target, IsADirectoryError(errno.EISDIR, "is a folder"))
    if target.exists() and not target.is_file():
        msg = f"{target}: cannot write (not a regular file)"
        raise OutputError(msg)
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _output_error(target, NotADirectoryError(errno.ENOTDIR, "not a folder", str(ancestor)))
    return target


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The temporary file sits in the same directory so the final ``os.replace`` is atomic.
    On any exception the temporary file (and any folder created for it) is removed and
    ``target`` is left as it was.

    Parameters
    ----------
    target
        The file to write.

    Yields
    ------
    Path
        A path to write the content to (it does not exist yet; it keeps the target's suffix
        so format drivers that look at the extension still work).

    Raises
    ------
    OutputError
        ``target`` is a folder or not a regular file, its folder cannot be created, or the file
        cannot be written there (permission, read-only or full disk).
    """
    target = check_output_file(target)
    created = _make_parents(target.parent, target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem[:64]}.", suffix=target.suffix[:16], dir=target.parent)
    except OSError as exc:
        _remove_empty(created)
        raise _output_error(target, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        _discard(tmp)
        _remove_empty(created)
        if exc.filename in (str(tmp), str(target)) or exc.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
            raise _output_error(target, exc) from None
        raise
    except BaseException:
        _discard(tmp)
        _remove_empty(created)
        raise


def _discard(path: Path) -> None:
    if path.is_dir():
        for item in sorted(path.rglob("*"), reverse=True):
            with contextlib.suppress(OSError):
                item.rmdir() if item.is_dir() else item.unlink()
        with contextlib.suppress(OSError):
            path.rmdir()
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``target`` atomically (UTF-8) and return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell a spreadsheet would run as a formula prefixed with ``'`` (OWASP CSV injection).

    A venue id or name given as ``=HYPERLINK(...)`` or ``@SUM(...)`` would otherwise run when a
    planner opens the CSV in Excel. Numbers are left as they are: cells of numeric columns, numbers
    in mixed columns, and text that is a plain number such as ``-3.5`` (a spreadsheet reads it as a
    number, not a formula). Index labels are treated like cells; the column headers are geoplan's own.
    """
    safe = frame.copy(deep=False)
    for position, dtype in enumerate(frame.dtypes):
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            safe.isetitem(position, frame.iloc[:, position].map(_formula_safe))
    if isinstance(frame.index, pd.MultiIndex):
        safe.index = frame.index.set_levels([level.map(_formula_safe) for level in frame.index.levels])
    elif pd.api.types.is_object_dtype(frame.index) or pd.api.types.is_string_dtype(frame.index):
        safe.index = frame.index.map(_formula_safe)
    return safe


def _formula_safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(target: str | os.PathLike[str], frame: pd.DataFrame, **to_csv: Any) -> Path:
    """Write ``frame`` as a CSV for people to open, atomically and :func:`spreadsheet_safe`; return the target path.

    Every CSV geoplan writes for users goes through here; ``to_csv`` are :meth:`pandas.DataFrame.to_csv` options.
    """
    with atomic_path(target) as tmp:
        spreadsheet_safe(frame).to_csv(tmp, **to_csv)
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
    ``os.replace`` after the block succeeds; on failure nothing reaches ``target`` (and a
    ``target`` folder created for the occasion is removed again).

    Raises
    ------
    OutputError
        ``target`` is a file, cannot be created, or is not writable.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        msg = f"{target}: cannot write (a file stands where the output folder should be)"
        raise OutputError(msg)
    created = _make_parents(target, target)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target))
    except OSError as exc:
        _remove_empty(created)
        raise _output_error(target, exc) from None
    try:
        yield staging
        for item in sorted(staging.rglob("*")):
            if item.is_file():
                dest = target / item.relative_to(staging)
                if dest.is_dir():
                    raise _output_error(dest, IsADirectoryError(errno.EISDIR, "is a folder"))
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item, dest)
    except OSError as exc:
        _discard(staging)
        _remove_empty(created)
        if isinstance(exc, OutputError):
            raise
        if exc.filename is not None and str(exc.filename).startswith((str(staging), str(target))):
            raise _output_error(target, exc) from None
        raise
    except BaseException:
        _discard(staging)
        _remove_empty(created)
        raise
    _discard(staging)


# --------------------------------------------------------------------------- reading
def check_input_file(path: str | os.PathLike[str], *, what: str = "file") -> Path:
    """``path`` if it is a regular file that can be opened; else a one-line :class:`InputError`."""
    path = Path(path)
    try:
        if path.is_dir():
            msg = f"{what} is a folder; give a file"
            raise InputError(msg, path=path)
        if not path.exists():
            msg = f"{what} not found"
            raise InputError(msg, path=path)
        if not path.is_file():
            msg = f"{what} is not a regular file"
            raise InputError(msg, path=path)
        with path.open("rb"):
            pass
    except OSError as exc:
        raise read_error(path, exc) from None
    return path


def _check_user_csv_size(path: Path) -> None:
    limit = settings.max_user_csv_bytes
    if not MIN_CSV_LIMIT_BYTES <= limit <= MAX_CSV_LIMIT_BYTES:
        msg = f"settings.max_user_csv_bytes is {limit!r}; expected {MIN_CSV_LIMIT_BYTES:,} to {MAX_CSV_LIMIT_BYTES:,} bytes"
        raise ValueError(msg)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise read_error(path, exc) from None
    if size > limit:
        msg = f"file is larger than {limit:,} bytes ({size:,}); split it, or raise settings.max_user_csv_bytes"
        raise InputError(msg, path=path)


def read_error(path: str | os.PathLike[str], exc: OSError) -> InputError:
    """A one-line :class:`InputError` for an operating-system error while reading ``path``."""
    reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror or type(exc).__name__
    return InputError(f"cannot read the file ({reason})", path=path)


def read_csv(path: str | os.PathLike[str], *, limit_size: bool = True, **kwargs: Any) -> pd.DataFrame:
    """Read a CSV as strings (no NA guessing), turning every read failure into a one-line error.

    The error names the file and the kind of failure only: a parser message can quote a line of
    the file, and some inputs (registration records) must never be echoed. Name a bad row with
    :func:`csv_line`. A user's file may be at most :data:`geoplan.settings.max_user_csv_bytes`
    long; ``limit_size=False`` reads a published source file (a national file) of any size.

    Raises
    ------
    InputError
        The file is missing, a folder, unreadable, larger than the limit, empty, not UTF-8, or not
        a readable CSV.
    """
    path = check_input_file(path)
    if limit_size:
        _check_user_csv_size(path)
    try:
        return pd.read_csv(path, **{"dtype": str, "keep_default_na": False, **kwargs})
    except pd.errors.EmptyDataError:
        msg = "file is empty"
        raise InputError(msg, path=path) from None
    except UnicodeError:
        msg = "not UTF-8 text (save the file as CSV UTF-8)"
        raise InputError(msg, path=path) from None
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        msg = f"not a readable CSV ({type(exc).__name__})"
        raise InputError(msg, path=path) from None
    except OSError as exc:
        raise read_error(path, exc) from None


def invalid_field(exc: ValidationError, *, path: object, within: str | None = None) -> InputError:
    """A one-line :class:`InputError` naming the file and the first field (under ``within``) that fails validation."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in ([within] if within else []) + list(first["loc"]))
    return InputError(first["msg"], path=path, field=field)


def csv_line(path: str | os.PathLike[str], position: int, *, header: bool = True, encoding: str = "utf-8-sig") -> int:
    """The line of the file (header = line 1) on which data row ``position`` (0-based) starts.

    Rows are counted as :func:`read_csv` counts them (blank lines skipped; a quoted field may span
    several lines), so an error names the line a person sees in an editor. Only called on the
    error path: it reads the file again.
    """
    wanted = position + (1 if header else 0)
    record = -1
    try:
        with Path(path).open(encoding=encoding, newline="") as handle:
            reader = csv.reader(handle)
            last_line = 0
            for fields in reader:
                start = last_line + 1
                last_line = reader.line_num
                if not fields:
                    continue
                record += 1
                if record == wanted:
                    return start
    except (OSError, UnicodeError, csv.Error):
        pass
    return position + (FIRST_DATA_LINE if header else 1)


# --------------------------------------------------------------------------- YAML
class BoundedLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses anchors and aliases and stops at node and depth limits.

    Refusing aliases outright (rather than counting their expansion) keeps the rule simple to
    state: geoplan's YAML files are short and hand-written, and every value is written out.
    """

    def __init__(
        self,
        stream: str,
        *,
        path: object,
        error: type[InputError] = InputError,
        max_nodes: int = MAX_YAML_NODES,
        max_depth: int = MAX_YAML_DEPTH,
        what: str = "geoplan's YAML files",
    ) -> None:
        super().__init__(stream)
        self.what = what
        self.source_path = path
        self.error = error
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.nodes = 0
        self.depth = 0

    def _refuse(self, message: str, event: yaml.Event) -> InputError:
        return self.error(message, path=self.source_path, line=event.start_mark.line + 1)

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            msg = f"YAML anchors and aliases (& and *) are not allowed in {self.what}; write each value out"
            raise self._refuse(msg, event)
        self.nodes += 1
        if self.nodes > self.max_nodes:
            msg = f"more than {self.max_nodes:,} YAML values; this file is far larger than any geoplan file"
            raise self._refuse(msg, event)
        self.depth += 1
        if self.depth > self.max_depth:
            msg = f"lists and mappings nested more than {self.max_depth} deep"
            raise self._refuse(msg, event)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _yaml_syntax_error(exc: yaml.YAMLError, text: str, path: object, error: type[InputError]) -> InputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None and isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
    else:
        line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "syntax error"
    return error(f"not valid YAML ({problem})", path=path, line=line)


def compose_yaml(text: str, *, path: object, error: type[InputError] = InputError) -> yaml.Node | None:
    """Parse YAML ``text`` into its node tree (each node has ``start_mark.line``), within the limits.

    This is the one bounded entry point for YAML with line numbers: build values from the tree
    with :func:`construct_yaml`.

    Raises
    ------
    InputError
        (or ``error``) Text over :data:`MAX_YAML_BYTES`, a syntax error, an anchor or alias, more
        than :data:`MAX_YAML_NODES` values or nesting deeper than :data:`MAX_YAML_DEPTH`.
    """
    if len(text) > MAX_YAML_BYTES:
        msg = f"file is larger than {MAX_YAML_BYTES:,} bytes"
        raise error(msg, path=path)
    try:
        loader = BoundedLoader(text, path=path, error=error)
    except yaml.YAMLError as exc:  # the reader refuses control characters at once
        raise _yaml_syntax_error(exc, text, path, error) from None
    try:
        return loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _yaml_syntax_error(exc, text, path, error) from None
    finally:
        loader.dispose()


def construct_yaml(node: yaml.Node | None, *, path: object, error: type[InputError] = InputError) -> object:
    """Python values (dicts, lists, strings, numbers, dates) of a node tree from :func:`compose_yaml`."""
    if node is None:
        return None
    try:
        return yaml.constructor.SafeConstructor().construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_syntax_error(exc, "", path, error) from None
    except (ValueError, OverflowError) as exc:
        # e.g. an integer of more than 4,300 digits, or an impossible date
        line = getattr(getattr(node, "start_mark", None), "line", 0) + 1
        msg = f"a value cannot be read ({type(exc).__name__})"
        raise error(msg, path=path, line=line) from None


def read_text(path: str | os.PathLike[str], *, what: str = "file", max_bytes: int | None = None) -> str:
    """A small UTF-8 text file's content, with one-line errors for every way reading can fail."""
    path = check_input_file(path, what=what)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1) if max_bytes is not None else handle.read()
    except OSError as exc:
        raise read_error(path, exc) from None
    if max_bytes is not None and len(data) > max_bytes:
        msg = f"{what} is larger than {max_bytes:,} bytes"
        raise InputError(msg, path=path)
    try:
        return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=None).read()
    except UnicodeError:
        msg = f"{what} is not UTF-8 text"
        raise InputError(msg, path=path) from None


def read_yaml(path: str | os.PathLike[str], *, what: str) -> object:
    """Parse a YAML file within the limits, turning every failure into a one-line error naming the line."""
    text = read_text(path, what=what, max_bytes=MAX_YAML_BYTES)
    return construct_yaml(compose_yaml(text, path=Path(path)), path=Path(path))
