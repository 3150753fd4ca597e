"""The per-op-class lowering registry: ``@lowers(OpClass)`` on ``fn(ctx, node) -> Val``.

Op files hold no C and no kernel IR: each op class's translation into
:mod:`codegen.ir` statements lives in this package, one small function per
class, found by walking the op's MRO (so a subclass inherits its parent's).
"""

from __future__ import annotations

from collections.abc import Callable

_TABLE: dict[type, Callable] = {}


def lowers(*op_classes: type) -> Callable:
    """Register the decorated function as the lowering of ``op_classes``."""

    def deco(fn: Callable) -> Callable:
        for cls in op_classes:
            _TABLE[cls] = fn
        return fn

    return deco


def lowering_for(op: object) -> Callable | None:
    """The lowering registered for ``type(op)`` or its nearest base class, else None."""
    for cls in type(op).__mro__:
        fn = _TABLE.get(cls)
        if fn is not None:
            return fn
    return None
