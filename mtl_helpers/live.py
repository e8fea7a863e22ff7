"""Live controls in Jupyter: re-run a small configuration when the reader moves a knob.

The rendered book shows stored results (:mod:`mtl_helpers.interactive`); in
JupyterLab, Colab or Notebook a reader can also re-run the experiment on one
setting. :func:`live_controls` builds ipywidgets (a menu, a slider or a
checkbox per knob), calls the chapter's ``run`` with the chosen values on
each change and draws the result with the chapter's ``plot`` in an
``ipywidgets.Output``, with the time the re-run took.

The figure is drawn by Matplotlib to a PNG and placed in the ``Output``
widget's ``outputs`` directly (not with ``with output:``), so nothing reaches
the notebook cell's own outputs: nbval sees only the widget's short,
deterministic ``text/plain``, and the book (which removes the cell's output
with the ``remove-output`` tag) stores no widget state it cannot show.

Introduced in chapter 7 (one seed, re-trained live for a chosen ``p``).
"""

from __future__ import annotations

import base64
import io
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["live_controls"]  # and LiveControls, the class it returns (built on first use)


#: Room around the axes for tick labels, axis labels and a title (fractions of the figure).
_MARGINS = {"left": 0.12, "right": 0.97, "bottom": 0.16, "top": 0.9}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def _option_label(value: Any) -> str:
    return f"{float(value):g}" if isinstance(value, float | np.floating) else str(value)


def _widget_for(name: str, values: Sequence[Any], initial: Any) -> Any:
    """A Checkbox for (False, True), a SelectionSlider for numbers, else a Dropdown."""
    import ipywidgets as widgets

    layout = widgets.Layout(width="22rem")
    style = {"description_width": "8rem"}
    if sorted(values, key=str) == [False, True] and all(isinstance(v, bool) for v in values):
        return widgets.Checkbox(value=bool(initial), description=name, indent=False)
    options = [(_option_label(value), value) for value in values]
    if all(_is_number(value) for value in values):
        return widgets.SelectionSlider(
            options=options, value=initial, description=name, continuous_update=False, layout=layout, style=style
        )
    return widgets.Dropdown(options=options, value=initial, description=name, layout=layout, style=style)


def _live_class() -> type:
    """:class:`LiveControls`, created on first use so that importing this module does not need ipywidgets."""
    import ipywidgets as widgets

    class _LiveControls(widgets.VBox):
        """The widget :func:`live_controls` returns: the knobs, the figure and the last re-run's time.

        Attributes
        ----------
        controls : dict of str to ipywidgets widget
            One widget per knob, keyed by ``run``'s argument name; setting its
            ``value`` from Python re-runs, as moving it does.
        output : ipywidgets.Output
            Holds the figure (a PNG) or, if ``run`` or ``plot`` failed, the error.
        status : ipywidgets.HTML
            "Re-ran in 0.12 s" after each change.
        runs : int
            How many times ``run`` has been called.
        seconds : float
            Wall-clock seconds of the last call of ``run`` and ``plot``.
        result : object
            What the last call of ``run`` returned.
        """

        def __init__(self, run: Callable[..., Any], plot: Callable[[Any, Axes], Any], controls: dict[str, Any],
                     figsize: tuple[float, float]) -> None:
            self._run, self._plot, self._figsize = run, plot, figsize
            self.controls = controls
            self.output = widgets.Output()
            self.status = widgets.HTML()
            self.runs, self.seconds, self.result = 0, 0.0, None
            super().__init__(children=[*controls.values(), self.status, self.output])
            for widget in controls.values():
                widget.observe(self._changed, names="value")
            self.update()

        def values(self) -> dict[str, Any]:
            """The knobs' current values, keyed by ``run``'s argument name."""
            return {name: widget.value for name, widget in self.controls.items()}

        def _changed(self, change: Mapping[str, Any]) -> None:
            self.update()

        def update(self) -> None:
            """Call ``run`` with the current values and redraw (what a change of a knob does)."""
            values = self.values()
            start = time.perf_counter()
            try:
                self.result = self._run(**values)
                # Fixed margins: an automatic layout would double the time of drawing.
                figure = Figure(figsize=self._figsize, layout="none", facecolor="white")
                figure.subplots_adjust(**_MARGINS)
                self._plot(self.result, figure.add_subplot())
                buffer = io.BytesIO()
                figure.savefig(buffer, format="png", dpi=100)
            except Exception:  # shown to the reader in the widget; a callback's error would vanish in the kernel log
                self.output.outputs = (
                    {"output_type": "stream", "name": "stderr", "text": traceback.format_exc(limit=-3)},
                )
                self.status.value = "<b>The re-run failed</b> (the error is below)."
                return
            finally:
                self.runs += 1
                self.seconds = time.perf_counter() - start
            png = base64.b64encode(buffer.getvalue()).decode("ascii")
            chosen = ", ".join(f"{name} = {_option_label(value)}" for name, value in values.items())
            self.output.outputs = (
                {"output_type": "display_data", "data": {"image/png": png, "text/plain": f"<figure for {chosen}>"},
                 "metadata": {}},
            )
            self.status.value = f"Re-ran {chosen} in {self.seconds:.2f} s."

        def __repr__(self) -> str:
            return f"LiveControls({', '.join(self.controls)})"

    _LiveControls.__name__ = _LiveControls.__qualname__ = "LiveControls"
    return _LiveControls


