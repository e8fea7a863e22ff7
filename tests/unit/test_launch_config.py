"""Launching a chapter elsewhere (Colab, Binder) uses the one repository address in _config.yml.

Every chapter's first code cell installs ``mtl_helpers`` from that repository
with ``%pip``, at the release tag of the package's version (``v`` +
``mtl_helpers.__version__``, never ``main``, which moves), and only when the
import fails (on Colab); locally and under nbval the package is installed and
the cell does nothing. After a fork or a version change, ``make
sync-repository`` rewrites the notebooks' install line and keeps these tests
green.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

import mtl_helpers
from tools.authoring import installed_from

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _repository_url() -> str:
    return CONFIG["repository"]["url"].rstrip("/")


def _setup_cell(path: Path) -> str:
    cells = nbformat.read(path, as_version=4).cells
    code = [cell for cell in cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    return code[0].source


def test_repository_is_set_once_and_points_to_github() -> None:
    url = _repository_url()
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url), (
        f"repository.url should be https://github.com/<owner>/<repo>, got {url!r}"
    )
    assert CONFIG["repository"].get("branch", "main") == "main"


def test_launch_and_download_buttons_are_configured() -> None:
    launch = CONFIG["launch_buttons"]
    assert launch["colab_url"] == "https://colab.research.google.com"
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert CONFIG["html"]["use_download_button"] is True
    # Without recursive_update, sphinx.config.html_theme_options would replace
    # the theme options Jupyter Book derives from launch_buttons and repository.
    if "html_theme_options" in CONFIG.get("sphinx", {}).get("config", {}):
        assert CONFIG["sphinx"].get("recursive_update") is True


def test_binder_installs_the_pinned_requirements_and_the_helpers() -> None:
    requirements = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    assert "-r ../requirements.txt" in requirements.splitlines()
    post_build = ROOT / "binder" / "postBuild"
    assert "pip install --no-deps -e ." in post_build.read_text(encoding="utf-8")
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"python-3\.1[1-3]", runtime), f"binder/runtime.txt should pin Python 3.11-3.13, got {runtime!r}"


def test_the_package_version_is_defined_once() -> None:
    """pyproject.toml reads the version from mtl_helpers.__version__, which names the release tag."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in project["project"].get("dynamic", []), "pyproject.toml: dynamic = [\"version\"]"
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mtl_helpers.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", mtl_helpers.__version__)


def _third_party_imports(package: Path) -> set[str]:
    """Top-level names of every module the package imports that is neither its own nor the standard library's."""
    import ast
    import sys

    names = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != package.name}


def test_the_package_declares_every_package_it_imports() -> None:
    """On Colab, `pip install mtl-helpers @ git+...` must bring everything the helpers import (lazily too)."""
    import tomllib
    from importlib.metadata import packages_distributions

    declared = {
        re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    }
    aliases = {"tensorflow-cpu": "tensorflow"}  # the book's Linux pin; Colab and pip users get "tensorflow"
    distributions = packages_distributions()
    missing = {}
    for name in sorted(_third_party_imports(ROOT / "mtl_helpers")):
        normalized = {d.lower().replace("_", "-") for d in distributions.get(name, [name])}
        provided = {aliases.get(d, d) for d in normalized}
        if not provided & declared:
            missing[name] = sorted(provided)
    assert not missing, f"mtl_helpers imports {missing}: add them to `dependencies` in pyproject.toml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_install_url_is_the_repository_at_the_release_tag(path: Path) -> None:
    found = installed_from(_setup_cell(path))
    assert found, (
        f'{path.name}: the first code cell has no `REPOSITORY = "<url>"` and `%pip install --quiet '
        '"mtl-helpers @ git+{REPOSITORY}@<tag>"` lines; run make sync-repository'
    )
    installed = "@".join(found)
    expected = f"{_repository_url()}@v{mtl_helpers.__version__}"
    assert installed == expected, (
        f"{path.name} installs {installed}, but the repository and version say {expected}; run make sync-repository"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_install_runs_only_when_the_helpers_are_missing(path: Path) -> None:
    lines = _setup_cell(path).splitlines()
    assert lines[:2] == ["try:", "    import mtl_helpers"], (
        f"{path.name}: the first code cell should start with try: import mtl_helpers"
    )
    handler = next((i for i, line in enumerate(lines) if line.startswith("except ModuleNotFoundError")), None)
    assert handler is not None, f"{path.name}: the install must sit under `except ModuleNotFoundError:`"
    pip_lines = [i for i, line in enumerate(lines) if "%pip" in line]
    assert len(pip_lines) == 1 and pip_lines[0] > handler and lines[pip_lines[0]].startswith("    "), (
        f"{path.name}: exactly one %pip line, indented under the except clause"
    )


def test_no_other_notebook_cell_installs_anything() -> None:
    for path in NOTEBOOKS:
        cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
        for index, cell in enumerate(cells[1:], start=2):
            assert not re.search(r"^\s*[%!]\s*(pip|conda)\b", cell.source, re.MULTILINE), (
                f"{path.name}: code cell {index} installs packages"
            )
