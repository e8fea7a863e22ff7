"""Interactive figures (mtl_helpers.interactive) and live controls (mtl_helpers.live).

The HTML and JSON an InteractiveFigure stores, its rounding and determinism,
its validation; the colours book.css gives the figures in both themes; the
live controls driven from Python as a reader's clicks would drive them. The
figures in a browser are tested in tests/rendered/test_interactive_figures.py.
"""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mtl_helpers import PALETTE, InteractiveFigure, live_controls, seed_summaries, summarize_seeds
from mtl_helpers import interactive as module
from mtl_helpers.live import LiveControls

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "book" / "_static" / "interactive_figures.js"
CSS = ROOT / "book" / "_static" / "book.css"
MAX_OUTPUT_LINE = 88


@pytest.fixture
def frame() -> pd.DataFrame:
    rows = []
    for p in (1.0, 0.5, 0.0):
        for model in ("alone", "shared"):
            for n in (25, 100, 400):
                mean = 1 / n + (0.01 if model == "alone" else 0.0) + 0.001 * p
                rows.append({"model": model, "p": p, "rows": n, "mse": mean + 1 / 3e6,
                             "low": mean * 0.9, "high": mean * 1.1})
    return pd.DataFrame(rows)


def make(frame: pd.DataFrame, **options) -> InteractiveFigure:
    arguments = {"name": "explore-test", "x": "rows", "y": "mse", "line": "model", "controls": ["p"],
                 "band": ("low", "high"), "explores": "fig-test", "title": "Error against rows"}
    return InteractiveFigure(frame, **(arguments | options))


def stored_spec(figure: InteractiveFigure) -> dict:
    """The JSON inside the HTML, read back as the page's script reads it."""
    match = re.search(r'<script type="application/json" class="mtl-interactive__data">(.*?)</script>', figure.to_html(), re.S)
    assert match, "no data script in the HTML"
    return json.loads(match[1])


# ---------------------------------------------------------------------------
# What the figure stores
# ---------------------------------------------------------------------------


def test_html_holds_the_data_and_a_sentence_for_readers_without_javascript(frame: pd.DataFrame) -> None:
    figure = make(frame, initial={"p": 0.5})
    page = figure.to_html()
    assert page.startswith('<div class="mtl-interactive" id="explore-test" data-explores="fig-test">')
    assert page.count('href="#fig-test"') == 2  # the title and the fallback link to the static figure
    fallback = re.search(r'<p class="mtl-interactive__fallback">(.*?)</p>', page)[1]
    assert "needs JavaScript" in fallback and "shows the same results" in fallback
    assert fallback.endswith("In Jupyter, the live controls below re-run it.")
    spec = stored_spec(figure)
    assert spec == figure.spec()
    assert spec["line"] == {"label": "model", "values": ["alone", "shared"], "colors": [0, 1]}
    assert spec["controls"] == [{"label": "p", "kind": "range", "values": ["0", "0.5", "1"], "initial": 1}]
    assert spec["x"] == {"label": "rows", "log": False, "invert": False} and spec["band"] is True
    assert len(spec["points"]) == len(frame)
    first = spec["points"][0]  # alone, p = 0 (the smallest), 25 rows
    assert first[:4] == [25, 0.05, 0, 0]
    assert first[4:] == [0.045, 0.055]


def test_numbers_are_rounded_to_four_significant_digits(frame: pd.DataFrame) -> None:
    spec = make(frame).spec()
    values = [v for point in spec["points"] for v in (point[1], *point[-2:])]
    assert all(float(f"{v:.4g}") == v for v in values)
    assert all(isinstance(point[0], int) for point in spec["points"]), "whole numbers are stored as ints"
    assert module._round(0.123456) == 0.1235 and module._round(1234567.0) == 1235000 and module._round(2.0) == 2


def test_stored_output_is_deterministic(frame: pd.DataFrame) -> None:
    """Row order and noise below the fourth digit do not change the stored output (nbval compares it)."""
    first = make(frame)
    shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    noisy = frame.assign(mse=frame["mse"] * (1 + 1e-9))
    bundles = [make(f)._repr_mimebundle_() for f in (frame, frame, noisy)]
    assert bundles[0] == bundles[1] == bundles[2]
    assert make(shuffled).spec()["points"] == first.spec()["points"]


