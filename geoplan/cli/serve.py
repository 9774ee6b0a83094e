"""``geoplan serve``: the planner app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from geoplan.cli.common import AreaOption, app


@app.command("serve")
def serve_command(
    area: AreaOption = None,
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 5006,
    address: Annotated[
        str, typer.Option("--address", help="Address to bind; anything but 127.0.0.1/localhost needs authentication.")
    ] = "127.0.0.1",
    basic_auth: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--basic-auth", help="Panel basic auth: a password or a JSON file of user: password."),
    ] = None,
    oauth_provider: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--oauth-provider", help="Panel OAuth provider (key and secret from PANEL_OAUTH_* variables)."),
    ] = None,
    cookie_secret: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--cookie-secret", help="Secret signing the login cookie (needed with authentication)."),
    ] = None,
    allow_websocket_origin: Annotated[
        Optional[list[str]],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--allow-websocket-origin", help="Extra host[:port] the browser may connect from."),
    ] = None,
) -> None:
    """Start the planner app (Panel) on this machine; one scenario per browser session."""
    import os

    from geoplan.planner import serve_arguments

    argv = serve_arguments(port=port, address=address, area=area, basic_auth=basic_auth,
                           oauth_provider=oauth_provider, cookie_secret=cookie_secret,
                           allow_websocket_origin=allow_websocket_origin or ())  # fmt: skip
    os.environ["GEOPLAN_AREA"] = str(Path(area).resolve()) if area else ""
    print(f"geoplan planner on http://{'localhost' if address == '127.0.0.1' else address}:{port}/planner", file=sys.stderr)
    from panel.command import main as panel_main

    sys.argv = argv
    panel_main()
