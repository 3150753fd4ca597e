"""The op contract: ``infer`` (types), ``impl`` (NumPy reference), ``pullback`` (gradient).

An op is a frozen dataclass: its fields are its parameters, so two ops with
the same parameters are equal and the graph interns their applications.

A library author writes a new op the same way::

    @dataclass(frozen=True)
    class Cube(sc.Op):
        def infer(self, x):
            return x
        def impl(self, x):
            return x**3
        def pullback(self, inputs, out, g):
            (x,) = inputs
            return [g * 3 * x * x]

    y = Cube()(x)
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from ..graph.record import record

if TYPE_CHECKING:
    import numpy as np

    from ..graph.node import Node
    from ..graph.types import TensorType


@record
class Op:
    """Base class of all ops. Subclasses are frozen dataclasses."""

    is_leaf = False
    #: an elementwise op maps each output element from the same-index input elements
    elementwise = False

    def infer(self, *types: TensorType) -> TensorType:
        """The output type for these input types; raises SymcTypeError/SymcShapeError."""
        raise NotImplementedError(f"{type(self).__name__} does not define infer")

    def impl(self, *values: np.ndarray) -> np.ndarray:
        """The NumPy reference implementation."""
        raise NotImplementedError(f"{type(self).__name__} does not define impl")

    def pullback(self, inputs: tuple[Node, ...], out: Node, g: Node) -> list[Node | None]:
        """Gradient of a scalar cost w.r.t. each input, given ``g`` = d cost / d out.

        ``None`` marks an input that receives no gradient (integer, boolean, or
        an index). The default says the op is not differentiable.
        """
        from ..errors import SymcGradError

        raise SymcGradError(f"{self.label()}: this op has no gradient rule.")

    def __call__(self, *inputs: Any) -> Node:
        from ..api.convert import as_node
        from ..graph.node import apply

        return apply(self, [as_node(i) for i in inputs])

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def label(self) -> str:
        """How ``dprint`` names this op: ``sum{axes=(0,), keepdims=True}``."""
        ps = self.params()
        if not ps:
            return self.name
        inner = ", ".join(f"{k}={v!r}" for k, v in ps.items())
        return f"{self.name}{{{inner}}}"
