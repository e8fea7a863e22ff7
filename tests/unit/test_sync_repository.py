"""``make sync-repository``: the chapters' Colab install line follows _config.yml and the package version."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

import mtl_helpers
from tools.authoring import install_lines, installed_from, main, release_tag, repository_url, sync_repository_url

SETUP = (
    "try:\n    import mtl_helpers\nexcept ModuleNotFoundError:\n"
    '    %pip install --quiet "mtl-helpers @ git+https://github.com/old/book@main"\n    import mtl_helpers\n'
)


def _chapter(tmp_path: Path) -> Path:
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP)]), path)
    return path


TWO_LINES = (
    "try:\n    import mtl_helpers\nexcept ModuleNotFoundError:\n"
    '    REPOSITORY = "https://github.com/fork/book"\n'
    '    %pip install --quiet "mtl-helpers @ git+{REPOSITORY}@v9.9.9"\n    import mtl_helpers\n'
)


def test_rewrites_the_repository_and_the_tag_on_lines_that_fit_the_page(tmp_path: Path) -> None:
    path = _chapter(tmp_path)
    assert sync_repository_url(path, "https://github.com/fork/book", ref="v9.9.9") is True
    source = nbformat.read(path, as_version=4).cells[0].source
    assert source == TWO_LINES, "the one-line form becomes two lines; nothing else changes"
    assert installed_from(source) == ("https://github.com/fork/book", "v9.9.9")
    assert sync_repository_url(path, "https://github.com/fork/book", ref="v9.9.9") is False
    assert sync_repository_url(path, "https://github.com/other/book", ref="v1.0.0") is True
    assert installed_from(nbformat.read(path, as_version=4).cells[0].source) == ("https://github.com/other/book", "v1.0.0")


def test_the_install_lines_run_in_ipython() -> None:
    """IPython expands {REPOSITORY} in the %pip line (as on Colab), with the formatter its var_expand uses."""
    from IPython.utils.text import DollarFormatter

    repository_line, pip_line = install_lines("https://github.com/me/book", "v1.0.0").split("\n")
    namespace: dict[str, object] = {}
    exec(repository_line, namespace)
    expanded = DollarFormatter().vformat(pip_line.strip().removeprefix("%pip "), args=[], kwargs=namespace)
    assert expanded == 'install --quiet "mtl-helpers @ git+https://github.com/me/book@v1.0.0"'


def test_the_tag_is_the_package_version(tmp_path: Path) -> None:
    assert release_tag() == f"v{mtl_helpers.__version__}"
    path = _chapter(tmp_path)
    assert sync_repository_url(path, "https://github.com/fork/book") is True
    assert installed_from(nbformat.read(path, as_version=4).cells[0].source)[1] == f"v{mtl_helpers.__version__}"
    init = tmp_path / "__init__.py"
    init.write_text('"""Doc."""\n__version__ = "1.2.3"\n')
    assert release_tag(init) == "v1.2.3"
    init.write_text("VERSION = 1\n")
    with pytest.raises(ValueError, match="no __version__"):
        release_tag(init)


def test_reads_the_url_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/me/mtl/\n")
    assert repository_url(config) == "https://github.com/me/mtl"
    config.write_text("title: no repository\n")
    with pytest.raises(ValueError, match=r"has no repository\.url"):
        repository_url(config)


def test_command_line_works_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The book's _config.yml is read wherever the command runs; paths are relative to the working folder."""
    path = _chapter(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["sync-repository", path.name]) == 0
    assert f"now installs {repository_url()}@{release_tag()}" in capsys.readouterr().out
    assert installed_from(nbformat.read(path, as_version=4).cells[0].source) == (repository_url(), release_tag())
