"""``logsumexp``, ``softmax`` and ``log_softmax``: stable at any input magnitude.

Integer and boolean inputs are converted to ``config.floatX`` first, as
``scipy.special`` converts them to float64.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes
from ..errors import SymcError
from ..graph.location import user_location, with_location
from ..graph.node import Node, apply
from ..ops.reduce import normalize_axes
from ..ops.special import LogSoftmax, LogSumExp, Softmax
from .convert import as_node
from .math import cast


def _prepare(op: str, x: Any, axis: Any) -> tuple[Node, tuple[int, ...]]:
    x = as_node(x)
    try:
        axes = normalize_axes(op, axis, x.type.ndim, x.type.shape)
    except SymcError as err:
        raise with_location(err, user_location()) from None
    return cast(x, dtypes.as_float(x.type.dtype)), axes


def logsumexp(x: Any, axis: Any = -1, keepdims: bool = False) -> Node:
    """``log(sum(exp(x), axis))`` without overflow or underflow.

    Args:
        x: the values (ints become floatX).
        axis: None (all axes), an int or a tuple of ints; default the last axis.
        keepdims: keep the reduced axes as length-1 axes.

    >>> sc.logsumexp(scores, axis=-1)   # finite at scores = [1000, 1000]: 1000 + log(2)
    """
    x, axes = _prepare("logsumexp", x, axis)
    return apply(LogSumExp(axes, bool(keepdims)), (x,))


def softmax(x: Any, axis: Any = -1) -> Node:
    """``exp(x) / sum(exp(x), axis, keepdims=True)``, max-shifted so it never overflows.

    ``axis`` is None, an int or a tuple; a slice of all ``-inf`` gives NaN, as in scipy.
    """
    x, axes = _prepare("softmax", x, axis)
    return apply(Softmax(axes), (x,))


def log_softmax(x: Any, axis: Any = -1) -> Node:
    """``x - logsumexp(x, axis, keepdims=True)``, accurate where ``softmax`` underflows."""
    x, axes = _prepare("log_softmax", x, axis)
    return apply(LogSoftmax(axes), (x,))
