"""``Composite``: a fused region of elementwise ops, evaluated as one loop.

The fusion rewrite (``symc.rewriting.fuse``) replaces a tree of elementwise
nodes over the same loop space by one ``Composite`` node whose parameter is
the region as a small scalar program: a tuple of steps, each an elementwise
function (a scalar-table row or a cast) applied to earlier steps, the
composite's inputs, or scalar literals. ``CompositeReduce`` is the same with a
final reduction, which a back end lowers as elementwise-then-reduce.

``impl`` evaluates the steps with the very ops they came from (and the same
dtype normalisation the reference plan applies), so a fused graph gives
bit-identical results to the unfused one.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..errors import SymcTypeError
from ..graph.record import record
from ..graph.types import TensorType, broadcast_shapes
from .base import Op
from .elemwise import Cast, Elemwise
from .reduce import Reduce

#: an argument of a step: ("in", k) the k-th input, ("step", j) an earlier
#: step, ("lit", dtype, raw bytes) a 0-d literal
Arg = tuple
#: one step: (fn, args, dtype); fn is a scalar-table row name or "cast"
Step = tuple


def step_op(fn: str, dtype: str) -> Op:
    """The op a step stands for."""
    return Cast(dtype) if fn == "cast" else Elemwise(fn)


def literal_value(arg: Arg) -> np.ndarray:
    """The 0-d array a ``("lit", dtype, bytes)`` argument holds."""
    return np.frombuffer(arg[2], dtype=arg[1]).reshape(())


def _render_literal(arg: Arg) -> str:
    v = literal_value(arg).item()
    return repr(v)


@record
class Composite(Op):
    """Elementwise steps fused into one op; the last step is the output."""

    steps: tuple
    in_dtypes: tuple
    elementwise = True

    @property
    def n_inputs(self) -> int:
        return len(self.in_dtypes)

    @property
    def name(self) -> str:
        return "composite"

    @cached_property
    def _ops(self) -> tuple:
        return tuple(step_op(fn, dt) for fn, _, dt in self.steps)

    def expression(self) -> str:
        """The fused computation as one readable formula over ``i0, i1, ...``."""
        texts: list[str] = []
        symbols = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "pow": "**"}

        # a fused chain of thousands of steps shows its last steps only:
        # earlier ones are named s<k>, so the text stays short (not quadratic)
        shown_from = max(0, len(self.steps) - 24)

        def arg_text(a: Arg) -> str:
            if a[0] == "in":
                return f"i{a[1]}"
            if a[0] == "lit":
                return _render_literal(a)
            return texts[a[1]] if a[1] >= shown_from else f"s{a[1]}"

        for k, (fn, args, dt) in enumerate(self.steps):
            if k < shown_from:
                texts.append("")
                continue
            parts = [arg_text(a) for a in args]
            if fn in symbols:
                text = f"({parts[0]} {symbols[fn]} {parts[1]})"
            elif fn == "neg":
                text = f"-{parts[0]}"
            elif fn == "cast":
                text = f"{dt}({parts[0]})"
            else:
                text = f"{fn}({', '.join(parts)})"
            texts.append(text)
        out = texts[-1]
        return out[1:-1] if out.startswith("(") and out.endswith(")") else out

    def label(self) -> str:
        text = self.expression()
        if len(self.steps) > 24:
            text += f" ({len(self.steps)} steps)"
        return f"composite{{{text}}}"

    def _types(self, types: tuple[TensorType, ...]) -> list[TensorType]:
        got: list[TensorType] = []
        for op, (_, args, _dt) in zip(self._ops, self.steps, strict=True):
            ins = []
            for a in args:
                if a[0] == "in":
                    ins.append(types[a[1]])
                elif a[0] == "step":
                    ins.append(got[a[1]])
                else:
                    ins.append(TensorType(a[1], ()))
            got.append(op.infer(*ins))
        return got

    def infer(self, *types: TensorType) -> TensorType:
        # every input is broadcast into the one loop, so the output shape is
        # theirs combined; the dtypes were fixed when the region was fused
        got = tuple(t.dtype for t in types)
        if got != self.in_dtypes:
            raise SymcTypeError(
                f"composite: built for input dtypes {self.in_dtypes}, applied to {got}."
            )
        shape = broadcast_shapes(*(t.shape for t in types), op="composite")
        return TensorType(self.steps[-1][2], shape)

    def check(self, *types: TensorType) -> TensorType:
        """Re-infer every step (slow; tests use it to validate a fused program)."""
        return self._types(types)[-1]

    def evaluate(self, values: tuple) -> np.ndarray:
        """Run the steps on arrays (the reference semantics of the fused region)."""
        got: list[np.ndarray] = []
        for op, (_, args, dt) in zip(self._ops, self.steps, strict=True):
            ins = []
            for a in args:
                if a[0] == "in":
                    ins.append(values[a[1]])
                elif a[0] == "step":
                    ins.append(got[a[1]])
                else:
                    ins.append(literal_value(a))
            out = np.asarray(op.impl(*ins))
            if out.dtype.name != dt:
                out = out.astype(dt)
            got.append(out)
        return got[-1]

    def impl(self, *values: np.ndarray) -> np.ndarray:
        return self.evaluate(values)

    def expand(self, inputs) -> object:
        """The unfused graph of this region applied to ``inputs`` (nodes)."""
        from ..api.convert import constant
        from ..graph.node import apply

        got: list = []
        for op, (_, args, _dt) in zip(self._ops, self.steps, strict=True):
            ins = []
            for a in args:
                if a[0] == "in":
                    ins.append(inputs[a[1]])
                elif a[0] == "step":
                    ins.append(got[a[1]])
                else:
                    ins.append(constant(literal_value(a)))
            got.append(apply(op, ins))
        return got[-1]

    def pullback(self, inputs, out, g):
        return _pullback_through(self.expand(inputs), inputs, g)


@record
class CompositeReduce(Op):
    """A ``Composite`` followed by a reduction: ``kind`` over ``axes``."""

    steps: tuple
    in_dtypes: tuple
    kind: str
    axes: tuple
    keepdims: bool = False

    @property
    def name(self) -> str:
        return "composite_reduce"

    @cached_property
    def inner(self) -> Composite:
        return Composite(self.steps, self.in_dtypes)

    @cached_property
    def reduce(self) -> Reduce:
        return Reduce(self.kind, self.axes, self.keepdims)

    def label(self) -> str:
        keep = ", keepdims" if self.keepdims else ""
        return f"{self.kind}{{axes={self.axes}{keep}}}(composite{{{self.inner.expression()}}})"

    def infer(self, *types: TensorType) -> TensorType:
        return self.reduce.infer(self.inner.infer(*types))

    def impl(self, *values: np.ndarray) -> np.ndarray:
        return self.reduce.impl(self.inner.evaluate(values))

    def expand(self, inputs) -> object:
        from ..graph.node import apply

        return apply(self.reduce, (self.inner.expand(inputs),))

    def pullback(self, inputs, out, g):
        return _pullback_through(self.expand(inputs), inputs, g)


def _pullback_through(expanded, inputs, g) -> list:
    """Gradients w.r.t. ``inputs`` of the unfused graph, given the output's adjoint ``g``."""
    from .. import dtypes
    from ..api.reduce import sum as rsum
    from ..autodiff import grad

    wrt = [x for x in inputs if dtypes.is_differentiable(x.type.dtype)]
    if not wrt:
        return [None] * len(inputs)
    cost = rsum(expanded * g)
    grads = iter(grad(cost, wrt, disconnected="zero"))
    return [next(grads) if dtypes.is_differentiable(x.type.dtype) else None for x in inputs]
