"""What an answer's code refers to, for checks that rule out a method (private).

An exercise that asks for "NumPy only" or "without TensorFlow" cannot be
checked by its numbers alone: the ruled-out method gives the same numbers.
:func:`names_used` reads the names a function's code refers to (nested
functions, lambdas and comprehensions included), and :func:`forbidden_names`
lists the ruled-out ones among them.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["TENSORFLOW_NAMES", "forbidden_names", "names_used"]


#: Names whose use means "not NumPy only": TensorFlow and the book's helpers.
TENSORFLOW_NAMES: frozenset[str] = frozenset({"tf", "tensorflow", "v1", "compat", "Session", "keras", "mtl_helpers"})


def names_used(function: Callable[..., Any]) -> set[str]:
    """The global and attribute names that ``function``'s code refers to.

    Looks into the function's nested functions, lambdas and comprehensions,
    and into the functions of the same module (notebook) that it calls by
    name, so that a helper cell does not hide a forbidden call. A
    ``tf.function`` is read through its Python function.

    Parameters
    ----------
    function : callable

    Returns
    -------
    set of str
        Empty for a callable without Python code (a built-in, a class).

    Examples
    --------
    >>> sorted(names_used(lambda x: np.sum(x ** 2)))
    ['np', 'sum']
    """
    function = getattr(function, "python_function", function)
    names: set[str] = set()
    seen: set[int] = set()
    pending = [function]
    while pending:
        current = pending.pop()
        code = getattr(current, "__code__", None)
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        codes = [code]
        while codes:
            block = codes.pop()
            names.update(block.co_names)
            codes.extend(const for const in block.co_consts if isinstance(const, types.CodeType))
        scope = getattr(current, "__globals__", {})
        for name in code.co_names:
            helper = scope.get(name)
            if isinstance(helper, types.FunctionType) and helper.__globals__ is scope:
                pending.append(helper)
    return names


def forbidden_names(function: Callable[..., Any], forbidden: Iterable[str]) -> list[str]:
    """The names of ``forbidden`` that ``function``'s code uses, sorted (see :func:`names_used`)."""
    return sorted(names_used(function) & set(forbidden))
