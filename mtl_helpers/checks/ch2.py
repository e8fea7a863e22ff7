"""Self-checks for chapter 2's exercises (the two-head graph).

* ``ch2.ex1``: ``answer_fn(in_dim, shared_units, head_units)``, the
  parameters per part of a two-head network with biases, by arithmetic;
  called with several sizes (with equal widths a bias counted in the wrong
  layer goes unnoticed) and compared with ``network_spec`` of real networks.
* ``ch2.ex2``: the variables task y2's loss sends a gradient to.
* ``ch2.ex3``: ``answer_fn(target, prediction)``, ``tf.nn.l2_loss(target -
  prediction)`` computed with NumPy, on arrays of several shapes.
* ``ch2.ex4``: a Keras model with one shared layer and three heads.
* ``ch2.ex5``: the gradient of task y1's loss for the shared weights, by hand.

Every expected value is computed here from the helpers; none is typed in.
Exercises 1, 3 and 5 rule out a method (a model, TensorFlow), so their
checks also read the names the answer's code uses
(:func:`mtl_helpers.checks._code.names_used`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers.checks._code import TENSORFLOW_NAMES, forbidden_names
from mtl_helpers.checks._core import (
    CheckResult,
    compare_arrays,
    hint,
    needs_function,
    passed,
    register,
)
from mtl_helpers.data import article_batch
from mtl_helpers.gradient_maps import gradient_map
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.network_diagrams import LayerSpec, NetworkSpec, network_spec

__all__: list[str] = []

#: Exercise 1's sizes ``(in_dim, shared_units, head_units)``: the chapter's, then
#: unequal widths, so that each layer's bias must be counted in its own layer.
EX1_SIZES: tuple[tuple[int, int, int], ...] = ((10, 20, 20), (4, 6, 3), (7, 5, 9))
#: Names whose use means "counted with a model, not by arithmetic" (exercise 1).
MODEL_NAMES: frozenset[str] = frozenset(
    {"TwoHeadNet", "network_spec", "keras_two_head_model", "parameter_counts", "n_params", "keras", "tf"}
)
#: The network and batch that exercise 2 names.
EX2_NET = {"use_bias": True, "seed": 0}
#: Exercise 3: the network and batch whose y1 prediction is one of the cases.
EX3_NET_SEED, EX3_BATCH_SEED = 0, 2
#: Names whose use means "differentiated by TensorFlow, not by hand" (exercise 5).
GRADIENT_NAMES: frozenset[str] = TENSORFLOW_NAMES | {"GradientTape", "gradient_map", "losses"}
#: The three-head model of exercise 4: input width, shared units, head units.
EX4_SIZES = {"in_dim": 10, "shared_units": 16, "head_units": 5}
EX4_TASKS = ("y1", "y2", "y3")


def _call_sizes(answer_fn: Any, sizes: tuple[int, int, int]) -> Any:
    in_dim, shared_units, head_units = sizes
    return answer_fn(in_dim, shared_units, head_units)


@register("ch2.ex1")
def _parameters_per_part(answer_fn: Any) -> CheckResult:
    if problem := needs_function(answer_fn):
        return problem
    if used := forbidden_names(answer_fn, MODEL_NAMES):
        return hint(f"count with arithmetic on the three sizes, not with a model: your function uses {used}")
    for sizes in EX1_SIZES:
        net = {"in_dim": sizes[0], "shared_units": sizes[1], "head_units": sizes[2]}
        expected = network_spec(TwoHeadNet(**net, use_bias=True)).parameter_counts()
        without_bias = network_spec(TwoHeadNet(**net, use_bias=False)).parameter_counts()
        try:
            answer = _call_sizes(answer_fn, sizes)
        except NotImplementedError:
            raise
        except Exception as error:  # a student's bug: report it as a hint
            return hint(f"answer_fn{sizes} raised {type(error).__name__}: {error}")
        call = f"answer_fn{sizes}"
        if not isinstance(answer, Mapping):
            return hint(f"{call} should return a dict {{'shared': ..., 'y1': ..., 'y2': ...}}, got {type(answer).__name__}")
        if set(answer) != set(expected):
            return hint(f"{call} should return exactly the keys {sorted(expected)}, got {sorted(answer)}")
        for part, count in answer.items():
            if isinstance(count, bool) or not isinstance(count, int | np.integer):
                return hint(f"{call}[{part!r}] should be a whole number (int), got {type(count).__name__} {count!r}")
        for part in expected:
            if answer[part] == expected[part]:
                continue
            if answer[part] == without_bias[part]:
                return hint(f"{call}[{part!r}] counts the weight matrix only; this network has biases too")
            if sizes[1] != sizes[2]:  # unequal widths: a bias of the wrong size shows
                return hint(
                    f"{call}[{part!r}] is off; with different widths of the shared layer and the heads, "
                    "check that each layer's bias has as many entries as that layer has units"
                )
            return hint(f"{call}[{part!r}] is off; count the entries of that part's weight matrix and of its bias")
    return passed("right, for the chapter's sizes and for others.")


def _variable_names(answer: Any) -> list[str] | None:
    if isinstance(answer, str) or not isinstance(answer, list | tuple | set):
        return None
    if not all(isinstance(name, str) for name in answer):
        return None
    return [name.removesuffix(":0") for name in answer]


@register("ch2.ex2")
def _variables_of_task_y2(answer: Any) -> CheckResult:
    net = TwoHeadNet(**EX2_NET)
    expected = set(gradient_map(net, article_batch(np.random.default_rng(0))).touched("y2"))
    known = set(net.get_weights())
    names = _variable_names(answer)
    if names is None:
        return hint(f"answer should be a list of variable names (str) such as ['...', '...'], got {type(answer).__name__}")
    if len(set(names)) != len(names):
        return hint("answer lists a variable twice")
    unknown = sorted(set(names) - known)
    if unknown:
        return hint(f"unknown names {unknown}; use the keys of net.get_weights()")
    got = set(names)
    if any(name.startswith("y1") for name in got):
        return hint("answer includes a variable of head y1: does task y2's loss depend on it?")
    if not {name for name in expected if name.startswith("shared")} <= got:
        return hint("answer misses something of the shared layer, which every task's loss reaches")
    if got != expected:
        return hint("answer misses something of head y2 itself")
    return passed()


def _ex3_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """(target, prediction) pairs: the chapter's y1 prediction, then arrays of other shapes."""
    net = TwoHeadNet(seed=EX3_NET_SEED)
    batch = article_batch(np.random.default_rng(EX3_BATCH_SEED))
    cases = [(batch["y1"], net(batch["x"])["y1"].numpy())]
    rng = np.random.default_rng(3)
    for shape in ((7, 3), (5, 1)):
        cases.append((rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)))
    return cases


