"""Gradient aggregators: one update direction from the tasks' gradients.

Joint training with a plain sum of the losses updates the shared variables
with the sum of the tasks' gradients. A gradient aggregator replaces that sum:
it receives the **jacobian**, one row per task holding that task's gradient on
the shared variables (flattened), and returns the direction to apply.

===============================  ===================================================
class                            direction for the jacobian ``G`` with rows ``g_i``
===============================  ===================================================
:class:`PCGrad`                  sum of the gradients, each projected off the others
                                 it conflicts with (Yu et al., NeurIPS 2020)
:class:`MGDA`                    minimum-norm point of the convex hull of the ``g_i``
                                 (Sener & Koltun, NeurIPS 2018)
:class:`CAGrad`                  mean gradient plus a bounded correction that helps
                                 the worst-off task (Liu et al., NeurIPS 2021)
:class:`IMTLG`                   combination with equal projections on every unit
                                 gradient (Liu et al., ICLR 2021)
===============================  ===================================================

Every aggregator maps a tensor of shape ``(n_tasks, n_params)`` to one of shape
``(n_params,)`` (float32), runs inside ``tf.function`` and compiles with XLA
(``jit_compile=True``) once for all jacobians of one shape: the solvers pick
entries with ``tf.gather``, never ``x[i]`` with a run-time ``i``, which XLA
takes for a compile-time constant (it would compile the caller again for
every new jacobian). The small optimisation problems of MGDA, CAGrad and
IMTL-G are solved on the ``n_tasks x n_tasks`` Gram matrix ``G G^T`` in
float64, so their cost beyond two matrix products does not grow with the
number of parameters.

Input rules, the same for every class: the jacobian must have rank 2 and at
least two rows (a statically known number of rows inside ``tf.function``);
NaN or infinite entries raise ``ValueError`` when called eagerly; inside
``tf.function`` they are not checked (XLA drops assertions) and make the
result NaN. A jacobian of zeros gives a zero direction, never NaN.

Examples
--------
>>> jacobian = tf.constant([[1.0, 0.0], [-1.0, 1.0]])  # two conflicting tasks
>>> for aggregator in (PCGrad(), MGDA(), CAGrad(c=0.5), IMTLG()):
...     print(type(aggregator).__name__, aggregator(jacobian).numpy().round(3))
PCGrad [0.5 1.5]
MGDA [0.2 0.4]
CAGrad [0.25 0.5 ]
IMTLG [0.172 0.414]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mtl_helpers._state import state_variable
from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import non_negative_int, positive_int

__all__ = ["CAGrad", "IMTLG", "MGDA", "Aggregator", "PCGrad"]


def _check_jacobian(jacobian: Any, *, owner: str) -> tf.Tensor:
    """Return ``jacobian`` as a float32 tensor of shape (n_tasks >= 2, n_params)."""
    try:
        values = tf.convert_to_tensor(jacobian)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{owner} needs a jacobian tensor (n_tasks, n_params), got {type(jacobian).__name__}") from error
    if not (values.dtype.is_floating or values.dtype.is_integer):
        raise TypeError(f"{owner} needs a jacobian of numbers, got dtype {values.dtype.name}")
    values = tf.cast(values, tf.float32)
    shape = values.shape
    if shape.rank != 2:
        hint = "; stack the flattened per-task gradients with tf.stack(rows)" if shape.rank is not None else ""
        raise ValueError(f"{owner} needs a jacobian of shape (n_tasks, n_params), got shape {shape}{hint}")
    if shape[0] is None:
        raise ValueError(
            f"{owner} needs a statically known number of tasks, got shape {shape}; "
            "build the jacobian with tf.stack over a Python list of task gradients"
        )
    if shape[0] < 2:
        raise ValueError(
            f"{owner} combines the gradients of at least 2 tasks, got shape {shape} ({shape[0]} task); "
            "with one task use its gradient directly"
        )
    if tf.executing_eagerly():
        finite = np.isfinite(values.numpy())
        if not finite.all():
            rows = sorted({int(row) for row in np.nonzero(~finite)[0]})
            raise ValueError(
                f"the jacobian passed to {owner} has {int((~finite).sum())} NaN or infinite entries "
                f"(task rows {rows}); check the losses and the learning rate"
            )
    return values


def _gram(jacobian: tf.Tensor) -> tf.Tensor:
    """``G G^T`` in float64, shape (n_tasks, n_tasks)."""
    rows = tf.cast(jacobian, tf.float64)
    return tf.matmul(rows, rows, transpose_b=True)


def _combine(weights: tf.Tensor, jacobian: tf.Tensor) -> tf.Tensor:
    """``sum_i weights_i * g_i``, shape (n_params,)."""
    return tf.linalg.matvec(jacobian, tf.cast(weights, jacobian.dtype), transpose_a=True)


class Aggregator:
    """Base class: turn the jacobian ``(n_tasks, n_params)`` into one direction ``(n_params,)``.

    Subclasses implement :meth:`_aggregate` on a checked float32 jacobian and,
    if they keep state (a random stream, counters), :meth:`reset`.

    Examples
    --------
    >>> class Mean(Aggregator):
    ...     def _aggregate(self, jacobian):
    ...         return tf.reduce_mean(jacobian, axis=0)
    >>> Mean()(tf.constant([[1.0, 2.0], [3.0, 4.0]])).numpy().tolist()
    [2.0, 3.0]
    """

    def __call__(self, jacobian: tf.Tensor) -> tf.Tensor:
        """The combined direction.

        Raises ``ValueError`` for a jacobian that is not 2-D, has fewer than two
        rows, or (when called eagerly) holds NaN or infinite values; see the
        module docstring for what happens inside ``tf.function``.

        Parameters
        ----------
        jacobian : tensor of shape (n_tasks, n_params)
            Row ``i`` is task ``i``'s gradient on the shared variables, flattened.

        Returns
        -------
        tensor of shape (n_params,), float32
        """
        return self._aggregate(_check_jacobian(jacobian, owner=type(self).__name__))

    def _aggregate(self, jacobian: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _aggregate(jacobian)")

    def reset(self) -> None:
        """Return to the initial state (nothing to do for stateless aggregators)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _mix32(x: tf.Tensor) -> tf.Tensor:
    """Chris Wellons' ``lowbias32`` integer hash of uint32 values (wrapping arithmetic)."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
    x = x * tf.constant(0x7FEB352D, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(15, tf.uint32)))
    x = x * tf.constant(0x846CA68B, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))


class PCGrad(Aggregator):
    r"""Projecting conflicting gradients (Yu et al., NeurIPS 2020).

    For every task ``i``, start from ``g_i`` and go through the *other* tasks
    ``j`` in a random order; whenever the current ``g_i'`` conflicts with the
    original ``g_j`` (``g_i' . g_j < 0``), remove its component along ``g_j``::

        g_i' <- g_i' - (g_i' . g_j) / |g_j|^2 * g_j

    The direction is the **sum** of the projected gradients ``sum_i g_i'``. With
    two tasks the order does not matter; with more, one random order is drawn
    per call and used for every task (as in the authors' TensorFlow code).

    Reference: T. Yu, S. Kumar, A. Gupta, S. Levine, K. Hausman and C. Finn,
    "Gradient Surgery for Multi-Task Learning", NeurIPS 2020.

    Parameters
    ----------
    seed : int, default 0
        The orders form a stateless random stream keyed on
        ``(seed, call number)``: the same seed gives the same orders, call after
        call, eagerly, inside ``tf.function`` and under XLA alike. :meth:`reset`
        restarts the stream. Below ``2**32``.

    Attributes
    ----------
    calls : tf.Variable, int64
        Calls so far; call ``k`` uses the order :meth:`order` ``(n_tasks, k)``.

    Notes
    -----
    The order is the ``argsort`` of a 32-bit integer hash of
    ``(seed, call, task)``, computed with integer operations, which give the
    same bits with and without XLA (TensorFlow's stateless random ops draw
    different numbers under XLA). A task with a zero gradient is never
    projected onto (it conflicts with nothing) and contributes zero; an
    all-zero jacobian gives a zero direction.

    Examples
    --------
    >>> pcgrad = PCGrad(seed=0)
    >>> pcgrad(tf.constant([[1.0, 0.0], [-1.0, 1.0]])).numpy().tolist()
    [0.5, 1.5]
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = non_negative_int(seed, name="seed")
        if self.seed >= 2**32:
            raise ValueError(f"seed must be below 2**32, got {seed}")
        self.calls = state_variable(0, dtype=tf.int64, name="pcgrad_calls")

    def reset(self) -> None:
        """Restart the random stream: the next call uses the first order again."""
        self.calls.assign(0)

    def order(self, n_tasks: int, call: tf.Tensor | int) -> tf.Tensor:
        """The order of the tasks at call number ``call``: a permutation of ``range(n_tasks)``, int32."""
        index = tf.cast(tf.range(n_tasks), tf.uint32) + tf.constant(0x9E3779B9, tf.uint32)
        keys = _mix32(_mix32(_mix32(index) + tf.cast(call, tf.uint32)) + tf.constant(self.seed, tf.uint32))
        return tf.argsort(keys, stable=True)

    def _aggregate(self, jacobian: tf.Tensor) -> tf.Tensor:
        n_tasks = jacobian.shape[0]
        call = self.calls.read_value()
        self.calls.assign_add(1)
        order = self.order(n_tasks, call)
        squared_norms = tf.reduce_sum(tf.square(jacobian), axis=1)
        projected = jacobian
        for position in range(n_tasks):
            other = order[position]
            g_other = tf.gather(jacobian, other)  # tf.gather, not jacobian[other]: XLA would recompile per index
            dots = tf.linalg.matvec(projected, g_other)
            scale = tf.math.divide_no_nan(tf.minimum(dots, 0.0), tf.gather(squared_norms, other))
            scale = tf.where(tf.range(n_tasks) == tf.cast(other, tf.int32), tf.zeros_like(scale), scale)
            projected = projected - scale[:, None] * g_other[None, :]
        return tf.reduce_sum(projected, axis=0)

    def __repr__(self) -> str:
        return f"PCGrad(seed={self.seed})"


def _check_solver_options(max_iterations: Any, tolerance: Any) -> tuple[int, float]:
    max_iterations = positive_int(max_iterations, name="max_iterations")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    return max_iterations, float(tolerance)


@tf.function(autograph=False)  # eager callers run the loop as one graph, not op by op
def _simplex_solver(gram: tf.Tensor, *, c: float | None, max_iterations: int, tolerance: float) -> tf.Tensor:
    """Pairwise Frank-Wolfe over the simplex with exact line search (float64).

    Minimises over ``w >= 0, sum w = 1`` either ``|g_w|^2`` (``c is None``,
    MGDA) or ``g_w . g0 + c |g0| |g_w|`` (CAGrad), with ``g_w = sum_i w_i g_i``
    and ``g0`` the mean gradient, using only the Gram matrix. Each step moves
    weight from the worst task in the support to the best task, by the exact
    minimiser along that edge; the loop stops when the Frank-Wolfe gap (an upper
    bound on the objective's distance to the optimum, in units of the mean
    squared gradient norm) is at most ``tolerance`` or after ``max_iterations``
    steps. Two tasks need one step.
    """
    n_tasks = gram.shape[0]
    scale = tf.reduce_mean(tf.linalg.diag_part(gram))
    a = tf.math.divide_no_nan(gram, scale)  # the problem is invariant to this scale
    mean_row = tf.reduce_mean(a, axis=1)  # g_i . g0
    radius = 0.0 if c is None else c * tf.sqrt(tf.maximum(tf.reduce_mean(mean_row), 0.0))  # c |g0|

    def gradient(w: tf.Tensor, aw: tf.Tensor) -> tf.Tensor:
        if c is None:
            return 2.0 * aw
        norm = tf.sqrt(tf.maximum(tf.tensordot(w, aw, 1), 0.0))
        return mean_row + radius * tf.math.divide_no_nan(aw, norm)

    def step(iteration: tf.Tensor, w: tf.Tensor, gap: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        aw = tf.linalg.matvec(a, w)
        grad = gradient(w, aw)
        best = tf.argmin(grad, output_type=tf.int32)
        worst = tf.argmax(tf.where(w > 0, grad, tf.constant(-np.inf, tf.float64)), output_type=tf.int32)
        # tf.gather, never grad[best]: see the module docstring (XLA would compile again at every call).
        w_worst = tf.gather(w, worst)
        gap = tf.tensordot(grad, w, 1) - tf.gather(grad, best)
        # Along w + t (e_best - e_worst), 0 <= t <= w_worst: g_w moves by t * (g_best - g_worst).
        ab = tf.gather(aw, best) - tf.gather(aw, worst)
        a_bb, a_ww, a_bw = tf.unstack(tf.gather_nd(a, tf.stack([[best, best], [worst, worst], [best, worst]])))
        aa = tf.maximum(a_bb + a_ww - 2.0 * a_bw, 0.0)
        if c is None:
            t = tf.math.divide_no_nan(-ab, aa)
        else:
            p = tf.gather(mean_row, best) - tf.gather(mean_row, worst)
            bb = tf.maximum(tf.tensordot(w, aw, 1), 0.0)
            det = tf.maximum(aa * bb - ab * ab, 0.0)
            margin = radius * radius * aa - p * p
            interior = -p * tf.sqrt(det / tf.maximum(margin, 1e-300))
            t = tf.where(
                margin > 0,
                tf.math.divide_no_nan(interior - ab, aa),
                tf.where(p < 0, w_worst, tf.zeros_like(p)),
            )
        t = tf.clip_by_value(t, 0.0, w_worst)
        move = t * (tf.one_hot(best, n_tasks, dtype=tf.float64) - tf.one_hot(worst, n_tasks, dtype=tf.float64))
        return iteration + 1, w + move, gap

    def not_done(iteration: tf.Tensor, w: tf.Tensor, gap: tf.Tensor) -> tf.Tensor:
        return tf.logical_and(iteration < max_iterations, gap > tolerance)

    start = tf.fill([n_tasks], tf.constant(1.0 / n_tasks, tf.float64))
    inf = tf.constant(np.inf, tf.float64)
    _, w, _ = tf.while_loop(not_done, step, (tf.constant(0), start, inf), maximum_iterations=max_iterations)
    return w


class MGDA(Aggregator):
    r"""Multiple-gradient descent: the minimum-norm point of the gradients' convex hull.

    The direction is ``d = sum_i alpha_i g_i`` with ``alpha`` on the simplex
    (``alpha_i >= 0``, ``sum_i alpha_i = 1``) minimising ``|d|``, unscaled
    (Sener & Koltun, NeurIPS 2018, building on Désidéri's MGDA, 2012). Then
    ``g_i . d >= |d|^2`` for every task: unless ``d = 0`` (a Pareto-stationary
    point), a small step along ``d`` decreases every task's loss.

    Two tasks have a closed form::

        alpha_1 = clip((g_2 - g_1) . g_2 / |g_1 - g_2|^2, 0, 1),   alpha_2 = 1 - alpha_1

    (``alpha_1 = 1/2`` when ``g_1 = g_2``). With more tasks the weights come
    from pairwise Frank-Wolfe with exact line search on the Gram matrix,
    starting from equal weights: at most ``max_iterations`` steps, stopping
    once the Frank-Wolfe gap (an upper bound on ``|d|^2 - min |d|^2``, in
    units of the mean ``|g_i|^2``) is at most ``tolerance``. That takes a few
    dozen steps for gradients in general position; it is slower (hundreds of
    steps) when the zero vector lies inside the hull of more gradients than
    there are parameters.

    Sener & Koltun's MGDA-UB applies the same solver to the gradients with
    respect to the shared *representation* instead of the shared variables;
    this class solves whatever jacobian it is given.

    Reference: O. Sener and V. Koltun, "Multi-Task Learning as Multi-Objective
    Optimization", NeurIPS 2018.

    Parameters
    ----------
    max_iterations : int, default 1000
        Frank-Wolfe steps for three tasks or more.
    tolerance : float, default 1e-10

    Examples
    --------
    >>> mgda = MGDA()
    >>> jacobian = tf.constant([[1.0, 0.0], [-1.0, 1.0]])
    >>> print(mgda.weights(jacobian).numpy().round(3))
    [0.6 0.4]
    >>> print(mgda(jacobian).numpy().round(3))
    [0.2 0.4]
    """

    def __init__(self, *, max_iterations: int = 1000, tolerance: float = 1e-10) -> None:
        self.max_iterations, self.tolerance = _check_solver_options(max_iterations, tolerance)

    def weights(self, jacobian: tf.Tensor) -> tf.Tensor:
        """The weights ``alpha``, shape (n_tasks,) float32: ``self(jacobian) == alpha @ jacobian``."""
        return tf.cast(self._weights(_check_jacobian(jacobian, owner=type(self).__name__)), tf.float32)

    def _weights(self, jacobian: tf.Tensor) -> tf.Tensor:
        gram = _gram(jacobian)
        if jacobian.shape[0] == 2:
            difference = gram[0, 0] - 2.0 * gram[0, 1] + gram[1, 1]  # |g_1 - g_2|^2
            alpha = tf.where(
                difference > 0,
                tf.clip_by_value(tf.math.divide_no_nan(gram[1, 1] - gram[0, 1], difference), 0.0, 1.0),
                tf.constant(0.5, tf.float64),
            )
            return tf.stack([alpha, 1.0 - alpha])
        return _simplex_solver(gram, c=None, max_iterations=self.max_iterations, tolerance=self.tolerance)

    def _aggregate(self, jacobian: tf.Tensor) -> tf.Tensor:
        return _combine(self._weights(jacobian), jacobian)

    def __repr__(self) -> str:
        return f"MGDA(max_iterations={self.max_iterations}, tolerance={self.tolerance:g})"


class CAGrad(Aggregator):
    r"""Conflict-averse gradient descent (Liu et al., NeurIPS 2021).

    CAGrad looks for the direction ``d`` within distance ``c |g0|`` of the mean
    gradient ``g0 = (1/n) sum_i g_i`` that maximises the smallest improvement
    ``min_i g_i . d``. Through its dual: find ``w`` on the simplex minimising::

        F(w) = g_w . g0 + c |g0| |g_w|,    g_w = sum_i w_i g_i

    and return (without the paper's optional rescaling)::

        d = g0 + c |g0| / |g_w| * g_w

    ``c = 0`` gives the mean gradient; larger ``c`` moves towards MGDA's
    minimum-norm direction. ``F`` is convex; it is minimised by pairwise
    Frank-Wolfe on the Gram matrix with an exact line search along each edge
    (a closed form), which solves two tasks in one step. If the minimum is at
    ``g_w = 0`` the correction is dropped and ``d = g0``; an all-zero jacobian
    gives ``d = 0``.

    Reference: B. Liu, X. Liu, X. Jin, P. Stone and Q. Liu, "Conflict-Averse
    Gradient Descent for Multi-task Learning", NeurIPS 2021.

    Parameters
    ----------
    c : float, default 0.5
        Radius of the ball around ``g0``, relative to ``|g0|``; >= 0.
    max_iterations : int, default 1000
    tolerance : float, default 1e-10
        Stop when the Frank-Wolfe gap (an upper bound on ``F(w) - min F``, in
        units of the mean ``|g_i|^2``) is at most this.

    Examples
    --------
    >>> cagrad = CAGrad(c=0.5)
    >>> jacobian = tf.constant([[1.0, 0.0], [-1.0, 1.0]])
    >>> print(cagrad(jacobian).numpy().round(3))
    [0.25 0.5 ]
    >>> CAGrad(c=0.0)(jacobian).numpy().tolist()  # the mean gradient
    [0.0, 0.5]
    """

    def __init__(self, c: float = 0.5, *, max_iterations: int = 1000, tolerance: float = 1e-10) -> None:
        if isinstance(c, bool) or not isinstance(c, int | float | np.floating) or not np.isfinite(c) or c < 0:
            raise ValueError(f"c must be a finite number >= 0 (the paper uses 0.2 to 0.8), got {c!r}")
        self.c = float(c)
        self.max_iterations, self.tolerance = _check_solver_options(max_iterations, tolerance)

    def inner_weights(self, jacobian: tf.Tensor) -> tf.Tensor:
        """The minimiser ``w`` of ``F`` on the simplex, shape (n_tasks,) float32."""
        jacobian = _check_jacobian(jacobian, owner=type(self).__name__)
        return tf.cast(self._inner(_gram(jacobian)), tf.float32)

    def weights(self, jacobian: tf.Tensor) -> tf.Tensor:
        """The weights of ``d = sum_i weights_i g_i``: ``1/n + c |g0| / |g_w| * w``, shape (n_tasks,) float32."""
        return tf.cast(self._weights(_check_jacobian(jacobian, owner=type(self).__name__)), tf.float32)

    def _inner(self, gram: tf.Tensor) -> tf.Tensor:
        return _simplex_solver(gram, c=self.c, max_iterations=self.max_iterations, tolerance=self.tolerance)

    def _weights(self, jacobian: tf.Tensor) -> tf.Tensor:
        n_tasks = jacobian.shape[0]
        gram = _gram(jacobian)
        w = self._inner(gram)
        g0_norm = tf.sqrt(tf.maximum(tf.reduce_mean(gram), 0.0))
        gw_norm = tf.sqrt(tf.maximum(tf.tensordot(w, tf.linalg.matvec(gram, w), 1), 0.0))
        return 1.0 / n_tasks + tf.math.divide_no_nan(self.c * g0_norm, gw_norm) * w

    def _aggregate(self, jacobian: tf.Tensor) -> tf.Tensor:
        return _combine(self._weights(jacobian), jacobian)

    def __repr__(self) -> str:
        return f"CAGrad(c={self.c:g})"


class IMTLG(Aggregator):
    r"""Impartial multi-task learning, gradient part (IMTL-G; Liu et al., ICLR 2021).

    The direction ``d = sum_i alpha_i g_i`` with ``sum_i alpha_i = 1`` whose
    projections on every task's unit gradient ``u_i = g_i / |g_i|`` are equal:
    ``d . u_i = d . u_j`` for all tasks, so no task is favoured. The paper's
    closed form, ``alpha_{2:n} = g_1 U^T (D U^T)^{-1}`` with rows
    ``D_k = g_1 - g_k`` and ``U_k = u_1 - u_k``, is computed here in the
    task-symmetric form::

        alpha ∝ diag(1 / |g_i|) C^{-1} 1,    C_ij = u_i . u_j,    scaled so sum_i alpha_i = 1

    For two tasks ``alpha_1 = |g_2| / (|g_1| + |g_2|)``, so
    ``d = |g_1||g_2| / (|g_1| + |g_2|) * (u_1 + u_2)``.

    The weights may be negative (``alpha`` is not restricted to the simplex).
    When the unit gradients are linearly dependent (two gradients pointing the
    same or opposite ways, or more tasks than parameters) the equations do not
    fix ``alpha``; the pseudo-inverse of ``C`` is used, with eigenvalues below
    ``1e-7`` times the largest treated as zero. Tasks with a zero gradient get
    ``alpha_i = 0``; exactly opposite gradients and an all-zero jacobian give a
    zero direction.

    Reference: L. Liu, Y. Li, Z. Kuang, J.-H. Xue, Y. Chen, W. Yang, Q. Liao
    and W. Zhang, "Towards Impartial Multi-task Learning", ICLR 2021.

    Examples
    --------
    >>> imtlg = IMTLG()
    >>> jacobian = tf.constant([[3.0, 0.0], [0.0, 1.0]])
    >>> print(imtlg.weights(jacobian).numpy().round(3))
    [0.25 0.75]
    >>> print(imtlg(jacobian).numpy().round(3))  # projections 0.75 on (1, 0) and (0, 1)
    [0.75 0.75]
    """

    rcond = 1e-7

    def weights(self, jacobian: tf.Tensor) -> tf.Tensor:
        """The weights ``alpha``, shape (n_tasks,) float32: ``self(jacobian) == alpha @ jacobian``."""
        return tf.cast(self._weights(_check_jacobian(jacobian, owner=type(self).__name__)), tf.float32)

    def _weights(self, jacobian: tf.Tensor) -> tf.Tensor:
        gram = _gram(jacobian)
        norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0))
        cosines = tf.math.divide_no_nan(gram, norms[:, None] * norms[None, :])
        eigenvalues, eigenvectors = tf.linalg.eigh(cosines)
        keep = eigenvalues > self.rcond * tf.reduce_max(eigenvalues)
        inverse = tf.where(keep, 1.0 / tf.where(keep, eigenvalues, tf.ones_like(eigenvalues)), tf.zeros_like(eigenvalues))
        ones = tf.ones_like(norms)
        beta = tf.linalg.matvec(eigenvectors, inverse * tf.linalg.matvec(eigenvectors, ones, transpose_a=True))
        alpha = tf.math.divide_no_nan(beta, norms)
        return tf.math.divide_no_nan(alpha, tf.reduce_sum(alpha))

    def _aggregate(self, jacobian: tf.Tensor) -> tf.Tensor:
        return _combine(self._weights(jacobian), jacobian)
