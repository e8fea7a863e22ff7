"""Interactive figures for the rendered book, built from results a chapter stores.

The book is static and works offline: a chapter computes its results, and an
:class:`InteractiveFigure` stores them in the notebook's output as HTML with
the data inside (``<script type="application/json">``). In the rendered book
``book/_static/interactive_figures.js`` (plain JavaScript, no libraries, no
requests) turns that output into a chart with controls: a checkbox per line,
a ``<select>`` or a slider per control column. Without JavaScript, and in
Jupyter, the output shows a sentence pointing to the static figure it
explores. In Jupyter, :func:`mtl_helpers.live.live_controls` re-runs a small
configuration live instead.

Introduced in chapter 7 (``fig-ch7-curves``, explored by slider) and used by
the chapters that follow; ``book/contributing.md`` ("Interactive figures")
says how a chapter adds one.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mtl_helpers.runtime import PALETTE
from mtl_helpers.stats import summarize_seeds

__all__ = ["MAX_POINTS", "MAX_TITLE", "SIGNIFICANT_DIGITS", "TEXT_WIDTH", "InteractiveFigure", "seed_summaries"]

#: The most rows (points) one figure may hold: its data travel inside the page.
MAX_POINTS = 5000
#: Numbers are stored rounded to this many significant digits, so that the
#: stored output is the same on every run (nbval compares it) and small.
SIGNIFICANT_DIGITS = 4
#: The longest title: one line of the page and of the stored text.
MAX_TITLE = 80
#: The widest line of the stored plain text (a page's code column): lists of values are cut short to fit.
TEXT_WIDTH = 88
#: Version of the JSON format read by ``interactive_figures.js``.
FORMAT_VERSION = 1

_NAME = re.compile(r"[a-z][a-z0-9-]*")
_FALLBACK = "This interactive figure needs JavaScript; {figure} above shows {shows}."
#: The default last sentence shown without JavaScript (in Jupyter, too).
LIVE_BELOW = "In Jupyter, the live controls below re-run it."


def _round(value: float) -> float | int:
    """``value`` to :data:`SIGNIFICANT_DIGITS` significant digits; an int if it is whole."""
    rounded = float(f"{float(value):.{SIGNIFICANT_DIGITS}g}")
    if rounded.is_integer() and abs(rounded) < 1e15:
        return int(rounded)
    return rounded


def _label(value: Any) -> str:
    """How a value of a line or control column is shown to the reader."""
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _ordered_values(series: pd.Series, *, numeric: bool) -> list[Any]:
    """Distinct values: ascending for numbers, else category order or order of first appearance."""
    if numeric:
        return sorted(series.unique().tolist())
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.unique().tolist())
        return [value for value in series.cat.categories.tolist() if value in present]
    return list(dict.fromkeys(series.tolist()))


class InteractiveFigure:
    """A line chart with controls, for the rendered book, from a long DataFrame.

    Each row of ``frame`` is one point: its ``x`` and ``y``, the line it
    belongs to (``line``) and the value of every control column. The reader
    turns lines on and off (a checkbox each, all on at first) and picks one
    value of each control (a ``<select>`` for categories, a slider for
    numbers); the chart plots the rows that match. Displaying the object in a
    notebook stores HTML with the data rounded to :data:`SIGNIFICANT_DIGITS`
    digits, so the stored output is deterministic; the book's
    ``interactive_figures.js`` draws it. Put it right after the numbered
    static figure it explores (``explores``), which stays the figure for
    readers without JavaScript.

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_points, n_columns)
        Long format, one row per point, at most :data:`MAX_POINTS` rows.
    name : str
        HTML id of the figure, unique in the book: lowercase letters, digits
        and hyphens, e.g. ``"explore-ch7-curves"``.
    x, y : str
        Numeric columns of the horizontal and vertical position (no NaN).
    line : str
        Column whose distinct values are the lines.
    controls : sequence of str, default ()
        Columns the reader chooses one value of; each needs two values or more.
    band : tuple of two str, optional
        ``(lower, upper)`` columns of a shaded interval around each line, such
        as a 95% interval. On a log axis, values at or below zero are drawn at
        the bottom of the axis.
    explores : str
        Name of the numbered static figure (its ``mystnb`` ``name``, e.g.
        ``"fig-ch7-curves"``); the page links to it as "Fig. N".
    title : str
        One line, at most :data:`MAX_TITLE` characters, on what the chart shows.
    x_label, y_label : str, optional
        Axis labels; default the column names.
    labels : mapping of str to str, optional
        Labels of the line and control columns; default the column names.
    colors : mapping of line value to str, optional
        Each line's colour, one of :data:`mtl_helpers.PALETTE` (e.g.
        ``TASK_COLORS["y2"]``), so the line matches the static figure; the dark
        theme shows a lighter version of the same colour. Default: the palette
        in the order of the lines.
    initial : mapping of str to value, optional
        The value each control starts at; default its first value (the
        smallest, for numbers).
    log_x, log_y : bool, default False
        Logarithmic axes (the values must then be positive).
    invert_x : bool, default False
        Large x on the left, as in a static figure with ``ax.invert_xaxis()``.
    sort_x : bool, default True
        Join each line's points in the order of x. Pass False for a curve
        whose x is itself measured, such as a front of two tasks' errors
        traced by a weight: the points are then joined in the order of the
        frame's rows (sort it by the weight first), a line may pass the same
        x twice, and ``band`` is not allowed.
    static_shows : str, default "the same results"
        Completes the sentence shown without JavaScript: "Fig. N above shows
        ...". Say what the static figure covers when it shows less than the
        interactive one.
    jupyter_note : str, default "In Jupyter, the live controls below re-run it."
        The sentence after it, for readers in Jupyter; say where the chapter's
        live controls are (:func:`~mtl_helpers.live_controls`), or pass ``""``.

    Raises
    ------
    ValueError
        A column is missing, x or y has NaN or (on a log axis) non-positive
        values, a control has one value, two rows are the same point, or the
        frame has more than :data:`MAX_POINTS` rows.
    TypeError
        ``frame`` is not a DataFrame, or x, y or a band column is not numeric.

    Examples
    --------
    >>> frame = pd.DataFrame({"step": [1, 2, 1, 2], "loss": [0.5, 0.25, 0.4, 0.3],
    ...                       "task": ["y1", "y1", "y2", "y2"]})
    >>> figure = InteractiveFigure(frame, name="explore-demo", x="step", y="loss",
    ...                            line="task", explores="fig-demo", title="Loss")
    >>> figure
    InteractiveFigure 'explore-demo', exploring fig-demo:
      Loss
      loss against step: 4 points
      lines, task: y1, y2
    >>> figure.spec()["points"][:2]  # [x, y, line]: numbers rounded to 4 digits
    [[1, 0.5, 0], [2, 0.25, 0]]
    >>> figure.to_html().startswith('<div class="mtl-interactive" id="explore-demo"')
    True
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        name: str,
        x: str,
        y: str,
        line: str,
        controls: Sequence[str] = (),
        band: tuple[str, str] | None = None,
        explores: str,
        title: str,
        x_label: str | None = None,
        y_label: str | None = None,
        labels: Mapping[str, str] | None = None,
        colors: Mapping[Any, str] | None = None,
        initial: Mapping[str, Any] | None = None,
        log_x: bool = False,
        log_y: bool = False,
        invert_x: bool = False,
        sort_x: bool = True,
        static_shows: str = "the same results",
        jupyter_note: str = LIVE_BELOW,
    ) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a pandas DataFrame (one row per point), got {type(frame).__name__}")
        if frame.empty:
            raise ValueError("frame has no rows; pass one row per point of the figure")
        if len(frame) > MAX_POINTS:
            raise ValueError(
                f"frame has {len(frame)} rows, more than MAX_POINTS = {MAX_POINTS}: the data travel inside the page; "
                "summarise over seeds first (seed_summaries) or keep fewer settings"
            )
        for key, value in {"name": name, "explores": explores}.items():
            if not isinstance(value, str) or not _NAME.fullmatch(value):
                raise ValueError(
                    f"{key} must be lowercase letters, digits and hyphens starting with a letter "
                    f"(an HTML id such as 'explore-ch7-curves'), got {value!r}"
                )
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE or "\n" in title:
            raise ValueError(
                f"title must be one line of 1 to {MAX_TITLE} characters saying what the chart shows, got {title!r}"
            )
        if isinstance(controls, str):
            raise TypeError(f"controls must be a sequence of column names, got the string {controls!r}; pass ({controls!r},)")
        controls = tuple(controls)
        self._check_columns(frame, x=x, y=y, line=line, controls=controls, band=band)
        for flag_name, flag_value in {"log_x": log_x, "log_y": log_y, "invert_x": invert_x, "sort_x": sort_x}.items():
            if not isinstance(flag_value, bool):
                raise TypeError(f"{flag_name} must be True or False, got {flag_value!r}")
        for axis, column, log in (("x", x, log_x), ("y", y, log_y)):
            values = frame[column].to_numpy(dtype=float)
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                raise ValueError(
                    f"column {column!r} has {bad.size} NaN or infinite values (rows {frame.index[bad[:5]].tolist()}); "
                    "drop or fill them before building the figure"
                )
            if log and np.any(values <= 0):
                raise ValueError(
                    f"column {column!r} has values <= 0, which a log axis cannot show; pass log_{axis}=False"
                )
        if band is not None and not sort_x:
            raise ValueError(
                "a band is drawn between lines sorted by x; with sort_x=False leave out band "
                "(or pass sort_x=True if each line has one y per x)"
            )
        if band is not None:
            values = frame[list(band)].to_numpy(dtype=float)
            if not np.all(np.isfinite(values)):
                raise ValueError(f"band columns {list(band)} have NaN or infinite values; drop or fill them")

        self.frame = frame
        self.name, self.explores, self.title = name, explores, title.strip()
        self.x, self.y, self.line, self.controls, self.band = x, y, line, controls, band
        self.x_label, self.y_label = x_label or x, y_label or y
        self.labels = {column: column for column in (line, *controls)} | dict(labels or {})
        self.log_x, self.log_y, self.invert_x, self.sort_x = log_x, log_y, invert_x, sort_x
        for key, value in {"static_shows": static_shows, "jupyter_note": jupyter_note}.items():
            if not isinstance(value, str):
                raise TypeError(f"{key} must be a string, got {type(value).__name__}")
        self.static_shows, self.jupyter_note = static_shows, jupyter_note.strip()

        self.line_values = _ordered_values(frame[line], numeric=False)
        self.control_values: dict[str, list[Any]] = {}
        self.control_kinds: dict[str, str] = {}
        for column in controls:
            numeric = _is_number(frame[column])
            values = _ordered_values(frame[column], numeric=numeric)
            if len(values) < 2:
                raise ValueError(
                    f"control {column!r} has one value ({_label(values[0])}); a control needs two or more values "
                    "to choose from: leave it out of controls, or add the rows of its other values"
                )
            self.control_values[column] = values
            self.control_kinds[column] = "range" if numeric else "select"
        self.initial = self._check_initial(initial)
        self.colors = self._check_colors(colors)
        self._check_unique_points()

    # ------------------------------------------------------------------ checks

    @staticmethod
    def _check_columns(frame: pd.DataFrame, *, x: str, y: str, line: str, controls: tuple[str, ...], band: Any) -> None:
        if band is not None and (isinstance(band, str) or len(tuple(band)) != 2):
            raise ValueError(f"band must be a pair of column names (lower, upper), got {band!r}")
        named = {"x": x, "y": y, "line": line} | {f"control {c!r}": c for c in controls}
        if band is not None:
            named |= {"band lower": band[0], "band upper": band[1]}
        missing = {role: column for role, column in named.items() if column not in frame.columns}
        if missing:
            raise ValueError(
                f"frame has no column {', '.join(map(repr, missing.values()))} (asked for as {', '.join(missing)}); "
                f"its columns are {list(map(str, frame.columns))}"
            )
        used = [line, *controls]
        if len(set(used)) != len(used) or {x, y} & set(used):
            raise ValueError(
                "x, y, line and the controls must be different columns, "
                f"got x={x!r}, y={y!r}, line={line!r}, controls={list(controls)}"
            )
        numeric = {"x": x, "y": y} | ({"band lower": band[0], "band upper": band[1]} if band else {})
        for role, column in numeric.items():
            if not _is_number(frame[column]):
                raise TypeError(
                    f"{role} column {column!r} must be numeric, got dtype {frame[column].dtype}; convert it with astype(float)"
                )

    def _check_initial(self, initial: Mapping[str, Any] | None) -> dict[str, int]:
        chosen = {column: 0 for column in self.controls}
        for column, value in dict(initial or {}).items():
            if column not in self.control_values:
                raise ValueError(f"initial names {column!r}, which is not a control; controls: {list(self.controls)}")
            values = self.control_values[column]
            if value not in values:
                raise ValueError(f"initial value {value!r} of control {column!r} is not one of its values {values}")
            chosen[column] = values.index(value)
        return chosen

    def _check_colors(self, colors: Mapping[Any, str] | None) -> list[int]:
        slots = [index % len(PALETTE) for index in range(len(self.line_values))]
        palette = [color.lower() for color in PALETTE]
        for value, color in dict(colors or {}).items():
            if value not in self.line_values:
                raise ValueError(f"colors names the line {value!r}, which is not in column {self.line!r}: {self.line_values}")
            if not isinstance(color, str) or color.lower() not in palette:
                raise ValueError(
                    f"the colour of line {value!r} must be one of mtl_helpers.PALETTE {list(PALETTE)} "
                    f"(the dark theme has a matching lighter version of each), got {color!r}"
                )
            slots[self.line_values.index(value)] = palette.index(color.lower())
        return slots

    def _check_unique_points(self) -> None:
        keys = [self.line, *self.controls, self.x] + ([] if self.sort_x else [self.y])
        repeated = self.frame[self.frame.duplicated(keys, keep=False)]
        if not repeated.empty:
            first = repeated.iloc[0]
            where = ", ".join(f"{key}={_label(first[key])}" for key in keys)
            needs = "one y per x" if self.sort_x else "distinct points"
            raise ValueError(
                f"{len(repeated)} rows are the same point ({where}, ...): each line needs {needs} for each "
                "choice of the controls; average them first (seed_summaries) or add a control column"
            )

    # ------------------------------------------------------------------ output

    def spec(self) -> dict[str, Any]:
        """The figure as the JSON object ``interactive_figures.js`` reads (numbers rounded).

        ``points`` holds one list per row: ``[x, y, line index, control value
        indices ..., (band lower, band upper)]``, sorted by line, controls and x
        (with ``sort_x=False``: by line and controls, each line's points in
        the frame's order, and the key ``"sort_x": false`` tells the script).
        """
        line_index = {value: k for k, value in enumerate(self.line_values)}
        control_index = {c: {value: k for k, value in enumerate(values)} for c, values in self.control_values.items()}
        points = []
        for row in self.frame.itertuples(index=False):
            record = dict(zip(self.frame.columns, row, strict=True))
            point = [_round(record[self.x]), _round(record[self.y]), line_index[record[self.line]]]
            point += [control_index[c][record[c]] for c in self.controls]
            if self.band is not None:
                point += [_round(record[self.band[0]]), _round(record[self.band[1]])]
            points.append(point)
        within = (lambda p: (p[0],)) if self.sort_x else (lambda p: ())  # sort is stable: rows' order
        points.sort(key=lambda p: (p[2], *p[3 : 3 + len(self.controls)], *within(p)))
        spec = {
            "version": FORMAT_VERSION,
            "name": self.name,
            "title": self.title,
            "explores": self.explores,
            "x": {"label": self.x_label, "log": self.log_x, "invert": self.invert_x},
            "y": {"label": self.y_label, "log": self.log_y},
            "line": {"label": self.labels[self.line], "values": [_label(v) for v in self.line_values], "colors": self.colors},
            "controls": [
                {
                    "label": self.labels[c],
                    "kind": self.control_kinds[c],
                    "values": [_label(v) for v in self.control_values[c]],
                    "initial": self.initial[c],
                }
                for c in self.controls
            ],
            "band": self.band is not None,
            "points": points,
        }
        if not self.sort_x:  # only then, so that the figures that sort by x store what they stored before
            spec["sort_x"] = False
        return spec

    def to_html(self) -> str:
        """The HTML stored in the notebook: title, data and the no-JavaScript sentence."""
        data = json.dumps(self.spec(), ensure_ascii=True, separators=(",", ":")).replace("</", "<\\/")
        link = f'<a href="#{self.explores}">the figure</a>'
        fallback = _FALLBACK.format(figure=link, shows=html.escape(self.static_shows))
        if self.jupyter_note:
            fallback += " " + html.escape(self.jupyter_note)
        return (
            f'<div class="mtl-interactive" id="{self.name}" data-explores="{self.explores}">\n'
            f'<p class="mtl-interactive__title">Explore <a href="#{self.explores}">the figure above</a>: '
            f"{html.escape(self.title)}</p>\n"
            f'<script type="application/json" class="mtl-interactive__data">{data}</script>\n'
            f'<p class="mtl-interactive__fallback">{fallback}</p>\n'
            "</div>"
        )

    def __repr__(self) -> str:
        def listed(start: str, values: Iterable[Any], limit: int = 6) -> str:
            """``start`` and up to ``limit`` values, fewer if the line would pass :data:`TEXT_WIDTH`."""
            shown, line = [_label(v) for v in values], start
            for count in range(min(limit, len(shown)), 0, -1):
                line = start + ", ".join(shown[:count]) + (f", ... ({len(shown)} values)" if len(shown) > count else "")
                if len(line) <= TEXT_WIDTH:
                    break
            return line

        band = " with intervals" if self.band else ""
        lines = [
            f"InteractiveFigure {self.name!r}, exploring {self.explores}:",
            f"  {self.title}",
            f"  {self.y_label} against {self.x_label}: {len(self.frame)} points{band}",
            listed(f"  lines, {self.labels[self.line]}: ", self.line_values),
        ]
        for column in self.controls:
            kind = "slider" if self.control_kinds[column] == "range" else "menu"
            lines.append(listed(f"  {kind}, {self.labels[column]}: ", self.control_values[column]))
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.to_html(), "text/plain": repr(self)}