@register("ch2.ex3")
def _l2_loss_by_numpy(answer_fn: Any) -> CheckResult:
    if problem := needs_function(answer_fn):
        return problem
    if used := forbidden_names(answer_fn, TENSORFLOW_NAMES):
        return hint(f"compute it with NumPy only: your function uses {used}")
    for target, prediction in _ex3_cases():
        expected = float(tf.nn.l2_loss(target - prediction))
        name = f"answer_fn(target, prediction) for arrays of shape {target.shape}"
        try:
            answer = answer_fn(target.copy(), prediction.copy())
        except NotImplementedError:
            raise
        except Exception as error:  # a student's bug: report it as a hint
            return hint(f"answer_fn(target, prediction) raised {type(error).__name__}: {error}")
        if isinstance(answer, tf.Tensor | tf.Variable):
            return hint("answer_fn returns a TensorFlow tensor; compute the loss with NumPy")
        if isinstance(answer, int | float | np.integer | np.floating) and not isinstance(answer, bool):
            value = float(answer)
            if value > 0 and any(np.isclose(value**2, want, rtol=1e-4) for want in (expected, 2 * expected)):
                return hint("answer_fn's result looks like a square root (a norm); l2_loss takes none")
            if not np.isclose(value, expected, rtol=1e-4) and abs(value / expected - 1) < 1e-2:
                # compare_arrays would call a ratio this close to 1 "a constant factor of 1"
                return hint(f"{name} is not the expected value (and not a sign or simple scale slip)")
        result = compare_arrays(answer, np.float64(expected), name=name)
        if not result.passed:
            return result
    return passed("correct: half the sum of squares, for every shape.")