_CLASS: list[type] = []


def __getattr__(name: str) -> Any:
    if name == "LiveControls":  # the class, for isinstance checks; built on first use
        if not _CLASS:
            _CLASS.append(_live_class())
        return _CLASS[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def live_controls(
    run: Callable[..., Any],
    *,
    controls: Mapping[str, Sequence[Any]],
    plot: Callable[[Any, Axes], Any],
    initial: Mapping[str, Any] | None = None,
    figsize: tuple[float, float] = (6.4, 3.2),
) -> Any:
    """Knobs that re-run ``run`` and redraw with ``plot`` whenever one moves (Jupyter only).

    Builds one ipywidget per knob: a ``Checkbox`` for ``(False, True)``, a
    ``SelectionSlider`` (updating when released) for numbers, a ``Dropdown``
    for anything else. It calls ``run(**values)`` once at once and then on
    every change, and draws ``plot(result, ax)`` on a new Matplotlib figure.
    Keep ``run`` small, so a change takes well under a second: one seed, a
    few hundred steps, and a trainer built once outside ``run`` and restarted
    inside it with ``trainer.reset(seed)`` (nothing is traced again).

    Parameters
    ----------
    run : callable
        Called with one keyword argument per knob; returns what ``plot`` draws.
    controls : mapping of str to sequence
        ``run``'s argument names and the values each may take (two or more).
    plot : callable
        ``plot(result, ax)`` draws ``run``'s result on the Matplotlib ``Axes``
        ``ax``. Do not call ``plt.show()``: the figure is not a pyplot figure.
    initial : mapping of str to value, optional
        Each knob's first value; default the first of its values.
    figsize : tuple of two float, default (6.4, 3.2)
        The figure's size in inches (100 pixels per inch).

    Returns
    -------
    LiveControls
        An ``ipywidgets.VBox``: display it as a cell's last expression. Its
        ``text/plain`` is short and deterministic (``LiveControls(p, rows)``),
        so nbval can compare it; tag the cell ``remove-output`` for the book.

    Examples
    --------
    >>> def run(scale, task):
    ...     return scale * np.arange(4) + (task == "y2")
    >>> def plot(result, ax):
    ...     ax.plot(result)
    >>> knobs = live_controls(run, controls={"scale": [1, 2], "task": ["y1", "y2"]},
    ...                       plot=plot)
    >>> knobs
    LiveControls(scale, task)
    >>> knobs.controls["scale"].value = 2  # as if the reader moved the slider
    >>> knobs.runs, knobs.result.tolist()
    (2, [0, 2, 4, 6])
    """
    if not callable(run) or not callable(plot):
        raise TypeError(
            f"run and plot must be functions, got run={type(run).__name__}, plot={type(plot).__name__}; "
            "pass run(**values) -> result and plot(result, ax)"
        )
    if not isinstance(controls, Mapping) or not controls:
        raise ValueError(f"controls must be a non-empty dict of run's argument names to their values, got {controls!r}")
    initial = dict(initial or {})
    unknown = sorted(set(initial) - set(controls))
    if unknown:
        raise ValueError(f"initial names {unknown}, which are not controls; controls: {list(controls)}")
    widgets = {}
    for name, values in controls.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"control names are run's keyword arguments, got {name!r}")
        if isinstance(values, str) or not isinstance(values, Sequence) or len(values) < 2:
            raise ValueError(
                f"control {name!r} needs a list of two or more values to choose from, got {values!r}; "
                "a fixed value belongs inside run"
            )
        start = initial.get(name, values[0])
        if start not in values:
            raise ValueError(f"initial value {start!r} of control {name!r} is not one of its values {list(values)}")
        widgets[name] = _widget_for(name, list(values), start)
    if len(figsize) != 2 or not all(_is_number(size) and size > 0 for size in figsize):
        raise ValueError(f"figsize must be (width, height) in inches, two positive numbers, got {figsize!r}")
    return __getattr__("LiveControls")(run, plot, widgets, tuple(float(size) for size in figsize))
