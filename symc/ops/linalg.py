"""``MatMul``: NumPy's ``matmul``, the one product op every other product lowers to.

``dot``, ``tensordot`` and ``outer`` (``symc.api.linalg``) are compositions of
``MatMul`` with reshapes, transposes and elementwise products, so a back end
needs a single lowering (gemm, gemv, batched gemm) to cover them all.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import SymcShapeError
from ..graph.record import record
from ..graph.types import TensorType, broadcast_shapes, format_shape
from .base import Op


def _shapes(a: tuple, b: tuple) -> str:
    return f"{format_shape(a)} by {format_shape(b)}"


def _promoted(a: tuple, b: tuple) -> tuple[tuple, tuple]:
    """NumPy's 1-D promotion: ``(k,)`` is ``(1, k)`` on the left and ``(k, 1)`` on the right."""
    return ((1, *a) if len(a) == 1 else a), ((*b, 1) if len(b) == 1 else b)


@record
class MatMul(Op):
    """``a @ b`` with ``np.matmul``'s rules for every rank combination.

    Operands need at least one axis. A 1-D left operand is a row, a 1-D right
    operand a column, and the added axis is removed from the result; axes before
    the last two are batch axes and broadcast (statically, like elementwise ops:
    only a length known to be 1 broadcasts).
    """

    @property
    def name(self) -> str:
        return "matmul"

    def infer(self, a: TensorType, b: TensorType) -> TensorType:
        for k, t in enumerate((a, b)):
            if t.ndim == 0:
                raise SymcShapeError(
                    f"matmul: operand {k} of {t.describe()} is 0-d; matmul needs at least one "
                    f"axis on both sides (multiply by a scalar with `*`)."
                )
        pa, pb = _promoted(a.shape, b.shape)
        ka, kb = pa[-1], pb[-2]
        if ka is not None and kb is not None and ka != kb:
            raise SymcShapeError(
                f"matmul: cannot multiply {_shapes(a.shape, b.shape)}: "
                f"inner lengths {ka} and {kb} differ."
            )
        try:
            batch = broadcast_shapes(pa[:-2], pb[:-2], op="matmul")
        except SymcShapeError:
            raise SymcShapeError(
                f"matmul: cannot multiply {_shapes(a.shape, b.shape)}: the batch axes "
                f"{format_shape(pa[:-2])} and {format_shape(pb[:-2])} do not broadcast."
            ) from None
        shape = batch
        if a.ndim > 1:
            shape += (pa[-2],)
        if b.ndim > 1:
            shape += (pb[-1],)
        return TensorType(dtypes.result(a.dtype, b.dtype), shape)

    def check_values(self, inputs, values) -> None:
        """Run-time check that needs the static types: no broadcasting of unknown lengths.

        A batch length unknown when building may arrive as 1 against a longer
        axis. NumPy would broadcast it, but it was typed as not broadcasting (and
        its gradient would get the wrong shape), so it is an error, as for
        elementwise ops.
        """
        a, b = (np.shape(v) for v in values)
        if len(a) != inputs[0].type.ndim or len(b) != inputs[1].type.ndim:
            return  # the argument checks of `function` report this
        pa, pb = _promoted(a, b)
        sa, sb = _promoted(inputs[0].type.shape, inputs[1].type.shape)
        for axis in range(-max(len(pa), len(pb)), -2):
            da = pa[axis] if -axis <= len(pa) else 1
            db = pb[axis] if -axis <= len(pb) else 1
            for d, other, static in ((da, db, sa), (db, da, sb)):
                if d == 1 and other != 1 and -axis <= len(static) and static[axis] is None:
                    raise SymcShapeError(
                        f"matmul: cannot multiply {_shapes(a, b)}: batch axis {axis} has "
                        f"length 1 at run time but its length was unknown when the graph was "
                        f"built, so it does not broadcast. Declare the length as 1 "
                        f"(e.g. sc.tensor(shape=(1, None, None))) to broadcast it."
                    )

    def impl(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        pa, pb = _promoted(np.shape(a), np.shape(b))
        if len(pa) < 2 or len(pb) < 2:
            raise SymcShapeError(
                f"matmul: cannot multiply {_shapes(np.shape(a), np.shape(b))}: an operand is 0-d."
            )
        if pa[-1] != pb[-2]:
            raise SymcShapeError(
                f"matmul: cannot multiply {_shapes(np.shape(a), np.shape(b))}: "
                f"inner lengths {pa[-1]} and {pb[-2]} differ."
            )
        try:
            return np.asarray(np.matmul(a, b))
        except ValueError:
            raise SymcShapeError(
                f"matmul: cannot multiply {_shapes(np.shape(a), np.shape(b))}: the batch axes "
                f"{format_shape(pa[:-2])} and {format_shape(pb[:-2])} do not broadcast."
            ) from None

    def pullback(self, inputs, out, g):
        from ..api.linalg import matmul_pullback

        return matmul_pullback(*inputs, g)
