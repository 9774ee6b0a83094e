"""``geoplan cache``: the user cache of downloads, walking networks and travel times."""

from __future__ import annotations

from typing import Annotated

import typer

from geoplan.cli.common import JsonOption, command_group, print_json

#: Bytes in a megabyte, as cache sizes are shown.
BYTES_PER_MB = 1e6


cache_app = command_group(
    "cache", "The cache of downloads, walking networks and travel times: where it is, what it holds, clearing it."
)


@cache_app.command("info")
def cache_info_command(as_json: JsonOption = False) -> None:
    """Where the cache folder is (GEOPLAN_CACHE moves it) and how many files and bytes each kind of entry takes."""
    from geoplan import settings
    from geoplan.cache import cache_info
    from geoplan.text import plural

    kinds = cache_info()
    if as_json:
        print_json({"folder": str(settings.cache_dir), "kinds": kinds})
        return
    print(f"Cache folder: {settings.cache_dir}")
    for kind, entry in kinds.items():
        print(f"  {kind:<12} {plural(entry['files'], 'file'):>10}  {entry['bytes'] / BYTES_PER_MB:8.1f} MB")
    if not kinds:
        print("  (empty)")


@cache_app.command("clear")
def cache_clear_command(
    kinds: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Clear only this kind of entry (e.g. networks, traveltimes, sources); repeatable."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Delete cached entries (all, or the --kind ones); each is rebuilt or downloaded again when next needed."""
    from geoplan import settings
    from geoplan.cache import cache_info, clear_cache
    from geoplan.errors import InputError
    from geoplan.text import plural

    present = cache_info()
    unknown = sorted(set(kinds or ()) - set(present))
    if unknown:
        held = ", ".join(present) or "nothing"
        msg = f"no cache entries of kind {unknown[0]!r} in {settings.cache_dir} (it holds: {held})"
        raise InputError(msg, field="--kind")
    removed = clear_cache(kinds)
    if as_json:
        print_json({"folder": str(settings.cache_dir), "removed_files": removed})
        return
    print(f"Removed {plural(removed, 'file')} from {settings.cache_dir}")
