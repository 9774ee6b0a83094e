"""Open generated pages in headless Debian Chromium with the network blocked.

Shared by the browser tests (``@pytest.mark.browser``)::

    from browser import open_page  # tests/ is on sys.path (no __init__.py, pytest's prepend mode)

    with open_page(path) as page:
        assert page.failed == [] and page.errors == []
        page.locator(".geoplan-venue").count()

Only ``file:``, ``data:``, ``blob:``, ``about:`` and ``http://127.0.0.1`` requests may proceed;
every other request is aborted and recorded, so a page that needs the internet fails its test
instead of passing on a machine that happens to be online.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALLOWED_PREFIXES = ("file:", "data:", "blob:", "about:", "http://127.0.0.1", "https://127.0.0.1")
#: Milliseconds a page may take to load before the test fails.
LOAD_TIMEOUT_MS = 30_000


@dataclass
class PageLog:
    """What a page did while it was open: blocked and failed requests, console errors, dialogs."""

    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


class LoggedPage:
    """A Playwright page with the :class:`PageLog` of everything it tried to do."""

    def __init__(self, page: object, log: PageLog) -> None:
        self.page = page
        self.log = log

    def __getattr__(self, name: str) -> object:
        return getattr(self.page, name)

    @property
    def failed(self) -> list[str]:
        """Requests that were blocked or failed (a self-contained page makes none)."""
        return self.log.blocked + self.log.failed

    @property
    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions."""
        return self.log.errors


def chromium_available() -> bool:
    """Whether Debian's chromium and Playwright are installed."""
    if importlib.util.find_spec("playwright") is None:
        return False
    return Path(CHROMIUM).is_file()


def require_chromium() -> None:
    """Skip locally (fail in CI) when the browser is missing."""
    if chromium_available():
        return
    msg = f"Debian chromium ({CHROMIUM}) or Playwright missing: apt-get install chromium"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


@contextlib.contextmanager
def open_page(
    target: str | os.PathLike[str], *, width: int = 1400, height: int = 900, wait_ms: int = 300
) -> Iterator[LoggedPage]:
    """Open a file (or a 127.0.0.1 URL) in headless Chromium with every other request blocked.

    Parameters
    ----------
    target
        A path to an HTML file, or a ``file:``/``http://127.0.0.1`` URL.
    width, height
        Viewport size in CSS pixels.
    wait_ms
        Time given to scripts after the ``load`` event.

    Yields
    ------
    LoggedPage
        The page; ``.failed``, ``.errors`` and ``.log.dialogs`` record what went wrong.
    """
    from playwright.sync_api import sync_playwright

    require_chromium()
    url = str(target)
    if not url.startswith(ALLOWED_PREFIXES):
        url = Path(target).resolve().as_uri()
    log = PageLog()

    def route(route_: object) -> None:
        request_url = route_.request.url
        if request_url.startswith(ALLOWED_PREFIXES):
            route_.continue_()
        else:
            log.blocked.append(request_url)
            route_.abort()

    def on_console(message: object) -> None:
        if message.type == "error":
            log.errors.append(message.text)

    def on_failed(request: object) -> None:
        if request.url not in log.blocked:
            log.failed.append(f"{request.url} ({request.failure})")

    def on_dialog(dialog: object) -> None:
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route("**/*", route)
            page = context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda error: log.errors.append(str(error)))
            page.on("requestfailed", lambda request: on_failed(request))
            page.on("dialog", on_dialog)
            page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
            page.wait_for_timeout(wait_ms)
            yield LoggedPage(page, log)
        finally:
            browser.close()