def test_plain_text_is_short_and_fits_the_page(frame: pd.DataFrame) -> None:
    text = make(frame)._repr_mimebundle_()["text/plain"]
    assert text == (
        "InteractiveFigure 'explore-test', exploring fig-test:\n"
        "  Error against rows\n"
        "  mse against rows: 18 points with intervals\n"
        "  lines, model: alone, shared\n"
        "  slider, p: 0, 0.5, 1"
    )
    assert all(len(line) <= MAX_OUTPUT_LINE for line in text.splitlines())
    names = {"alone": "a line with a long name", "shared": "another line with a long name"}
    long = make(pd.concat([frame.assign(model=frame["model"].map(names) + f" {k}") for k in range(4)]))
    text = long._repr_mimebundle_()["text/plain"]
    assert "\n  lines, model: a line with a long name 0, ... (8 values)\n" in text  # two would not fit
    assert max(map(len, text.splitlines())) <= MAX_OUTPUT_LINE == module.TEXT_WIDTH


def test_text_is_escaped_and_script_cannot_end_early(frame: pd.DataFrame) -> None:
    odd = frame.assign(model=frame["model"].map({"alone": "</script><b>", "shared": "a & b"}))
    figure = make(odd, title="<i>x</i> & y", static_shows="<b>bold</b>")
    page = figure.to_html()
    assert "<i>x</i>" not in page and html.escape("<i>x</i> & y") in page
    assert "<b>bold</b>" not in page
    assert page.count("</script>") == 1
    assert stored_spec(figure)["line"]["values"] == ["</script><b>", "a & b"]


def test_controls_menus_sliders_and_their_order() -> None:
    rows = [{"x": x, "y": 1.0 + x, "line": "a", "task": task, "steps": steps}
            for task in ("y2", "y1") for steps in (300, 100, 200) for x in (1, 2)]
    figure = InteractiveFigure(pd.DataFrame(rows), name="explore-order", x="x", y="y", line="line",
                               controls=("task", "steps"), explores="fig-order", title="t",
                               labels={"steps": "training steps"})
    task, steps = figure.spec()["controls"]
    assert task == {"label": "task", "kind": "select", "values": ["y2", "y1"], "initial": 0}  # order of appearance
    assert steps == {"label": "training steps", "kind": "range", "values": ["100", "200", "300"], "initial": 0}
    categorical = pd.DataFrame(rows).assign(task=lambda f: pd.Categorical(f["task"], ["y1", "y2"]))
    figure = InteractiveFigure(categorical, name="explore-order", x="x", y="y", line="line",
                               controls=("task", "steps"), explores="fig-order", title="t")
    assert figure.spec()["controls"][0]["values"] == ["y1", "y2"]  # the categories' order


def test_colours_come_from_the_palette(frame: pd.DataFrame) -> None:
    figure = make(frame, colors={"alone": PALETTE[1], "shared": PALETTE[6].lower()})
    assert figure.spec()["line"]["colors"] == [1, 6]
    with pytest.raises(ValueError, match=r"must be one of mtl_helpers.PALETTE .* got '#123456'"):
        make(frame, colors={"alone": "#123456"})
    with pytest.raises(ValueError, match="colors names the line 'both'"):
        make(frame, colors={"both": PALETTE[0]})


def test_a_chapter_can_say_what_the_static_figure_shows(frame: pd.DataFrame) -> None:
    figure = make(frame, static_shows="the hard functions only", jupyter_note="")
    fallback = re.search(r'<p class="mtl-interactive__fallback">(.*?)</p>', figure.to_html())[1]
    assert fallback.endswith("above shows the hard functions only.")


