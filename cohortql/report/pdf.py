"""Prints the report's HTML page to PDF with headless Chromium (the browser the page is tested in).

Why Chromium rather than WeasyPrint: the PDF is then laid out by the same engine whose rendering
of the HTML the tests check (no second CSS implementation to disagree with), and it needs no
Python package with native dependencies of its own; the OS package `chromium` is enough.
The browser runs offline: a fresh profile, no network services, the page read from a local file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_SECONDS = 120
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Flags for a browser that must not reach anything: no first-run, sync, updates or background traffic.
OFFLINE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
)


class PdfError(RuntimeError):
    """The PDF could not be printed (no browser, or the browser failed)."""

    def __init__(self, cause: str, hint: str | None = None):
        super().__init__(cause)
        self.cause, self.hint = cause, hint


def find_chromium() -> str:
    configured = os.environ.get("COHORTQL_CHROMIUM")
    for name in ((configured,) if configured else _CANDIDATES):
        found = shutil.which(name)
        if found:
            return found
    raise PdfError("no Chromium browser found to print the PDF",
                   "install the OS package `chromium` (or set COHORTQL_CHROMIUM), or write .html")


def html_to_pdf(html: str, output: Path) -> None:
    browser = find_chromium()
    # Chromium's helpers may still write to the profile as it exits: leftovers are not an error.
    with tempfile.TemporaryDirectory(prefix="cohortql-pdf-", ignore_cleanup_errors=True) as work:
        page = Path(work) / "report.html"
        page.write_text(html, encoding="utf-8")
        target = Path(work) / "report.pdf"
        command = [browser, *OFFLINE_FLAGS, f"--user-data-dir={Path(work) / 'profile'}", "--no-pdf-header-footer",
                   f"--print-to-pdf={target}", page.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not print the PDF within {TIMEOUT_SECONDS} s") from None
        if done.returncode != 0 or not target.exists() or target.stat().st_size == 0:
            last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise PdfError(f"Chromium failed to print the PDF (exit {done.returncode}): {last[0]}")
        shutil.copyfile(target, output)
