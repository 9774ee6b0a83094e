"""``geoplan serve``: the planner app, served by Panel with its secrets kept off the command line."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from geoplan import resources, settings
from geoplan.cli.common import AreaOption, app, number_option
from geoplan.errors import InputError

#: Addresses that only this machine can reach; binding anywhere else needs authentication.
LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")
#: The Panel app ``geoplan serve`` runs.
APP_PATH = resources.app_file()
#: The login page (offline: no outside logo or font).
LOGIN_TEMPLATE = APP_PATH.parent / "login.html"
#: Environment variable holding the path of a credentials file (JSON: user name → password).
CREDENTIALS_VARIABLE = "GEOPLAN_CREDENTIALS"
#: Shortest password accepted in a credentials file.
MIN_PASSWORD_CHARS = 8
#: Bytes of randomness in a generated cookie secret.
COOKIE_SECRET_BYTES = 32
#: User names: letters, digits, dot, dash, underscore, at-sign.
USER_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def check_credentials(path: str | os.PathLike[str]) -> Path:
    """Check a credentials file: a JSON object of user name → password, readable by its owner only.

    Raises
    ------
    InputError
        The file is missing, not a JSON object, names a bad user, has a short password, or can be
        read by other users of the machine.
    """
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        msg = "credentials file not found"
        raise InputError(msg, path=path, field="credentials")
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        msg = f"credentials file can be read by other users; run: chmod 600 {path}"
        raise InputError(msg, path=path, field="credentials")
    try:
        users = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"not a JSON object of user name to password ({exc.__class__.__name__})"
        raise InputError(msg, path=path, field="credentials") from None
    if not isinstance(users, dict) or not users:
        msg = 'a credentials file is a JSON object of user name to password, such as {"planner": "long password"}'
        raise InputError(msg, path=path, field="credentials")
    for user, password in users.items():
        if not USER_PATTERN.match(user):
            msg = f"user name {user!r} must be 1-64 letters, digits or . _ @ -"
            raise InputError(msg, path=path, field=user)
        if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
            msg = f"the password of {user!r} must be text of at least {MIN_PASSWORD_CHARS} characters"
            raise InputError(msg, path=path, field=user)
    return path


def serve_arguments(
    *,
    port: int,
    address: str,
    area: str | os.PathLike[str] | None = None,
    credentials: str | os.PathLike[str] | None = None,
    oauth_provider: str | None = None,
    allow_websocket_origin: Iterable[str] = (),
    environ: dict[str, str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The ``panel serve`` command line of the planner and the environment it needs.

    Secrets never go on the command line (where ``ps`` shows them): the credentials are a file
    (``credentials`` or ``$GEOPLAN_CREDENTIALS``) of user name → password, so Panel checks the
    user name as well as the password; the cookie secret comes from ``$PANEL_COOKIE_SECRET`` or
    is generated for this run (never missing, so the login never answers HTTP 500).

    Returns
    -------
    (list of str, dict)
        The arguments and the environment variables to set for Panel.

    Raises
    ------
    InputError
        ``address`` is not local and no authentication is configured, a bad credentials file,
        a password in ``PANEL_BASIC_AUTH``, or an invalid port.
    """
    environ = dict(os.environ if environ is None else environ)
    if not 0 < port < 2**16:
        msg = f"port must be between 1 and 65535, got {port}"
        raise InputError(msg, field="port")
    if environ.get("PANEL_BASIC_AUTH"):
        msg = f"PANEL_BASIC_AUTH accepts any user name; put user names and passwords in a file named by {CREDENTIALS_VARIABLE} or --credentials"
        raise InputError(msg, field="PANEL_BASIC_AUTH")
    credentials = credentials or environ.get(CREDENTIALS_VARIABLE) or None
    oauth_provider = oauth_provider or environ.get("PANEL_OAUTH_PROVIDER") or None
    if address not in LOCAL_ADDRESSES and not (credentials or oauth_provider):
        msg = (
            f"refusing to serve on {address} without authentication; give --credentials FILE (or set "
            f"{CREDENTIALS_VARIABLE}) or --oauth-provider, or serve on 127.0.0.1"
        )
        raise InputError(msg, field="address")
    area_path = Path(area or settings.default_area)
    if not area_path.is_file():
        msg = "layer catalogue not found"
        raise InputError(msg, path=area_path, field="area")
    host = "localhost" if address in LOCAL_ADDRESSES else address
    origins = list(dict.fromkeys([*allow_websocket_origin, f"localhost:{port}", f"127.0.0.1:{port}", f"{host}:{port}"]))
    argv = ["panel", "serve", str(APP_PATH), "--port", str(port), "--address", address, "--log-level", "warning"]
    for origin in origins:
        argv += ["--allow-websocket-origin", origin]
    env: dict[str, str] = {"GEOPLAN_AREA": str(area_path.resolve())}
    if credentials or oauth_provider:
        env["PANEL_COOKIE_SECRET"] = environ.get("PANEL_COOKIE_SECRET") or secrets.token_urlsafe(COOKIE_SECRET_BYTES)
    if credentials:
        env["PANEL_BASIC_AUTH"] = str(check_credentials(credentials))
        argv += ["--basic-login-template", str(LOGIN_TEMPLATE)]
    if oauth_provider:
        argv += ["--oauth-provider", oauth_provider]
    return argv, env


@app.command("serve")
def serve_command(
    area: AreaOption = None,
    port: Annotated[int, number_option("--port", "Port to listen on", low=1, high=65_535)] = 5006,
    address: Annotated[
        str, typer.Option("--address", help="Address to bind; anything but 127.0.0.1/localhost needs authentication.")
    ] = "127.0.0.1",
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            help="JSON file of user name to password (chmod 600) for the login page; or set GEOPLAN_CREDENTIALS.",
        ),
    ] = None,
    oauth_provider: Annotated[
        str | None,
        typer.Option("--oauth-provider", help="Panel OAuth provider (key and secret from PANEL_OAUTH_* variables)."),
    ] = None,
    allow_websocket_origin: Annotated[
        list[str] | None,
        typer.Option("--allow-websocket-origin", help="Extra host[:port] the browser may connect from."),
    ] = None,
) -> None:
    """Start the planner app (Panel) on this machine; one scenario per browser session.

    The login cookie's secret is read from PANEL_COOKIE_SECRET or generated for this run.
    """
    from geoplan.layers import load_catalogue

    if area is not None:
        load_catalogue(area)  # a broken catalogue fails now, in one line, not later in every browser session
    argv, environ = serve_arguments(
        port=port,
        address=address,
        area=area,
        credentials=credentials,
        oauth_provider=oauth_provider,
        allow_websocket_origin=allow_websocket_origin or (),
    )
    os.environ.update(environ)
    print(
        f"geoplan planner on http://{'localhost' if address == '127.0.0.1' else address}:{port}/planner_app",
        file=sys.stderr,
    )
    from panel.command import main as panel_main

    sys.argv = argv
    panel_main()
