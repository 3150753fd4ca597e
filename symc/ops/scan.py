"""``Loop``: the one canonical loop op, and ``Body``, the inner graph it runs.

A loop maps ``(constants, carry, sequences)`` to ``(carry, stacked outputs)``::

    carry = initial
    for t in range(n_steps):                      # rows n-1 .. 0 when ``reverse``
        carry, outs[t], stop = body(constants, carry, sequences[t])
        if stop: break                            # only when ``has_stop``

The body is an ordinary graph over fresh inner input nodes, in this order:
the constants, the carry, one row of each sequence; its outputs are the new
carry, the per-step outputs and (with ``has_stop``) a bool scalar. The outer
inputs of a loop node are ``(n_steps, *constants, *initial_carry, *sequences)``;
sequences may be longer than ``n_steps`` (only their first rows are read).

Several results, one node each. symc nodes have one output, so every result
of a loop is its own node: ``Loop(..., result=r)`` applied to the same inputs,
where ``r`` is ``("carry", j)`` (the final value of carry ``j``), ``("out", j)``
(output ``j`` stacked over the steps, one row per step), ``("history", j)``
(carry ``j`` as it was *before* each step: the states the gradient needs) or
``("steps",)`` (how many steps ran; fewer than ``n_steps`` after a stop). The
results of one loop differ only in ``result``, so a backend recognises them
by :meth:`Loop.loop_key` plus the inputs and runs the loop once (the
reference plan too: ``symc.ops.scan_run.run_results``; ``impl`` alone
computes one result).

``Body`` compares by structure (ops, wiring, input types), not by the
identity of its inner inputs, so building the same scan twice over the same
outer values interns to the same nodes, and identical gradient loops merge.

The contract a backend relies on (unchanged by the scan rules of
:mod:`symc.rewriting.scan_rules`, which only ever build ordinary loops):

* the fields are ``body, n_const, n_carry, n_seq, n_out, has_stop,
  reverse, length, result``; ``len(body.inputs) == n_const + n_carry +
  n_seq`` and ``len(body.outputs) == n_carry + n_out + has_stop``;
* a body output may be the very node of another output (a fed-back output
  is both a carry update and a per-step output), an inner input (a carry
  passed through, a constant returned every step, a shift register's
  ``slots[1:]``), or a constant leaf;
* an inner input may be read by no output: a sequence the loop keeps only
  so that its length is still checked against ``n_steps``;
* after optimization the body may hold fused ops (``Composite``,
  ``CompositeReduce``) and nested loops, like any graph;
* ``length`` is the static step count (None when unknown or ``has_stop``);
  result shapes: carry ``j`` as its inner input, ``("out", j)`` and
  ``("history", j)`` with a leading axis of ``length`` rows (unknown with
  ``has_stop``), ``("steps",)`` an int64 scalar;
* a graph may use any subset of a loop's results; unused carries and
  outputs are removed before a backend sees the graph, but a used carry
  may exist only to feed another.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .. import dtypes
from ..errors import SymcShapeError, SymcTypeError, SymcValueError
from ..graph.record import record
from ..graph.types import TensorType, format_shape, same_shape
from .base import Op


class Body:
    """An inner graph: fresh ``inputs`` (``sc.tensor`` leaves) and ``outputs`` built on them.

    Every leaf the outputs reach must be one of ``inputs`` or a constant; the
    scan front end turns everything else (closure variables, shared
    variables) into loop constants before building a body.
    """

    __slots__ = ("inputs", "outputs", "key", "_hash", "_plan")

    def __init__(self, inputs: Sequence, outputs: Sequence):
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self.key = _structure(self.inputs, self.outputs)
        self._hash = hash(self.key)
        self._plan = None

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        return isinstance(other, Body) and self._hash == other._hash and self.key == other.key

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"<Body {len(self.inputs)} inputs -> {len(self.outputs)} outputs>"

    def index_fields(self) -> tuple:
        """What the warm index hashes (:mod:`symc.compile.warm`): the inner graph itself."""
        return (self.inputs, self.outputs)

    def plan(self):
        """The reference evaluation plan of the body, built once.

        Fused regions are evaluated unfused (the same ops, so the same
        values): the reference loop runs the plan once per step, and
        interpreting a region costs more per call than running its ops.
        """
        if self._plan is None:
            from ..compile.reference import Plan

            self._plan = Plan(self.inputs, _unfused(self.outputs))
        return self._plan


def _unfused(outputs: tuple) -> list:
    """``outputs`` with every ``Composite``/``CompositeReduce`` replaced by its own ops."""
    from ..graph.node import apply
    from ..graph.traverse import toposort
    from .composite import Composite, CompositeReduce

    order = toposort(outputs)
    if not any(isinstance(n.op, (Composite, CompositeReduce)) for n in order):
        return list(outputs)
    memo: dict[int, object] = {}
    for node in order:
        ins = [memo[id(i)] for i in node.inputs]
        if isinstance(node.op, (Composite, CompositeReduce)):
            out = memo[id(node)] = node.op.expand(ins)
            stack = [out]
            while stack:  # the region's ops report the line the fused node came from
                n = stack.pop()
                if n.inputs and n.loc != node.loc and all(n is not i for i in ins):
                    n.loc = node.loc
                    stack.extend(n.inputs)
        elif all(a is b for a, b in zip(ins, node.inputs, strict=True)):
            memo[id(node)] = node
        else:
            memo[id(node)] = apply(node.op, ins, loc=node.loc)
    return [memo[id(o)] for o in outputs]


def _structure(inputs: tuple, outputs: tuple) -> tuple:
    """A hashable description of the graph with inner inputs named by position."""
    from ..graph.traverse import toposort
    from .leaves import Constant

    position = {id(n): k for k, n in enumerate(inputs)}
    index: dict[int, int] = {}
    entries: list[tuple] = []
    for node in toposort(outputs):
        nid = id(node)
        if nid in position:
            entry: tuple = ("in", position[nid])
        elif node.inputs:
            entry = (node.op, tuple(index[id(i)] for i in node.inputs))
        elif isinstance(node.op, Constant):
            entry = ("const", node.op)
        else:
            raise AssertionError(f"loop body reaches a free leaf {node!r}")  # front end's job
        index[nid] = len(entries)
        entries.append(entry)
    in_types = tuple(i.type for i in inputs)
    return in_types, tuple(entries), tuple(index[id(o)] for o in outputs)


def _fits(what: str, given: TensorType, want: TensorType) -> None:
    """``given`` (an outer value) can be bound to an inner input of type ``want``."""
    if given.dtype != want.dtype:
        raise SymcTypeError(
            f"scan: {what} has {given.describe()}, but the loop body expects {want.dtype}."
        )
    if not same_shape(given.shape, want.shape):
        raise SymcShapeError(
            f"scan: {what} has {given.describe()}, but the loop body expects "
            f"shape {format_shape(want.shape)}."
        )


@record
class Loop(Op):
    """The canonical loop (see the module docstring); ``result`` picks which result a node is.

    Fields: the ``body``; how many of its inputs are constants, carry and
    sequence rows (``n_const``, ``n_carry``, ``n_seq``); how many per-step
    outputs it has (``n_out``); whether its last output is a stop condition
    (``has_stop``); whether it walks the rows backwards (``reverse``, used by
    gradients); the number of steps when known statically (``length``).
    """

    body: Body
    n_const: int
    n_carry: int
    n_seq: int
    n_out: int
    has_stop: bool = False
    reverse: bool = False
    length: int | None = None
    result: tuple = ("out", 0)

    @property
    def name(self) -> str:
        return "scan"

    def label(self) -> str:
        kind = self.result[0]
        which = f"{kind}[{self.result[1]}]" if len(self.result) > 1 else kind
        parts = [f"consts={self.n_const}", f"carry={self.n_carry}", f"seqs={self.n_seq}"]
        if self.has_stop:
            parts.append("until")
        if self.reverse:
            parts.append("reverse")
        return f"scan.{which}{{{', '.join(parts)}}}"

    def loop_key(self) -> Loop:
        """The loop without its ``result``: equal for all results of one loop."""
        return dataclasses.replace(self, result=("",))

    def sibling(self, *result) -> Loop:
        """The same loop giving another result."""
        return dataclasses.replace(self, result=tuple(result))

    # --- the parts of the inner inputs and outputs
    @property
    def carry_inputs(self) -> tuple:
        return self.body.inputs[self.n_const : self.n_const + self.n_carry]

    @property
    def seq_inputs(self) -> tuple:
        return self.body.inputs[self.n_const + self.n_carry :]

    @property
    def const_inputs(self) -> tuple:
        return self.body.inputs[: self.n_const]

    @property
    def carry_outputs(self) -> tuple:
        return self.body.outputs[: self.n_carry]

    @property
    def step_outputs(self) -> tuple:
        return self.body.outputs[self.n_carry : self.n_carry + self.n_out]

    def split(self, values: Sequence) -> tuple:
        """Outer inputs (or their values) as ``(n_steps, consts, inits, seqs)``."""
        c, h = self.n_const, self.n_carry
        return values[0], values[1 : 1 + c], values[1 + c : 1 + c + h], values[1 + c + h :]

    # --- the op contract
    def infer(self, n: TensorType, *types: TensorType) -> TensorType:
        want = self.n_const + self.n_carry + self.n_seq
        if len(types) != want:
            raise SymcTypeError(f"scan: the loop takes {want + 1} inputs, got {len(types) + 1}.")
        if n.ndim != 0 or not dtypes.is_int(n.dtype):
            raise SymcTypeError(f"scan: n_steps must be an integer scalar, got {n.describe()}.")
        _, consts, inits, seqs = self.split((n, *types))
        for k, (t, p) in enumerate(zip(consts, self.const_inputs, strict=True)):
            _fits(f"loop constant {k}", t, p.type)
        for k, (t, p) in enumerate(zip(inits, self.carry_inputs, strict=True)):
            _fits(f"the initial value of recurrent state {k}", t, p.type)
        for k, (t, p) in enumerate(zip(seqs, self.seq_inputs, strict=True)):
            if t.ndim == 0:
                raise SymcShapeError(f"scan: sequence {k} must have an axis 0, got {t.describe()}.")
            _fits(f"a row of sequence {k}", TensorType(t.dtype, t.shape[1:]), p.type)
            if self.length is not None and t.shape[0] is not None and t.shape[0] < self.length:
                raise SymcShapeError(
                    f"scan: sequence {k} ({t.describe()}) has {t.shape[0]} rows, but the loop "
                    f"runs {self.length} steps."
                )
        return self._result_type()

    def _result_type(self) -> TensorType:
        kind = self.result[0]
        rows = None if self.has_stop else self.length
        if kind == "steps":
            return TensorType("int64", ())
        j = self.result[1]
        if kind == "carry":
            return self.carry_inputs[j].type
        if kind == "history":
            t = self.carry_inputs[j].type
            return TensorType(t.dtype, (rows, *t.shape))
        if kind == "out":
            t = self.step_outputs[j].type
            return TensorType(t.dtype, (rows, *t.shape))
        raise SymcValueError(f"scan: unknown loop result {self.result!r}.")

    def impl(self, n_steps: np.ndarray, *values: np.ndarray) -> np.ndarray:
        from .scan_run import run_loop

        return run_loop(self, n_steps, values)

    def pullback(self, inputs, out, g):
        from .scan_grad import loop_pullback

        return loop_pullback(self, inputs, out, g)
