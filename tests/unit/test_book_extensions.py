"""The book's local Sphinx extensions (book/_ext/): their pure functions, and one small Sphinx build."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "book" / "_ext"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"book_ext_{name}", EXT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


versions = _load("book_versions")
html = _load("book_html")


def _fake_versions(installed: dict[str, str]):
    def version_of(name: str) -> str:
        if name not in installed:
            raise metadata.PackageNotFoundError(name)
        return installed[name]

    return version_of


# --- software versions -------------------------------------------------------


def test_distribution_version_takes_the_first_installed_name() -> None:
    version_of = _fake_versions({"tensorflow-cpu": "2.21.0", "tensorflow": "2.20.0"})
    assert versions.distribution_version(("tensorflow", "tensorflow-cpu"), version_of=version_of) == "2.20.0"
    assert versions.distribution_version(("tf-nightly", "tensorflow-cpu"), version_of=version_of) == "2.21.0"
    assert versions.distribution_version(("nothing",), version_of=version_of) is None


def test_distribution_version_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError, match=r"\('numpy',\)"):
        versions.distribution_version("numpy")


def test_software_versions_lists_python_first_and_every_package() -> None:
    version_of = _fake_versions({"tensorflow-cpu": "2.21.0", "numpy": "2.4.6"})
    rows = versions.software_versions(version_of=version_of, python_version="3.11.7")
    labels = [label for label, _ in rows]
    assert rows[0] == ("Python", "3.11.7")
    for label in ("TensorFlow", "Keras", "NumPy", "Matplotlib", "Jupyter Book", "Sphinx", "myst-nb"):
        assert label in labels
    table = dict(rows)
    assert table["TensorFlow"] == "2.21.0" and table["NumPy"] == "2.4.6"
    assert table["Keras"] == versions.NOT_INSTALLED


def test_software_versions_reads_this_environment() -> None:
    table = dict(versions.software_versions())
    assert table["NumPy"] == metadata.version("numpy")
    assert table["Sphinx"] == metadata.version("sphinx")
    assert table["TensorFlow"] != versions.NOT_INSTALLED


# --- execution report --------------------------------------------------------

RECORD = {
    "machine": "Linux x86_64, 2 CPU cores, Python 3.11.7",
    "measured": "2026-01-01 12:00 UTC",
    "notebooks": {
        "ch10_extra.ipynb": {"seconds": 5, "passed": True},
        "ch2_two_head_graph.ipynb": {"seconds": 75.4, "passed": False},
        "ch1_computation_graphs.ipynb": {"seconds": 12.25, "passed": True},
    },
}


def test_parse_execution_record_orders_chapters_naturally() -> None:
    record = versions.parse_execution_record(RECORD)
    assert [entry.notebook for entry in record.notebooks] == [
        "ch1_computation_graphs.ipynb",
        "ch2_two_head_graph.ipynb",
        "ch10_extra.ipynb",
    ]
    assert record.notebooks[0].docname == "notebooks/ch1_computation_graphs"
    assert record.notebooks[1].passed is False
    assert record.total_seconds == pytest.approx(92.65)
    assert record.machine.startswith("Linux")


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ([], "JSON object"),
        ({**RECORD, "machine": 3}, "'machine'"),
        ({**RECORD, "notebooks": []}, "'notebooks'"),
        ({**RECORD, "notebooks": {"ch1.ipynb": {"seconds": -1, "passed": True}}}, "non-negative"),
        ({**RECORD, "notebooks": {"ch1.ipynb": {"seconds": True, "passed": True}}}, "non-negative"),
        ({**RECORD, "notebooks": {"ch1.ipynb": {"seconds": 1.0, "passed": "yes"}}}, "true or false"),
        ({**RECORD, "notebooks": {"ch1.ipynb": 4.0}}, "ch1.ipynb"),
    ],
)
def test_parse_execution_record_names_what_is_wrong(broken: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        versions.parse_execution_record(broken)


def test_read_execution_record(tmp_path: Path) -> None:
    path = tmp_path / "execution-times.json"
    assert versions.read_execution_record(path) is None  # not measured yet
    path.write_text(json.dumps(RECORD))
    assert len(versions.read_execution_record(path).notebooks) == 3
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        versions.read_execution_record(path)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0.0 s"), (4.24, "4.2 s"), (59.9, "59.9 s"), (60, "1 min 00 s"), (75.4, "1 min 15 s"), (3600, "60 min 00 s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert versions.format_duration(seconds) == text


@pytest.mark.parametrize("bad", [-1, "5", None, True])
def test_format_duration_rejects_non_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        versions.format_duration(bad)


# --- HTML clean-up -----------------------------------------------------------


class _Script:
    def __init__(self, filename: str | None, **attributes: str) -> None:
        self.filename, self.attributes = filename, attributes


def test_unique_scripts_drops_repeats_and_keeps_order() -> None:
    a, b = _Script("a.js"), _Script("b.js", defer="defer")
    inline = _Script(None, body="const X = 1")
    inline_again = _Script("", body="const X = 1")  # how sphinx-thebe's second copy looks
    other_inline = _Script(None, body="const Y = 2")
    kept = html.unique_scripts([a, inline, b, inline_again, other_inline, _Script("a.js")])
    assert kept == [a, inline, b, other_inline]
    assert html.unique_scripts(["x.js", "y.js", "x.js"]) == ["x.js", "y.js"]


def test_accessible_citations() -> None:
    source = '<div role="list" class="citation-list">\n<div class="citation" id="id10" role="doc-biblioentry">\n'
    fixed = html.accessible_citations(source)
    assert 'role="doc-biblioentry"' not in fixed
    assert '<div class="citation" id="id10" role="listitem">' in fixed
    assert html.accessible_citations('<a role="doc-noteref">') == '<a role="doc-noteref">'


# --- the directives in a real (small) Sphinx build ---------------------------


def _build(tmp_path: Path, times: dict | None) -> str:
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    source = tmp_path / "src"
    (source / "notebooks").mkdir(parents=True)
    (source / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(EXT)!r})\nextensions = ['book_versions']\nexclude_patterns = ['_build']\n"
    )
    (source / "index.rst").write_text(
        "Book\n====\n\n.. toctree::\n\n   notebooks/ch1_computation_graphs\n\n.. software-versions::\n\n.. execution-report::\n"
    )
    (source / "notebooks" / "ch1_computation_graphs.rst").write_text("1. Computation graphs\n=====================\n")
    if times is not None:
        (source / "_build").mkdir()
        (source / "_build" / "execution-times.json").write_text(json.dumps(times))
    out = tmp_path / "out"
    warnings = io.StringIO()
    with docutils_namespace():  # a fresh docutils registry for each build in this process
        app = Sphinx(str(source), str(source), str(out), str(tmp_path / "doctrees"), "html", status=None, warning=warnings)
        app.build()
    assert app.statuscode == 0
    assert warnings.getvalue() == "", warnings.getvalue()  # a missing times file is not a warning either
    return (out / "index.html").read_text(encoding="utf-8")


def _text(page: str) -> str:
    return re.sub(r"<[^>]+>", "", page)


def test_directives_render_tables(tmp_path: Path) -> None:
    page = _build(tmp_path, RECORD)
    assert metadata.version("numpy") in page and "Jupyter Book" in page
    assert 'href="notebooks/ch1_computation_graphs.html"' in page  # the chapter is linked by its title
    assert "1. Computation graphs" in page
    assert "<code" in page and "ch10_extra.ipynb" in page  # not in this build: named, not linked
    assert "1 min 15 s" in page and "FAILED" in page and "All chapters" in page
    assert "Linux x86_64, 2 CPU cores" in page


def test_execution_report_without_measurements_says_how_to_get_them(tmp_path: Path) -> None:
    page = _build(tmp_path, None)
    assert "Run times not measured yet" in _text(page)
    assert "measured by make test" in _text(page)