def test_a_front_keeps_the_order_of_its_rows() -> None:
    """sort_x=False: a curve whose x is measured (a front traced by a weight) is joined in row order."""
    front = pd.DataFrame({"w": [0.1, 0.5, 0.9, 0.1, 0.5, 0.9], "x": [0.3, 0.2, 0.3, 0.4, 0.1, 0.2],
                          "y": [0.1, 0.2, 0.4, 0.1, 0.3, 0.2], "line": "fixed", "setting": ["a"] * 3 + ["b"] * 3})
    arguments = {"name": "explore-front", "x": "x", "y": "y", "line": "line", "controls": ["setting"],
                 "explores": "fig-front", "title": "A front"}
    with pytest.raises(ValueError, match=r"rows are the same point \(line=fixed, setting=a, x=0.3, \.\.\.\): each line "
                       "needs one y per x"):
        InteractiveFigure(front, **arguments)  # x = 0.3 twice in setting a: refused when sorting by x
    spec = InteractiveFigure(front.sample(frac=1.0, random_state=1).sort_values("w"), sort_x=False, **arguments).spec()
    assert spec["sort_x"] is False
    sorted_by_x = InteractiveFigure(front.drop_duplicates(["setting", "x"]), **arguments).spec()
    assert "sort_x" not in sorted_by_x, "figures that sort by x store what they stored before"
    assert [p[:2] for p in spec["points"] if p[3] == 0] == [[0.3, 0.1], [0.2, 0.2], [0.3, 0.4]]  # w's order, not x's
    assert [p[:2] for p in spec["points"] if p[3] == 1] == [[0.4, 0.1], [0.1, 0.3], [0.2, 0.2]]
    with pytest.raises(ValueError, match=r"rows are the same point \(.*y=0.1, \.\.\.\): each line needs distinct points"):
        InteractiveFigure(pd.concat([front, front.iloc[:1]]), sort_x=False, **arguments)
    with pytest.raises(ValueError, match="with sort_x=False leave out band"):
        InteractiveFigure(front.assign(low=0.0, high=1.0), sort_x=False, band=("low", "high"), **arguments)
    with pytest.raises(TypeError, match="sort_x must be True or False, got 'no'"):
        InteractiveFigure(front, sort_x="no", **arguments)
    source = JS.read_text(encoding="utf-8")
    assert "this.spec.sort_x === false ? points : points.sort(" in source, "the script must keep the rows' order"


