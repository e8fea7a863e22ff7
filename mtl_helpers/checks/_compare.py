"""The ``compare_*`` functions: a student's answer against the expected value, as a verdict with a hint.

Each turns a mismatch into a hint that names the problem without revealing
the expected value (see :mod:`mtl_helpers.checks._core` for the list).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from mtl_helpers.checks._verdict import CheckResult, first_failure, hint, passed

__all__ = [
    "compare_arrays",
    "compare_changes",
    "compare_choice",
    "compare_mapping",
    "compare_names",
    "compare_number",
    "task_numbers",
]

_SCALE_CAUSES = "check for a missing or extra scale (the 1/2 in l2_loss, a mean instead of a sum, a learning rate)"


# --------------------------------------------------------------------------- helpers


def _kind(value: Any) -> str:
    return type(value).__name__


def _quote_list(items: Iterable[Any]) -> str:
    return ", ".join(repr(item) for item in items)


def _simple_factor(factor: float, *, sizes: Iterable[int] = ()) -> bool:
    """Whether ``factor`` is a scale a student would recognise as a cause.

    Small fractions p/q (p, q <= 10), powers of ten, and the sizes of the
    answer's axes or their inverses (a sum instead of a mean). Other factors
    are reported without their value: naming an arbitrary factor would give
    the expected value away.
    """
    if not math.isfinite(factor) or factor <= 0:
        return False
    candidates = {Fraction(p, q) for p in range(1, 11) for q in range(1, 11)}
    candidates |= {Fraction(10) ** k for k in range(-4, 5)}
    for size in sizes:
        if size > 1:
            candidates |= {Fraction(size), Fraction(1, size)}
    return any(math.isclose(factor, float(candidate), rel_tol=1e-3) for candidate in candidates)


def _as_number_array(answer: Any, name: str) -> np.ndarray | CheckResult:
    """``answer`` as a float64 array, or a hint saying why it is not numbers."""
    if answer is None:
        return hint(f"{name} is None: did you forget to return or assign it?")
    if isinstance(answer, str | bytes):
        return hint(f"{name} should be numbers, got the text {answer!r}")
    if isinstance(answer, Mapping):
        return hint(f"{name} should be numbers (an array), got a dict with keys {_quote_list(list(answer)[:5])}")
    if isinstance(answer, bool | np.bool_):
        return hint(f"{name} should be numbers, got the truth value {answer}")
    if callable(answer) and not hasattr(answer, "__array__") and not hasattr(answer, "numpy"):
        return hint(f"{name} is a function; call it and pass its result")
    try:
        value = answer.numpy() if callable(getattr(answer, "numpy", None)) else answer
        array = np.asarray(value)
        if np.iscomplexobj(array):
            return hint(f"{name} holds complex numbers; expected real numbers")
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        if isinstance(answer, list | tuple) and len({np.shape(item) for item in answer if _is_sized(item)}) > 1:
            return hint(f"{name} is a list of arrays of different shapes; expected one array")
        return hint(f"{name} should be numbers (an array or a float), got {_kind(answer)}")


def _is_sized(value: Any) -> bool:
    try:
        np.shape(value)
    except (TypeError, ValueError):
        return False
    return True


def _shape_hint(got: np.ndarray, want: np.ndarray, name: str) -> CheckResult:
    received = f"{name} has shape {got.shape}, expected {want.shape}"
    if want.ndim == 0:
        if got.size == 1:
            return hint(f"{received}: a single number; use float(...) or .item()")
        return hint(f"{received}: a single number; did you forget to reduce it (a sum or a mean)?")
    if got.ndim == 0:
        return hint(f"{received}; a single number is too few: did you reduce it too early?")
    if got.ndim == 2 and got.shape[0] == got.shape[1] > 1 and want.size == got.shape[0] and want.ndim <= 2:
        return hint(f"{received}; it looks like an (n,) and an (n, 1) array were broadcast together: make both the same shape")
    if got.size == want.size:
        if got.ndim == 2 and got.T.shape == want.shape:
            return hint(f"{received}; is it transposed?")
        squeezed_got = tuple(size for size in got.shape if size != 1)
        squeezed_want = tuple(size for size in want.shape if size != 1)
        if squeezed_got == squeezed_want:
            if got.ndim > want.ndim:
                return hint(f"{received}; it has an extra axis of length 1 (squeeze or reshape it)")
            return hint(f"{received}; it is missing an axis of length 1 (use x[:, None] or reshape)")
        return hint(f"{received}; the number of entries is right, check the reshape")
    if got.ndim == want.ndim and got.shape[1:] == want.shape[1:]:
        return hint(f"{received}; the number of rows differs: check which examples (or which batch) you used")
    return hint(received)


# --------------------------------------------------------------------------- comparisons


def compare_arrays(
    answer: Any, expected: Any, *, name: str = "your answer", rtol: float = 1e-4, atol: float = 1e-6
) -> CheckResult:
    """Compare a numeric answer with the expected one and explain any mismatch.

    Hints, in order: not numbers (None, text, a dict, a function); wrong shape
    (with the likely cause: a missing reduction, a transpose, an axis of length
    1, broadcasting of ``(n,)`` against ``(n, 1)``); NaN; the wrong sign; a
    transposed square matrix; off by a constant factor (its value is named only
    when it is a recognisable scale such as 2, 1/2 or the batch size); off by
    a constant shift; the right values in the wrong places; otherwise how many
    entries differ. The expected values are never printed.

    Parameters
    ----------
    answer : array_like, tf.Tensor or tf.Variable
    expected : array_like
    name : str, default "your answer"
        How the hint refers to the answer, e.g. ``"the task-1 loss"``.
    rtol, atol : float
        Tolerances of :func:`numpy.allclose`.

    Examples
    --------
    >>> compare_arrays([[1.0, -2.0]], [[-1.0, 2.0]], name="the gradient").message
    'the gradient has the right size but the wrong sign'
    """
    got = _as_number_array(answer, name)
    if isinstance(got, CheckResult):
        return got
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        return _shape_hint(got, want, name)
    if not np.all(np.isfinite(got)):
        return hint(f"{name} contains NaN or infinite values")

    def close(a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.allclose(a, b, rtol=rtol, atol=atol))

    if close(got, want):
        return passed()
    if np.any(np.abs(want) > atol) and close(got, -want):
        return hint(f"{name} has the right size but the wrong sign")
    if got.ndim == 2 and got.shape[0] == got.shape[1] and close(got.T, want):
        return hint(f"{name} is transposed: rows and columns are swapped")
    flat_got, flat_want = got.ravel(), want.ravel()
    if np.any(flat_want != 0) and np.any(np.abs(flat_got) > atol):
        factor = float(flat_got @ flat_want / (flat_want @ flat_want))
        if factor != 0 and close(got, factor * want):
            sizes = (*got.shape, got.size)
            if _simple_factor(abs(factor), sizes=sizes):
                sign = " and the wrong sign" if factor < 0 else ""
                return hint(f"{name} is off by a constant factor of {abs(factor):.4g}{sign}: {_SCALE_CAUSES}")
            if got.size > 1:
                return hint(f"{name} is off by a constant factor (every value is scaled the same way): {_SCALE_CAUSES}")
    if got.size > 1:
        difference = flat_got - flat_want
        if close(difference, np.full_like(difference, difference.mean())):
            return hint(f"{name} is off by the same amount everywhere: a missing or extra bias, offset or mean?")
        if close(np.sort(flat_got), np.sort(flat_want)):
            return hint(f"{name} has the right values in the wrong places: check the order of rows, columns or operands")
        wrong = int(np.sum(~np.isclose(got, want, rtol=rtol, atol=atol)))
        return hint(f"{name} has the right shape but {wrong} of {got.size} values differ")
    return hint(f"{name} is not the expected value (and not a sign or simple scale slip)")


def compare_number(
    answer: Any,
    expected: float,
    *,
    name: str = "your answer",
    integer: bool = False,
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> CheckResult:
    """Compare one number (a float, or a count with ``integer=True``).

    Accepts Python and NumPy numbers, 0-d tensors and size-1 arrays. Hints:
    not a number; an array where one number is expected; not a whole number
    (``integer=True``); the wrong sign; off by a recognisable factor (2, 1/2,
    10 ...); off by one (``integer=True``); otherwise "not the expected value"
    -- never the value itself.

    Examples
    --------
    >>> compare_number(19, 20, integer=True, name="the number of weights").message
    'the number of weights is off by one: count again, including both ends'
    """
    array = _as_number_array(answer, name)
    if isinstance(array, CheckResult):
        return array
    if array.size != 1:
        return hint(f"{name} should be a single number, got an array of shape {array.shape}: reduce it or pick one entry")
    value = float(array.reshape(()))
    if not math.isfinite(value):
        return hint(f"{name} is NaN or infinite")
    target = float(expected)
    if integer:
        if not value.is_integer():
            return hint(f"{name} should be a whole number (a count), got {value:g}")
        got_int, want_int = int(value), round(target)
        if got_int == want_int:
            return passed()
        if want_int != 0 and got_int == -want_int:
            return hint(f"{name} has the wrong sign")
        if abs(got_int - want_int) == 1:
            return hint(f"{name} is off by one: count again, including both ends")
        if want_int != 0 and got_int != 0 and _simple_factor(got_int / want_int):
            return hint(f"{name} is off by a factor of {got_int / want_int:.4g}: did you count something twice, or only half?")
        return hint(f"{name} is not the right count")
    if math.isclose(value, target, rel_tol=rtol, abs_tol=atol):
        return passed()
    if abs(target) > atol and math.isclose(value, -target, rel_tol=rtol, abs_tol=atol):
        return hint(f"{name} has the right size but the wrong sign")
    if abs(target) > atol and abs(value) > atol:
        factor = value / target
        if _simple_factor(abs(factor)):
            sign = " and the wrong sign" if factor < 0 else ""
            return hint(f"{name} is off by a factor of {abs(factor):.4g}{sign}: {_SCALE_CAUSES}")
    return hint(f"{name} is not the expected value (and not a sign or simple scale slip)")


def _normalize_text(text: str) -> str:
    text = text.strip().strip("'\"`").strip().rstrip(".").strip()
    return re.sub(r"\s+", " ", text).casefold()


def compare_choice(answer: Any, expected: str, *, choices: Iterable[str] | None = None, name: str = "your answer") -> CheckResult:
    """Compare a text answer, such as one of a few options, ignoring case, spaces and a final period.

    With ``choices``, an answer that is none of them gets a hint listing the
    choices (which the exercise states anyway); a valid but wrong choice gets
    "not the right choice".

    Examples
    --------
    >>> compare_choice("Joint", "alternating", choices=["alternating", "joint"]).message
    "your answer is one of the choices, but not the right one: reread the exercise's question"
    """
    options = list(choices) if choices is not None else None
    if not isinstance(answer, str):
        listed = f" such as {_quote_list(options)}" if options else ""
        return hint(f"{name} should be text (a str){listed}, got {_kind(answer)}")
    normalized = _normalize_text(answer)
    if options is not None and normalized not in {_normalize_text(option) for option in options}:
        return hint(f"{name} should be one of {_quote_list(options)}, got {answer!r}")
    if normalized == _normalize_text(expected):
        return passed()
    if options is not None:
        return hint(f"{name} is one of the choices, but not the right one: reread the exercise's question")
    return hint(f"{name} is not the expected answer: check the spelling or reread the question")


def _as_name(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    variable_name = getattr(item, "name", None)
    if isinstance(variable_name, str):
        return re.sub(r":\d+$", "", variable_name)  # a tf.Variable's "shared:0" -> "shared"
    return None


def compare_names(
    answer: Any,
    expected: Iterable[str],
    *,
    name: str = "your answer",
    ordered: bool = False,
    known: Iterable[str] | None = None,
) -> CheckResult:
    """Compare a list or set of names (variables, tasks, layers ...).

    Items may be strings or objects with a ``name`` (a ``tf.Variable``
    named ``"shared:0"`` counts as ``"shared"``). Hints name the student's
    extra items ("includes 'y2', which should not be there") but only count
    the missing ones, so the answer is not given away. With ``known``, names
    outside it are reported as unknown. With ``ordered=True`` the order
    matters too.

    Examples
    --------
    >>> compare_names(["shared", "y1", "y2"], ["shared", "y1"]).message
    "your answer includes 'y2', which should not be there"
    """
    if isinstance(answer, str):
        return hint(f"{name} should be a list of names, not one string: wrap it, as in [{answer!r}]")
    if isinstance(answer, Mapping):
        return hint(f"{name} should be a list or set of names, got a dict; pass list(your_dict) for its keys")
    try:
        items = list(answer)
    except TypeError:
        return hint(f"{name} should be a list or set of names, got {_kind(answer)}")
    names = [_as_name(item) for item in items]
    for item, item_name in zip(items, names, strict=True):
        if item_name is None:
            return hint(f"{name} should contain names (str), but holds a {_kind(item)}")
    got: list[str] = [item_name for item_name in names if item_name is not None]
    want = list(expected)
    duplicates = sorted({item for item in got if got.count(item) > 1})
    if duplicates:
        return hint(f"{name} lists {_quote_list(duplicates)} more than once")
    if known is not None:
        known_names = list(known)
        unknown = [item for item in got if item not in known_names]
        if unknown:
            return hint(f"{name} includes {_quote_list(unknown)}, which is not one of {_quote_list(known_names)}")
    extra = [item for item in got if item not in want]
    missing = [item for item in want if item not in got]
    if extra or missing:
        parts = []
        if extra:
            parts.append(f"includes {_quote_list(extra)}, which should not be there")
        if missing:
            parts.append(f"misses {len(missing)} name{'s' if len(missing) > 1 else ''}")
        return hint(f"{name} " + ", and ".join(parts))
    if ordered and got != want:
        return hint(f"{name} has the right names in the wrong order")
    return passed()


def compare_mapping(
    answer: Any,
    expected: Mapping[str, Any],
    *,
    name: str = "your answer",
    compare: Callable[..., CheckResult] = compare_arrays,
    **options: Any,
) -> CheckResult:
    """Compare a dict keyed by name (``{"y1": ..., "y2": ...}``) entry by entry.

    Missing and unexpected keys are named (the keys are part of the
    exercise's statement, not of its answer); then each value is compared
    with ``compare(value, expected_value, name=f"{name}['key']", **options)``
    and the first failure is returned.

    Examples
    --------
    >>> compare_mapping({"y1": [1.0]}, {"y1": [1.0], "y2": [2.0]}).message
    "your answer is missing the key 'y2'"
    """
    if not isinstance(answer, Mapping):
        return hint(f"{name} should be a dict with keys {_quote_list(expected)}, got {_kind(answer)}")
    missing = [key for key in expected if key not in answer]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        return hint(f"{name} is missing the key{plural} {_quote_list(missing)}")
    extra = [key for key in answer if key not in expected]
    if extra:
        plural = "s" if len(extra) > 1 else ""
        return hint(f"{name} has the unexpected key{plural} {_quote_list(extra)}; the keys are {_quote_list(expected)}")
    return first_failure(*(compare(answer[key], value, name=f"{name}[{key!r}]", **options) for key, value in expected.items()))


def compare_changes(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    should_change: Iterable[str],
    name: str = "the step",
    atol: float = 0.0,
) -> CheckResult:
    """Check which variables a training step (or any code) changed.

    ``before`` and ``after`` are snapshots ``{variable name: array}`` taken by
    the check around a call of the student's code, e.g. with
    ``net.get_weights()``. A variable that changed but should not have is
    named ("'y2' changed, but the step should not touch it"), and so is one
    that should have changed but did not.

    Parameters
    ----------
    before, after : dict of str to array_like
        The same keys.
    should_change : iterable of str
        The names that must change; every other name must stay as it was.
    name : str, default "the step"
    atol : float, default 0.0
        Changes up to ``atol`` count as no change.

    Examples
    --------
    >>> compare_changes({"w": [1.0], "v": [2.0]}, {"w": [1.5], "v": [2.5]}, should_change=["w"]).message
    "'v' changed, but the step should not touch it"
    """
    if set(before) != set(after):
        raise ValueError(f"before and after must have the same keys, got {sorted(before)} and {sorted(after)}")
    targets = list(should_change)
    unknown = [key for key in targets if key not in before]
    if unknown:
        raise ValueError(f"should_change names {unknown}, which are not among the snapshot's keys {sorted(before)}")

    def changed(key: str) -> bool:
        old = np.asarray(before[key], dtype=np.float64)
        new = np.asarray(after[key], dtype=np.float64)
        return old.shape != new.shape or not np.allclose(old, new, rtol=0.0, atol=atol)

    touched = [key for key in before if key not in targets and changed(key)]
    untouched = [key for key in targets if not changed(key)]
    if touched:
        it = "them" if len(touched) > 1 else "it"
        return hint(f"{_quote_list(touched)} changed, but {name} should not touch {it}")
    if untouched:
        return hint(f"{_quote_list(untouched)} did not change, but {name} should update {'them' if len(untouched) > 1 else 'it'}")
    return passed()


def task_numbers(answer: Any, tasks: Iterable[str], *, values: str, call: str = "answer_fn") -> dict[str, float] | CheckResult:
    """``answer`` as ``{task: float}``, or a hint when it is not a dict with a number for each of ``tasks``.

    ``values`` names the numbers in the hints ("weight" gives "answer_fn
    should return a dict {task: weight}" and "every weight should be a
    number"); ``call`` names what returned ``answer``.

    Examples
    --------
    >>> task_numbers({"y1": 1, "y2": 0.5}, ["y1", "y2"], values="weight")
    {'y1': 1.0, 'y2': 0.5}
    >>> task_numbers({"y1": 1}, ["y1", "y2"], values="weight").message
    "the dict's keys should be the tasks ['y1', 'y2'], got ['y1']"
    """
    tasks = sorted(tasks)
    if not isinstance(answer, Mapping):
        return hint(f"{call} should return a dict {{task: {values}}}, got {type(answer).__name__}")
    if sorted(answer) != tasks:
        return hint(f"the dict's keys should be the tasks {tasks}, got {sorted(answer)}")
    try:
        return {task: float(answer[task]) for task in tasks}
    except (TypeError, ValueError):
        return hint(f"every {values} should be a number")
