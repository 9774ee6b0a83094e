"""The committee paper as an A4 PDF: the report printed by headless Chromium, offline.

Committee papers are published as PDFs, so this is the report's main form. The report's print
styles hide the interactive map and keep the static figure; Chromium (through Playwright) lays
out the pages, repeats table headings on each page, keeps rows whole and numbers the pages. No
request leaves the machine: the page is given as a string and every network request is refused.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from geoplan.errors import OutputError
from geoplan.fileio import atomic_path
from geoplan.text import esc

#: The browser used to print (Debian's chromium); ``GEOPLAN_CHROMIUM`` names another.
CHROMIUM = os.environ.get("GEOPLAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking")
#: Milliseconds Chromium may take to lay the report out before the PDF is abandoned.
PRINT_TIMEOUT_MS = 60_000
PAGE_MARGINS = {"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"}
_FOOTER = (
    '<div style="font: 8px Arial, Helvetica, sans-serif; color: #444; width: 100%; padding: 0 14mm; '
    'display: flex; justify-content: space-between;"><span>{title}</span>'
    '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
)


def require_printer() -> None:
    """Check that Playwright and Chromium are installed, before any work is done for a PDF.

    Raises
    ------
    OutputError
        Either is missing.
    """
    if importlib.util.find_spec("playwright") is None:
        msg = "writing a PDF needs Playwright: pip install playwright (it uses the system's chromium)"
        raise OutputError(msg)
    if not Path(CHROMIUM).is_file():
        msg = f"writing a PDF needs Chromium at {CHROMIUM} (apt-get install chromium, or set GEOPLAN_CHROMIUM)"
        raise OutputError(msg)


def write_pdf(page: str, out: str | os.PathLike[str], *, title: str) -> int:
    """Print the report page ``page`` (HTML) to an A4 PDF at ``out``, atomically; returns its size in bytes.

    Raises
    ------
    OutputError
        Chromium or Playwright is missing, or printing failed.
    """
    require_printer()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright, atomic_path(out) as tmp:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
            try:
                context = browser.new_context()
                context.route(
                    "**/*",
                    lambda route: (
                        route.continue_() if route.request.url.startswith(("data:", "about:")) else route.abort()
                    ),
                )
                tab = context.new_page()
                tab.set_content(page, wait_until="load", timeout=PRINT_TIMEOUT_MS)
                tab.emulate_media(media="print")
                tab.pdf(
                    path=str(tmp),
                    format="A4",
                    margin=PAGE_MARGINS,
                    print_background=True,
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=_FOOTER.format(title=esc(title)),
                )
            finally:
                browser.close()
    except PlaywrightError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        msg = f"could not print the report to {out}: {first_line}"
        raise OutputError(msg) from None
    return Path(out).stat().st_size