# ---------------------------------------------------------------------------
# Validation: messages that say what to fix
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"y": "loss"}, ValueError, r"frame has no column 'loss' \(asked for as y\); its columns are \['model'"),
        ({"controls": ["p", "task"]}, ValueError, r"no column 'task' \(asked for as control 'task'\)"),
        ({"band": ("low",)}, ValueError, r"band must be a pair of column names \(lower, upper\), got \('low',\)"),
        ({"controls": "p"}, TypeError, r"got the string 'p'; pass \('p',\)"),
        ({"x": "model", "line": "rows"}, TypeError, r"x column 'model' must be numeric, got dtype"),
        ({"line": "p"}, ValueError, "must be different columns"),
        ({"name": "Explore test"}, ValueError, r"name must be lowercase letters, digits and hyphens .* got 'Explore test'"),
        ({"explores": ""}, ValueError, "explores must be lowercase"),
        ({"title": "x" * 81}, ValueError, "title must be one line of 1 to 80 characters"),
        ({"initial": {"p": 0.25}}, ValueError, r"initial value 0.25 of control 'p' is not one of its values \[0.0, 0.5, 1.0\]"),
        ({"initial": {"rows": 25}}, ValueError, r"initial names 'rows', which is not a control"),
        ({"log_x": 1}, TypeError, "log_x must be True or False, got 1"),
        ({"controls": []}, ValueError, r"rows are the same point \(model=alone, rows=25"),
    ],
)
def test_bad_arguments_are_refused(frame: pd.DataFrame, change: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        make(frame, **change)


def test_nan_and_log_axes(frame: pd.DataFrame) -> None:
    broken = frame.copy()
    broken.loc[[3, 7], "mse"] = np.nan
    with pytest.raises(ValueError, match=r"column 'mse' has 2 NaN or infinite values \(rows \[3, 7\]\); drop or fill"):
        make(broken)
    with pytest.raises(ValueError, match=r"band columns .* have NaN"):
        make(frame.assign(low=np.nan))
    with pytest.raises(ValueError, match=r"column 'mse' has values <= 0, which a log axis cannot show; pass log_y=False"):
        make(frame.assign(mse=frame["mse"] - 1), log_y=True)
    make(frame.assign(low=frame["low"] - 1), log_y=True)  # a band may reach below zero: drawn at the axis's bottom


def test_a_control_needs_two_values(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"control 'p' has one value \(0.5\); a control needs two or more values"):
        make(frame[frame["p"] == 0.5])


def test_too_many_points_and_no_rows(frame: pd.DataFrame) -> None:
    big = pd.DataFrame({"x": np.arange(module.MAX_POINTS + 1), "y": 1.0, "line": "a"})
    with pytest.raises(ValueError, match=r"frame has 5001 rows, more than MAX_POINTS = 5000"):
        InteractiveFigure(big, name="big", x="x", y="y", line="line", explores="fig-big", title="t")
    with pytest.raises(ValueError, match="frame has no rows"):
        make(frame.iloc[:0])
    with pytest.raises(TypeError, match="frame must be a pandas DataFrame"):
        make(frame.to_dict())


# ---------------------------------------------------------------------------
# seed_summaries: the long frame of means and intervals
# ---------------------------------------------------------------------------


def test_seed_summaries_match_summarize_seeds() -> None:
    rng = np.random.default_rng(0)
    runs = pd.DataFrame([{"model": m, "p": p, "seed": s, "y1": rng.normal(), "y2": rng.normal()}
                         for m in ("b", "a") for p in (1.0, 0.0) for s in range(5)])
    table = seed_summaries(runs, ["y1", "y2"], by=["model", "p"])
    assert list(table.columns) == ["model", "p", "measure", "mean", "low", "high", "seeds"]
    assert table[["model", "p", "measure"]].head(3).values.tolist() == [["b", 1.0, "y1"], ["b", 1.0, "y2"], ["b", 0.0, "y1"]]
    expected = summarize_seeds(runs.query("model == 'a' and p == 0.0")["y2"])
    row = table.query("model == 'a' and p == 0.0 and measure == 'y2'").iloc[0]
    assert (row["mean"], row["low"], row["high"], row["seeds"]) == (expected.mean, expected.low, expected.high, 5)


def test_seed_summaries_refuse_repeated_seeds_and_nan() -> None:
    runs = pd.DataFrame({"model": ["a"] * 4, "seed": [0, 1, 1, 2], "mse": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match=r"1 runs repeat a seed within a group of \['model'\]"):
        seed_summaries(runs, "mse", by=["model"])
    runs = pd.DataFrame({"model": ["a"] * 3, "seed": [0, 1, 2], "mse": [1.0, np.nan, 3.0]})
    with pytest.raises(ValueError, match=r"'mse' at model=a has 2 finite values of 3 runs"):
        seed_summaries(runs, "mse", by=["model"])
    with pytest.raises(ValueError, match=r"frame has no column \['loss'\]"):
        seed_summaries(runs, "loss", by=["model"])


# ---------------------------------------------------------------------------
# The page's script and style
# ---------------------------------------------------------------------------


def test_script_reads_this_format_version() -> None:
    source = JS.read_text(encoding="utf-8")
    assert f"const FORMAT_VERSION = {module.FORMAT_VERSION};" in source
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", source), "the script must not name another site"


def test_the_book_loads_the_script_and_no_widget_libraries() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]
    assert "interactive_figures.js" in config["html_js_files"]
    assert config["nb_ipywidgets_js"] == {}, "myst-nb would load the widget libraries from a CDN"


def _css_block(selector: str) -> dict[str, str]:
    css = CSS.read_text(encoding="utf-8")
    block = re.search(re.escape(selector) + r"\s*\{(.*?)\}", css, re.S)
    assert block, f"book.css has no rule for {selector}"
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})", block[1]))


def _contrast(first: str, second: str) -> float:
    def luminance(color: str) -> float:
        channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("selector", [".mtl-interactive", 'html[data-theme="dark"] .mtl-interactive'])
def test_theme_colours_are_readable(selector: str) -> None:
    """Text 4.5:1 and lines 3:1 against the figure's background (WCAG 1.4.3 and 1.4.11), light and dark."""
    colors = _css_block(selector)
    background = colors["--mtl-fig-bg"]
    for name in ("--mtl-fig-fg", "--mtl-fig-muted"):
        assert _contrast(colors[name], background) >= 4.5, f"{selector} {name} {colors[name]} on {background}"
    lines = [colors[f"--mtl-line-{k}"] for k in range(len(PALETTE))]
    for k, color in enumerate(lines):
        assert _contrast(color, background) >= 3.0, f"{selector} --mtl-line-{k} {color} on {background}"
    if "dark" not in selector:
        kept = [a.lower() == b.lower() for a, b in zip(lines, PALETTE, strict=True)]
        assert sum(kept) >= 5, "on the light card the lines are the book's palette (static figures use it)"


# ---------------------------------------------------------------------------
# Live controls, driven from Python
# ---------------------------------------------------------------------------


