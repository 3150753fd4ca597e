"""Lowering of symc graphs to the kernel IR of :mod:`codegen` (one program per function).

``lower(inputs, outputs)`` returns a :class:`~symc.lower.program.Lowered`.
Each op class's translation is registered with :func:`lowers` in the modules
of this package; a library author adds one the same way::

    from symc.lower import lowers

    @lowers(MyOp)
    def lower_my_op(ctx, node):
        ...  # emit codegen.ir statements with ctx.emit; return a Val
"""

from __future__ import annotations

from . import creation, elementwise, index, linalg, reduce, scan, views  # noqa: F401 - registration
from .program import Lowered, lower
from .registry import lowering_for, lowers

__all__ = ["Lowered", "lower", "lowering_for", "lowers"]
