"""Make sure the rendered-book tests have a Chromium to drive; ``make test`` runs this first.

The browser, in this order of preference:

1. the one ``MTL_BOOK_CHROMIUM`` names (a path or a command; if it does not
   work, that is an error: nothing is installed behind the reader's back);
2. a Chromium or Chrome the machine has: on the ``PATH``
   (:data:`SYSTEM_BROWSERS`), or Playwright's own, downloaded earlier;
3. where system packages may be installed (running as root, ``apt-get``
   available): Debian's ``chromium`` package;
4. Playwright's own Chromium (``playwright install chromium``, with
   ``--with-deps`` as root so that its system libraries come too).

Each candidate is started once, headless, before it is accepted. When none
can be had, the script exits with status 1 and prints the one command to run.

Usage: ``python tools/ensure_browser.py`` (``--check`` only looks, installs nothing).
The rendered-book tests (``tests/rendered/conftest.py``) pick the browser
with :func:`find_chromium`, the same rule as steps 1-2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = [
    "CHROMIUM_ARGS",
    "INSTALL_HINT",
    "SYSTEM_BROWSERS",
    "BrowserNotFoundError",
    "ensure_browser",
    "find_chromium",
    "main",
    "manual_command",
]

#: Flags for a quiet, offline, reproducible headless Chromium.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: System browsers tried, in order, when MTL_BOOK_CHROMIUM is not set.
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "The rendered-book tests need Chromium. `make test` obtains one (python tools/ensure_browser.py);\n"
    "by hand: sudo apt-get install chromium   (Debian; or your system's package manager)\n"
    "     or: .venv/bin/playwright install chromium\n"
    "     or: point MTL_BOOK_CHROMIUM at a Chromium or Chrome executable."
)
APT_PACKAGE = "chromium"


class BrowserNotFoundError(RuntimeError):
    """No usable Chromium; the message says how to get one."""


def find_chromium(environ: Mapping[str, str] = os.environ, which: Callable[[str], str | None] = shutil.which) -> str | None:
    """The Chromium executable to drive, or None to use Playwright's own browser.

    ``MTL_BOOK_CHROMIUM`` wins when set (a path or a command name); then the
    first of :data:`SYSTEM_BROWSERS` found on the ``PATH``.

    Raises
    ------
    BrowserNotFoundError
        If ``MTL_BOOK_CHROMIUM`` is set but names no executable.
    """
    chosen = environ.get("MTL_BOOK_CHROMIUM", "").strip()
    if chosen:
        found = which(chosen)
        if found is None:
            raise BrowserNotFoundError(f"MTL_BOOK_CHROMIUM={chosen!r} is not an executable.\n{INSTALL_HINT}")
        return found
    for name in SYSTEM_BROWSERS:
        found = which(name)
        if found is not None:
            return found
    return None


def _playwright_command() -> str:
    """The ``playwright`` command of this environment (``.venv/bin/playwright``)."""
    command = Path(sys.executable).with_name("playwright")
    try:
        return str(command.relative_to(Path.cwd()))
    except ValueError:
        return str(command)


def _can_install_system_packages() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _is_debian() -> bool:
    try:
        release = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return False
    return any(line.strip() in ("ID=debian", 'ID="debian"') for line in release.splitlines())


def manual_command(*, root: bool, apt: bool, debian: bool) -> str:
    """The one command that gets a browser where this script could not.

    Debian's package where apt exists on Debian, else Playwright's browser with
    its system libraries (which needs root), else Playwright's browser alone.
    """
    sudo = "" if root else "sudo "
    if apt and debian:
        return f"{sudo}apt-get install -y --no-install-recommends {APT_PACKAGE}"
    if apt:
        return f"{sudo}{_playwright_command()} install --with-deps chromium"
    return f"{_playwright_command()} install chromium"


def _launch_problem(executable: str | None) -> str | None:
    """Start the browser once (None: Playwright's own); None if it works, else why not."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        if executable is None and not Path(playwright.chromium.executable_path).exists():
            return "Playwright's Chromium is not downloaded"
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS), timeout=60_000)
        except Error as error:
            return str(error).strip().splitlines()[0]
        version = browser.version
        browser.close()
    print(f"browser: {executable or 'Playwright Chromium'} {version}")
    return None


def _run(command: list[str], what: str) -> bool:
    print(f"{what}: {' '.join(command)}", flush=True)
    start = time.perf_counter()
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        print(f"  failed ({result.returncode}): {result.stderr.strip()[-800:]}")
        return False
    print(f"  done in {time.perf_counter() - start:.0f} s")
    return True


def ensure_browser(*, install: bool = True) -> str | None:
    """Find, or else install, a Chromium that starts; return it (None: Playwright's own).

    Raises
    ------
    BrowserNotFoundError
        If ``MTL_BOOK_CHROMIUM`` names no working browser, or no browser could be
        found or installed; the message ends with the one command to run.
    """
    tried: list[str] = []
    executable = find_chromium()  # raises if MTL_BOOK_CHROMIUM names nothing
    if os.environ.get("MTL_BOOK_CHROMIUM", "").strip():
        problem = _launch_problem(executable)
        if problem:
            raise BrowserNotFoundError(f"MTL_BOOK_CHROMIUM={executable} does not start: {problem}")
        return executable
    for candidate in dict.fromkeys([executable, None]):  # a system browser, then Playwright's if downloaded
        problem = _launch_problem(candidate)
        if problem is None:
            return candidate
        tried.append(f"{candidate or 'Playwright Chromium'}: {problem}")
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if install:
        if _can_install_system_packages() and _is_debian():
            installed = _run(["apt-get", "update", "-qq"], "updating the package lists") and _run(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", APT_PACKAGE], "installing Debian's chromium"
            )
            if installed:
                executable = find_chromium()
                problem = _launch_problem(executable) if executable else "apt-get installed no chromium on the PATH"
                if problem is None:
                    return executable
                tried.append(f"Debian's chromium: {problem}")
        deps = ["--with-deps"] if _can_install_system_packages() else []
        playwright = str(Path(sys.executable).with_name("playwright"))
        if _run([playwright, "install", *deps, "chromium"], "downloading Playwright's Chromium"):
            problem = _launch_problem(None)
            if problem is None:
                return None
            tried.append(f"Playwright Chromium: {problem}")
    command = manual_command(root=root, apt=shutil.which("apt-get") is not None, debian=_is_debian())
    raise BrowserNotFoundError(
        "No Chromium for the rendered-book tests (" + "; ".join(tried) + ").\n"
        f"Run this once, then make test again:\n    {command}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/ensure_browser.py", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only look for a working browser; install nothing")
    args = parser.parse_args(argv)
    try:
        ensure_browser(install=not args.check)
    except BrowserNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    except ImportError:
        print("Playwright is not installed in this environment: run `make test` (it installs requirements.txt).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
