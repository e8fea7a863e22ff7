"""Fixtures for the rendered book: one strict build per test session, served and driven in Chromium.

``built_book``  builds the book once (nitpicky, warnings are errors, keep going to list them all).
``site``        serves ``_build/html`` on 127.0.0.1 from a thread (a free port) for the session.
``browser``     one headless Chromium for the session, driven through Playwright.

Which Chromium: ``$MTL_BOOK_CHROMIUM`` if set, else a system Chromium or
Chrome on the ``PATH``, else the browser Playwright downloads with
``.venv/bin/playwright install chromium`` (the rule of
``tools/ensure_browser.py``, which ``make test`` runs first to find, or else
install, one). With none of them the browser tests fail, saying how to
install one; they never skip.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tools.ensure_browser import CHROMIUM_ARGS, INSTALL_HINT, SYSTEM_BROWSERS, BrowserNotFoundError, find_chromium

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def chromium_finder() -> Callable[..., str | None]:
    """:func:`find_chromium`, for tests of the browser selection."""
    return find_chromium


@dataclass(frozen=True)
class BuiltBook:
    """Result of ``jupyter-book build . -n -W --keep-going``."""

    returncode: int
    log: str
    html: Path


def _flush_execution_times(config: pytest.Config) -> None:
    """Write this run's notebook times (root conftest.py) before the build, so the execution report shows them.

    The root conftest writes ``_build/execution-times.json`` at the end of the
    session, after this build; calling it here as well makes the page show
    the run that built it. It does nothing when no notebook ran.
    """
    for plugin in config.pluginmanager.get_plugins():
        plugin_file = getattr(plugin, "__file__", None)
        if plugin_file and Path(plugin_file).resolve() == ROOT / "conftest.py":
            plugin.write_execution_times()


@pytest.fixture(scope="session")
def built_book(request: pytest.FixtureRequest) -> BuiltBook:
    """Build the book once, strictly: nitpicky, warnings are errors, keep going to list them all."""
    _flush_execution_times(request.config)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(ROOT), "--nitpick", "--warningiserror", "--keep-going", "--all"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return BuiltBook(result.returncode, result.stdout + result.stderr, ROOT / "_build" / "html")


@dataclass(frozen=True)
class Site:
    """The built book served over HTTP."""

    root: Path
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def site(built_book: BuiltBook) -> Iterator[Site]:
    """``_build/html`` on http://127.0.0.1:<free port>/, served from a thread for the session."""
    if not (built_book.html / "index.html").is_file():
        pytest.fail("the book produced no HTML to test; the build log ends with:\n" + built_book.log[-3000:])
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-http-server", daemon=True)
    thread.start()
    try:
        yield Site(root=built_book.html, base_url=f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the whole session (a ``playwright.sync_api.Browser``)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed in this environment: run `make test` (it installs requirements.txt).")
    try:
        executable = find_chromium()
    except BrowserNotFoundError as error:
        pytest.fail(str(error))
    with sync_playwright() as playwright:
        if executable is None and not Path(playwright.chromium.executable_path).exists():
            pytest.fail(f"No Chromium found (no MTL_BOOK_CHROMIUM, none of {', '.join(SYSTEM_BROWSERS)}).\n{INSTALL_HINT}")
        try:
            chromium = playwright.chromium.launch(
                executable_path=executable, args=list(CHROMIUM_ARGS), headless=True, timeout=60_000
            )
        except Error as error:
            pytest.fail(f"Could not start {executable or 'Playwright Chromium'}: {error}\n{INSTALL_HINT}")
        try:
            yield chromium
        finally:
            chromium.close()