@register("ch2.ex4")
def _three_head_model(answer: Any) -> CheckResult:
    if not isinstance(answer, tf.keras.Model):
        return hint(f"answer should be a keras.Model built with the functional API, got {type(answer).__name__}")
    try:
        spec = network_spec(answer)
    except (TypeError, ValueError) as error:
        return hint(f"the model's graph cannot be read as one trunk with heads: {error}")
    sizes = EX4_SIZES
    shared = LayerSpec("shared", sizes["in_dim"], sizes["shared_units"], "relu", False, "shared")
    heads = {task: (LayerSpec(task, sizes["shared_units"], sizes["head_units"], "relu", False, task),) for task in EX4_TASKS}
    expected = NetworkSpec("x", sizes["in_dim"], (shared,), heads)
    if set(spec.tasks) != set(EX4_TASKS):
        return hint(f"the outputs should be named {list(EX4_TASKS)} (a dict of outputs), got {list(spec.tasks)}")
    if spec.input_name != expected.input_name or spec.in_dim != expected.in_dim:
        return hint(f"the input should be named 'x' with {sizes['in_dim']} features, got {spec.input_name!r} with {spec.in_dim}")
    if not spec.shared:
        return hint("no layer feeds every output: apply all three heads to the output of one shared layer")
    if spec.shared != expected.shared:
        return hint(f"the shared trunk should be one Dense layer as specified, got: {'; '.join(map(str, spec.shared))}")
    for task in EX4_TASKS:
        if spec.heads[task] != expected.heads[task]:
            return hint(f"head {task!r} should be one Dense layer as specified (name, units, activation, no bias)")
    return passed("right: draw it with draw_network(answer).")


def _numpy_shared_gradient(net: TwoHeadNet, batch: Mapping[str, np.ndarray], task: str, *, masks: bool) -> np.ndarray:
    weights = net.get_weights()
    pre_shared = batch["x"] @ weights["shared"]
    hidden = np.maximum(pre_shared, 0)
    pre_head = hidden @ weights[task]
    error = np.maximum(pre_head, 0) - batch[task]
    back = error * (pre_head > 0) if masks else error
    back = back @ weights[task].T
    back = back * (pre_shared > 0) if masks else back
    return batch["x"].T @ back


def _ex5_cases() -> list[tuple[TwoHeadNet, dict[str, np.ndarray]]]:
    return [
        (TwoHeadNet(seed=3), article_batch(np.random.default_rng(5), scale=1.0)),
        (TwoHeadNet(4, 6, 3, seed=4), article_batch(np.random.default_rng(6), batch_size=7, in_dim=4, out_dim=3, scale=1.0)),
    ]


@register("ch2.ex5")
def _shared_gradient_by_hand(answer_fn: Any) -> CheckResult:
    if problem := needs_function(answer_fn):
        return problem
    if used := forbidden_names(answer_fn, GRADIENT_NAMES):
        return hint(f"differentiate by hand, with NumPy and net.get_weights() only: your function uses {used}")
    for net, batch in _ex5_cases():
        with tf.GradientTape() as tape:
            loss = net.losses(batch)["y1"]
        expected = tape.gradient(loss, net.shared).numpy()
        try:
            got = answer_fn(net, batch)
        except NotImplementedError:
            raise
        except Exception as error:  # any failure of the student's code becomes a hint
            return hint(f"answer_fn raised {type(error).__name__}: {error}")
        if isinstance(got, tf.Tensor | tf.Variable):
            return hint("answer_fn returns a TensorFlow tensor; compute the gradient with NumPy only")
        try:
            array = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return hint(f"answer_fn should return a NumPy array, got {type(got).__name__}")
        if array.shape == expected.shape:
            with tf.GradientTape() as tape:
                other = net.losses(batch)["y2"]
            if np.allclose(array, tape.gradient(other, net.shared).numpy(), rtol=1e-4, atol=1e-5):
                return hint("that is the gradient of task y2's loss; the exercise asks for task y1")
            if np.allclose(array, _numpy_shared_gradient(net, batch, "y1", masks=False), rtol=1e-4, atol=1e-5):
                return hint("the ReLU derivatives are missing: a ReLU passes the gradient only where its input is > 0")
        result = compare_arrays(array, expected, name=f"answer_fn's result for a net with in_dim={net.in_dim}", atol=1e-4)
        if not result.passed:
            return result
    return passed("right: your backpropagation agrees with tf.GradientTape.")

