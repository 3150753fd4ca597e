"""The reference backend: evaluate a graph with each op's NumPy ``impl``.

The evaluation plan (one step per node, in topological order) is built once;
a call only runs the steps. Errors raised while evaluating name the op, the
shapes and dtypes it was given, and where the user built the node.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from ..errors import SymcError, SymcIndexError, SymcShapeError, SymcValueError
from ..graph.location import format_location, with_location
from ..graph.node import Node
from ..graph.traverse import toposort
from ..ops.leaves import Constant, Input, Shared


class Plan:
    """Slots and steps to evaluate ``outputs`` from values for ``inputs``.

    The results of one loop (``Loop`` nodes that differ only in ``result``)
    are one step: the loop runs once and fills every result slot the graph
    uses.
    """

    def __init__(self, inputs: Sequence[Node], outputs: Sequence[Node]):
        order = toposort(outputs)
        self.slot = {id(n): k for k, n in enumerate(order)}
        self.nodes = order
        self.n_slots = len(order)
        self.input_slots = [self.slot.get(id(i)) for i in inputs]
        self.output_slots = [self.slot[id(o)] for o in outputs]
        self.constants: list[tuple[int, np.ndarray]] = []
        self.shared: list[tuple[int, object]] = []
        # (impl, slot, input slots, node, dtype, check_values, broadcast check); a loop
        # step has a tuple of slots and dtype None
        self.steps: list[tuple] = []
        given = {id(i) for i in inputs}
        loops: dict[tuple, list] = {}
        scan = sys.modules.get("symc.ops.scan")  # not loaded: the graph holds no loop
        Loop = scan.Loop if scan is not None else None
        for node in order:
            k = self.slot[id(node)]
            if isinstance(node.op, Constant):
                self.constants.append((k, node.op.value))
            elif isinstance(node.op, Shared):
                self.shared.append((k, node.op.container))
            elif isinstance(node.op, Input):
                if id(node) not in given:
                    raise AssertionError("unbound input reached the plan")  # checked earlier
            elif Loop is not None and isinstance(node.op, Loop):
                key = (node.op.loop_key(), *map(id, node.inputs))
                group = loops.get(key)
                if group is None:
                    group = loops[key] = [node, []]
                    ins = tuple(self.slot[id(i)] for i in node.inputs)
                    self.steps.append((group, None, ins, node, None, None, False))
                group[1].append((node.op.result, k))
            else:
                self.steps.append(
                    (
                        node.op.impl,
                        k,
                        tuple(self.slot[id(i)] for i in node.inputs),
                        node,
                        np.dtype(node.type.dtype),
                        getattr(node.op, "check_values", None),
                        node.op.elementwise and _may_broadcast(node),
                    )
                )
        self.steps = [_finish_loop_step(s) if s[4] is None else s for s in self.steps]

    def run(self, args: Sequence[np.ndarray], sizes: dict[str, int] | None = None) -> list:
        """The outputs' values for ``args`` (one per input).

        With ``sizes``, also record there the bytes of every intermediate
        array the evaluation allocates (label -> bytes; see :func:`record`).
        """
        values: list = [None] * self.n_slots
        for k, v in zip(self.input_slots, args, strict=True):
            if k is not None:
                values[k] = v
        for k, v in self.constants:
            values[k] = v
        for k, c in self.shared:
            values[k] = c.value
        for impl, k, ins, node, dt, check, bcast in self.steps:
            vals = [values[i] for i in ins]
            if dt is None:  # a loop: all its used results at once
                try:
                    got = impl(vals, sizes, _label(self, node) if sizes is not None else "")
                except SymcError as err:
                    raise with_location(err, node.loc) from None
                for slot, v in zip(k, got, strict=True):
                    values[slot] = v
                continue
            try:
                if check is not None:  # run-time checks that need the static input types
                    check(node.inputs, vals)
                out = impl(*vals)
            except SymcError as err:
                raise with_location(err, node.loc) from None
            except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError) as err:
                raise _wrap(node, vals, err) from None
            if type(out) is not np.ndarray:
                out = np.asarray(out)
            if out.dtype != dt:
                out = out.astype(dt)
            if bcast:
                _check_broadcast(node, vals, out)
            values[k] = out
        if sizes is not None:
            record(self, values, args, sizes)
        return [values[k] for k in self.output_slots]


def _finish_loop_step(step: tuple) -> tuple:
    """A loop's plan step: run the loop once for every result in its group."""
    from ..ops.scan_run import run_results

    (node, results), _, ins, first, _, _, _ = step
    op = node.op
    wanted = [r for r, _ in results]
    slots = tuple(k for _, k in results)

    def run(vals: list, sizes: dict | None, label: str) -> list:
        return run_results(op, vals[0], vals[1:], wanted, sizes, label)

    return (run, slots, ins, first, None, None, False)


def _may_broadcast(node: Node) -> bool:
    """Whether an elementwise node has an input length unknown while building (see below)."""
    return any(None in i.type.shape for i in node.inputs)


def _label(plan: Plan, node: Node) -> str:
    """How :func:`record` names the buffer of ``node``: slot number, op, user's line."""
    labels = plan.__dict__.setdefault("_labels", {})
    got = labels.get(id(node))
    if got is None:
        where = format_location(node.loc).split("   ")[0]
        got = f"#{plan.slot[id(node)]} {node.op.label()}"
        got = labels[id(node)] = f"{got} ({where})" if where else got
    return got


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def record(plan: Plan, values: list, args: Sequence, sizes: dict[str, int]) -> None:
    """Add the bytes of the intermediate arrays of one evaluation to ``sizes`` (label -> bytes).

    Intermediate: computed by a step, and neither an output nor memory it
    shares (a view of an input or of another counted array costs nothing;
    a view of an otherwise unreferenced temporary counts the temporary).
    Labels are kept at their largest value, so a plan run once per loop step
    records the most any step needed.
    """
    owned = {id(_root(np.asarray(a))) for a in args}
    owned |= {id(_root(np.asarray(values[k]))) for k in plan.output_slots}
    for _, v in plan.constants:
        owned.add(id(_root(v)))
    for k, _ in plan.shared:
        owned.add(id(_root(np.asarray(values[k]))))
    for step in plan.steps:
        slots = step[1] if step[4] is None else (step[1],)
        for k in slots:
            root = _root(np.asarray(values[k]))
            if id(root) in owned:
                continue
            owned.add(id(root))
            label = _label(plan, plan.nodes[k])
            sizes[label] = max(sizes.get(label, 0), root.nbytes)


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


def measure(fn, args: Sequence) -> dict[str, int]:
    """``Function.scratch_bytes`` for the reference backend: one evaluation, sizes recorded."""
    from ..graph.location import user_location
    from .function import _fail

    if len(args) != len(fn.inputs):
        fn(*args)  # raises the argument-count error
    values = [check(a) for check, a in zip(fn._checks, args, strict=True)]
    sizes: dict[str, int] = {}
    try:
        fn._plan.run(values, sizes)
    except SymcError as err:
        raise _fail(err, user_location()) from None
    return sizes