def seed_summaries(
    frame: pd.DataFrame, values: str | Sequence[str], *, by: Sequence[str], seed: str = "seed"
) -> pd.DataFrame:
    """Mean and 95% t-interval over seeds of each group, one row per group and measure.

    The long frame an :class:`InteractiveFigure` with a ``band`` needs, from
    the records of a sweep (``Results.frame()``). Intervals are those of
    :func:`~mtl_helpers.summarize_seeds` (Student's t over the seeds).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run: the ``by`` columns, ``seed`` and the measures.
    values : str or sequence of str
        The measure columns to summarise, e.g. ``"mse"`` or ``["y1", "y2"]``.
    by : sequence of str
        Columns that define a group (a setting), e.g. ``["model", "p"]``.
    seed : str, default "seed"
        The seed column; a group must not repeat a seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``*by, "measure", "mean", "low", "high", "seeds"``, in the
        order the groups first appear; ``measure`` names the value column.

    Examples
    --------
    >>> runs = pd.DataFrame({"model": ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2] * 2,
    ...                      "mse": [1.0, 2.0, 3.0, 2.0, 2.0, 2.0]})
    >>> seed_summaries(runs, "mse", by=["model"]).round(3)
      model measure  mean    low   high  seeds
    0     a     mse   2.0 -0.484  4.484      3
    1     b     mse   2.0  2.000  2.000      3
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame of runs (e.g. Results.frame()), got {type(frame).__name__}")
    measures = [values] if isinstance(values, str) else list(values)
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in [*by, seed, *measures] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame has no column {missing}; its columns are {list(map(str, frame.columns))}")
    repeated = frame.duplicated([*by, seed])
    if repeated.any():
        raise ValueError(
            f"{int(repeated.sum())} runs repeat a seed within a group of {by}; add the column that tells them apart to by"
        )
    rows = []
    for key, group in frame.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        for measure in measures:
            found = group[measure].to_numpy(dtype=float)
            if found.size < 2 or np.isnan(found).any():
                where = ", ".join(f"{column}={_label(value)}" for column, value in zip(by, key, strict=True))
                raise ValueError(
                    f"{measure!r} at {where} has {int(np.isfinite(found).sum())} finite values of {found.size} runs; "
                    "an interval needs two seeds or more without NaN: select the rows that have the measure first"
                )
            summary = summarize_seeds(found)
            rows.append({**dict(zip(by, key, strict=True)), "measure": measure, "mean": summary.mean,
                         "low": summary.low, "high": summary.high, "seeds": summary.n})
    return pd.DataFrame(rows, columns=[*by, "measure", "mean", "low", "high", "seeds"])