class FakeRun:
    """A small 'experiment' that records its calls."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, **values):
        self.calls.append(values)
        scale = {"y1": 1.0, "y2": 2.0}[values["task"]]
        return np.arange(5) * values["p"] * scale + (0.5 if values.get("shuffle") else 0.0)


def plot_line(result, ax) -> None:
    ax.plot(result)


def _png(knobs) -> str:
    (output,) = knobs.output.outputs
    return output["data"]["image/png"]


def test_live_controls_rerun_on_every_change() -> None:
    run = FakeRun()
    knobs = live_controls(run, controls={"p": [0.0, 0.5, 1.0], "task": ["y1", "y2"], "shuffle": [False, True]},
                          plot=plot_line, initial={"p": 0.5})
    assert isinstance(knobs, LiveControls)
    assert run.calls == [{"p": 0.5, "task": "y1", "shuffle": False}], "run once at once, with the initial values"
    first = _png(knobs)
    steps = [("p", 1.0), ("task", "y2"), ("shuffle", True)]
    for name, value in steps:
        before = _png(knobs)
        start = time.perf_counter()
        knobs.controls[name].value = value
        seconds = time.perf_counter() - start
        assert run.calls[-1][name] == value
        assert _png(knobs) != before, f"the figure was not redrawn after {name} changed"
        assert seconds < 1.0, f"a change took {seconds:.2f} s with a trivial run: the drawing is too slow"
        assert knobs.seconds < 1.0
    assert run.calls[-1] == {"p": 1.0, "task": "y2", "shuffle": True}
    assert knobs.runs == 4 and len(run.calls) == 4
    assert knobs.values() == run.calls[-1]
    assert _png(knobs) != first
    assert knobs.status.value.startswith("Re-ran p = 1, task = y2, shuffle = True in ")


def test_live_controls_choose_widgets_and_have_a_short_repr() -> None:
    import ipywidgets

    knobs = live_controls(FakeRun(), controls={"p": [0.0, 1.0], "task": ["y1", "y2"], "shuffle": [False, True]},
                          plot=plot_line)
    kinds = {name: type(widget) for name, widget in knobs.controls.items()}
    assert kinds == {"p": ipywidgets.SelectionSlider, "task": ipywidgets.Dropdown, "shuffle": ipywidgets.Checkbox}
    assert knobs.controls["p"].continuous_update is False, "a slider re-runs when released, not on every pixel"
    bundle = knobs._repr_mimebundle_()
    assert bundle["text/plain"] == "LiveControls(p, task, shuffle)"
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_live_controls_show_an_error_instead_of_losing_it() -> None:
    def run(p):
        if p > 0:
            raise RuntimeError("the run failed on purpose")
        return np.zeros(3)

    knobs = live_controls(run, controls={"p": [0, 1]}, plot=plot_line)
    knobs.controls["p"].value = 1
    (output,) = knobs.output.outputs
    assert output["output_type"] == "stream" and "RuntimeError: the run failed on purpose" in output["text"]
    assert "failed" in knobs.status.value
    knobs.controls["p"].value = 0  # and recovers
    assert "image/png" in knobs.output.outputs[0]["data"]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"controls": {"p": [1.0]}}, ValueError, r"control 'p' needs a list of two or more values .* got \[1.0\]"),
        ({"controls": {"p": "ab"}}, ValueError, "control 'p' needs a list"),
        ({"controls": {}}, ValueError, "controls must be a non-empty dict"),
        ({"controls": {"p": [0, 1]}, "initial": {"q": 0}}, ValueError, r"initial names \['q'\], which are not controls"),
        ({"controls": {"p": [0, 1]}, "initial": {"p": 2}}, ValueError, r"initial value 2 of control 'p' is not one of"),
        ({"controls": {"p": [0, 1]}, "plot": None}, TypeError, "run and plot must be functions, got run=function, plot=NoneType"),
        ({"controls": {"p": [0, 1]}, "figsize": (6, 0)}, ValueError, r"figsize must be \(width, height\) in inches"),
        ({"controls": {"not a name": [0, 1]}}, ValueError, "control names are run's keyword arguments"),
    ],
)
def test_live_controls_refuse_bad_arguments(arguments: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        live_controls(lambda **values: np.zeros(2), **({"plot": plot_line} | arguments))
