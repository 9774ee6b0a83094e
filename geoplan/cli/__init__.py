"""The ``geoplan`` command line.

Each command is a thin layer over a library function: it parses options, calls the engine and
prints or writes the result. Every error a user can cause is printed as ONE line on stderr,
``geoplan: error: <what, naming the file/line/field or option>``, with exit status 2, never as a
traceback or a multi-line usage box: geoplan's own errors (:class:`geoplan.errors.GeoplanError`),
bad option values and unknown options (click's usage errors), and operating-system errors while
reading or writing a file (a folder given for a file, no permission, a full disk), and running
out of memory.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer >= 0.26 carries its own click

from geoplan.cli import analysis, area, cache, data, optimise, outputs, outreach, reach, run, scenario, serve  # noqa: F401 - registers the commands
from geoplan.cli.common import app
from geoplan.errors import GeoplanError

__all__ = ["app", "main"]

#: Exit status of every error a user can cause (as for click's usage errors).
USAGE_EXIT = 2
#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED_EXIT = 130
PROG_NAME = "geoplan"


def one_line(text: str) -> str:
    """``text`` with its lines joined and control characters escaped: one line, no terminal escapes."""
    joined = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in joined)


def _fail(message: str) -> SystemExit:
    print(f"{PROG_NAME}: error: {one_line(message)}", file=sys.stderr)
    return SystemExit(USAGE_EXIT)


def _usage_message(exc: UsageError) -> str:
    command = exc.ctx.command_path if exc.ctx is not None else PROG_NAME
    return f"{exc.format_message()} (see '{command} --help')"


def _os_message(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or type(exc).__name__}"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI (``argv``, default ``sys.argv[1:]``) and exit; errors become one line and status 2."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name=PROG_NAME, standalone_mode=False)
    except NoArgsIsHelpError as exc:
        # `geoplan` or `geoplan scenario` alone: show the help, as asked for by no_args_is_help.
        print(exc.format_message(), file=sys.stderr)
        raise SystemExit(USAGE_EXIT) from None
    except UsageError as exc:
        raise _fail(_usage_message(exc)) from None
    except typer.TyperException as exc:
        raise _fail(exc.format_message()) from None
    except typer.Abort:
        raise SystemExit(INTERRUPTED_EXIT) from None
    except GeoplanError as exc:
        raise _fail(str(exc)) from None
    except MemoryError:
        raise _fail("not enough memory for this request; ask for less (fewer points, a coarser grid)") from None
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            # The reader of our output went away (`geoplan ... | head`): nothing left to say.
            raise SystemExit(1) from None
        raise _fail(_os_message(exc)) from None
    raise SystemExit(result if isinstance(result, int) else 0)
