"""Shared pieces of the command line: the app, option types, venue selection, JSON printing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

#: The command listed first in ``geoplan --help``: the main job.
MAIN_COMMAND = "run"


class _UntaggedOption(typer.core.TyperOption):
    """An option shown in --help without a ``<path>``/``<bool>`` type tag: its help text says what it takes."""

    def display_type_rich(self, ctx: typer.Context) -> str:
        return ""


class _UntaggedArgument(typer.core.TyperArgument):
    """An argument shown as ``FILE`` (``[FILE]`` when optional) in usage lines, without a type tag."""

    def display_type_rich(self, ctx: typer.Context) -> str:
        return ""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw.upper()
        return (name if self.required else f"[{name}]") + ("..." if self.nargs != 1 else "")


def _drop_type_tags(command: typer.core.TyperCommand | typer.core.TyperGroup) -> None:
    """Show every parameter of ``command`` and its subcommands (and --help itself) without type tags."""
    untagged = {typer.core.TyperOption: _UntaggedOption, typer.core.TyperArgument: _UntaggedArgument}
    for param in [*command.params, command.get_help_option(typer.Context(command))]:
        if type(param) in untagged:
            param.__class__ = untagged[type(param)]
    for subcommand in getattr(command, "commands", {}).values():
        _drop_type_tags(subcommand)


class GeoplanGroup(typer.core.TyperGroup):
    """The top-level command group: the main job listed first, and option help without type tags."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _drop_type_tags(self)

    def list_commands(self, ctx: typer.Context) -> list[str]:
        """Command names, the main job first, then in the order they were defined."""
        return sorted(super().list_commands(ctx), key=lambda name: name != MAIN_COMMAND)


app = typer.Typer(
    cls=GeoplanGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Plan early-years services with walking catchments, deprivation and child population.",
)


def command_group(name: str, what: str) -> typer.Typer:
    """The group of subcommands ``geoplan <name> ...`` (help: ``what``), showing its help when given none."""
    group = typer.Typer(no_args_is_help=True, help=what)
    app.add_typer(group, name=name)
    return group


def number_option(flag: str, what: str, *, low: float, high: float, note: str | None = None) -> Any:
    """A number option checked to lie from ``low`` to ``high``; its help states that range.

    The help reads ``<what> (<low>-<high>; <note>).``, so the range people read is the range checked.
    """
    stated = f"{low:.15g}-{high:.15g}" + (f"; {note}" if note else "")
    return typer.Option(flag, min=low, max=high, help=f"{what} ({stated}).")


def comma_option(flag: str, what: str, *, note: str | None = None) -> Any:
    """An option naming several things joined by commas (read with :func:`comma_list`); its help says so."""
    return typer.Option(flag, help=f"{what}, comma-separated" + (f" ({note})" if note else "") + ".")


def comma_list(text: str | None) -> list[str]:
    """The items of a :func:`comma_option`, stripped of spaces; none when the option is not given."""
    return [part.strip() for part in text.split(",")] if text else []


AreaOption = Annotated[
    Path | None,
    typer.Option(
        "--area", help="Layer catalogue YAML file (default: the shipped one of the London Borough of Bexley)."
    ),
]


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def print_json(payload: object) -> None:
    """Print ``payload`` as indented JSON on stdout (counts as integers, no NaN; see :func:`geoplan.text.json_safe`)."""
    from geoplan.text import json_safe

    print(json.dumps(json_safe(payload), indent=2, allow_nan=False))


ProfileOption = Annotated[str, typer.Option("--profile", help="Walking profile: walk (4.8 km/h) or buggy (4.0 km/h).")]


KindOption = Annotated[
    str,
    typer.Option("--kind", help="Venues that count: centres, centres+libraries, all, or kinds joined by commas."),
]


SessionTypeOption = Annotated[str | None, comma_option("--session-type", "Only venues hosting sessions of these types")]


def venue_selection(area: object, kind: str, session_type: str | None) -> list[str]:
    from geoplan.programme import baseline_configuration, parse_venue_set

    configuration = baseline_configuration(area)
    session_types = comma_list(session_type) or None
    # "centres" are the programme's centres, which a catalogue may widen (programme.centre_kinds).
    kinds = area.catalogue.programme.centre_kinds if kind == "centres" else parse_venue_set(kind)
    return configuration.venue_ids(kinds=kinds, session_types=session_types)


def parse_minutes(text: str) -> list[float]:
    from geoplan.bands import check_bands

    return list(check_bands(text, field="--minutes"))


DecileOption = Annotated[str, typer.Option("--decile", help="Shade LSOAs by national decile of: imd or idaci.")]


OsmOption = Annotated[
    Path | None,
    typer.Option("--osm", help="OpenStreetMap file (.osm, .osm.bz2, .osm.pbf) to build the walking network from."),
]
