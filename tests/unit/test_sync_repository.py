"""``make sync-repository``: the chapters' Colab install line follows _config.yml."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from mtl_helpers.authoring import repository_url, sync_repository_url

SETUP = (
    "try:\n    import mtl_helpers\nexcept ModuleNotFoundError:\n"
    '    %pip install --quiet "mtl-helpers @ git+https://github.com/old/book@main"\n    import mtl_helpers\n'
)


def test_rewrites_only_the_repository(tmp_path: Path) -> None:
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP)]), path)
    assert sync_repository_url(path, "https://github.com/fork/book") is True
    source = nbformat.read(path, as_version=4).cells[0].source
    assert '"mtl-helpers @ git+https://github.com/fork/book@main"' in source
    assert sync_repository_url(path, "https://github.com/fork/book") is False


def test_reads_the_url_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/me/mtl/\n")
    assert repository_url(config) == "https://github.com/me/mtl"
    config.write_text("title: no repository\n")
    with pytest.raises(ValueError, match=r"has no repository\.url"):
        repository_url(config)
