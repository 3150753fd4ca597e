"""The reference backend: evaluate a graph with each op's NumPy ``impl``.

The evaluation plan (one step per node, in topological order) is built once;
a call only runs the steps. Errors raised while evaluating name the op, the
shapes and dtypes it was given, and where the user built the node.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import SymcError, SymcIndexError, SymcShapeError, SymcValueError
from ..graph.location import with_location
from ..graph.node import Node
from ..graph.traverse import toposort
from ..ops.leaves import Constant, Input, Shared


class Plan:
    """Slots and steps to evaluate ``outputs`` from values for ``inputs``."""

    def __init__(self, inputs: Sequence[Node], outputs: Sequence[Node]):
        order = toposort(outputs)
        self.slot = {id(n): k for k, n in enumerate(order)}
        self.nodes = order
        self.n_slots = len(order)
        self.input_slots = [self.slot.get(id(i)) for i in inputs]
        self.output_slots = [self.slot[id(o)] for o in outputs]
        self.constants: list[tuple[int, np.ndarray]] = []
        self.shared: list[tuple[int, object]] = []
        self.steps: list[tuple[Node, int, tuple[int, ...]]] = []
        given = {id(i) for i in inputs}
        for node in order:
            k = self.slot[id(node)]
            if isinstance(node.op, Constant):
                self.constants.append((k, node.op.value))
            elif isinstance(node.op, Shared):
                self.shared.append((k, node.op.container))
            elif isinstance(node.op, Input):
                if id(node) not in given:
                    raise AssertionError("unbound input reached the plan")  # checked earlier
            else:
                self.steps.append((node, k, tuple(self.slot[id(i)] for i in node.inputs)))

    def run(self, args: Sequence[np.ndarray]) -> list[np.ndarray]:
        values: list = [None] * self.n_slots
        for k, v in zip(self.input_slots, args, strict=True):
            if k is not None:
                values[k] = v
        for k, v in self.constants:
            values[k] = v
        for k, c in self.shared:
            values[k] = c.value
        for node, k, ins in self.steps:
            vals = [values[i] for i in ins]
            try:
                check = getattr(node.op, "check_values", None)
                if check is not None:  # run-time checks that need the static input types
                    check(node.inputs, vals)
                out = node.op.impl(*vals)
            except SymcError as err:
                raise with_location(err, node.loc) from None
            except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError) as err:
                raise _wrap(node, vals, err) from None
            out = np.asarray(out)
            if out.dtype.name != node.type.dtype:
                out = out.astype(node.type.dtype)
            if node.op.elementwise:
                _check_broadcast(node, vals, out)
            values[k] = out
        return [values[k] for k in self.output_slots]


def _describe(vals: Sequence[np.ndarray]) -> str:
    return ", ".join(f"{np.shape(v)} {np.asarray(v).dtype}" for v in vals)


def _wrap(node: Node, vals, err: Exception) -> Exception:
    """A NumPy error from an ``impl`` as the SymcError a user can act on."""
    if isinstance(err, IndexError):
        cls = SymcIndexError
    elif isinstance(err, ValueError) and (node.op.elementwise or "shape" in str(err)):
        # NumPy's "operands could not be broadcast together with shapes ..."
        cls = SymcShapeError
    else:
        cls = SymcValueError
    msg = f"{node.op.label()}: {str(err).rstrip('.')} (inputs: {_describe(vals)})."
    return with_location(cls(msg), node.loc)


def _check_broadcast(node: Node, vals, out: np.ndarray) -> None:
    """A length unknown when building must not turn out to be a broadcast 1 at run time.

    Broadcasting is decided from static shapes (NumPy decides it from run-time
    ones); an unknown length that arrives as 1 against a longer axis would
    silently change the meaning, so it is an error, as in Theano.
    """
    for x, v in zip(node.inputs, vals, strict=True):
        shape = np.shape(v)
        if shape == out.shape:
            continue
        off = out.ndim - len(shape)
        for a, (static, actual) in enumerate(zip(x.type.shape, shape, strict=True)):
            if static is None and actual == 1 and out.shape[a + off] != 1:
                raise with_location(
                    SymcShapeError(
                        f"{node.op.label()}: axis {a} of an input has length 1 at run time "
                        f"but its length was unknown when the graph was built, so it does not "
                        f"broadcast (inputs: {_describe(vals)}). Declare the length as 1 "
                        f"(e.g. sc.tensor(shape=(1, None))) to broadcast it."
                    ),
                    node.loc,
                )
