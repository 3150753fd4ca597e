"""symc: a symbolic expression compiler for Python.

Build NumPy-like expressions on symbolic variables, differentiate them, and
compile them to native code::

    import symc as sc
    x = sc.vector("x")
    cost = sc.sum(sc.softplus(x))
    f = sc.function([x], [cost, sc.grad(cost, x)])

``import symc`` loads only the configuration and the error classes; the rest
(and NumPy) loads on first use of a name, so importing costs almost nothing.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from .config import config
from .errors import (
    SymcBackendUnavailableError,
    SymcCompileError,
    SymcDisconnectedError,
    SymcError,
    SymcGradError,
    SymcIndexError,
    SymcInputError,
    SymcRewriteError,
    SymcShapeError,
    SymcTypeError,
    SymcValueError,
    SymcVerifyGradError,
)

__version__ = "0.1.0"

_MATH = (
    "add subtract multiply true_divide divide floor_divide mod power maximum minimum arctan2 "
    "logaddexp hypot lt le gt ge eq ne logical_and logical_or logical_xor logical_not "
    "bitwise_and bitwise_or bitwise_xor invert negative "
    "abs sign square exp expm1 log log1p log2 log10 sqrt sigmoid softplus log1mexp sin cos tan "
    "arcsin arccos arctan sinh cosh tanh erf erfc floor ceil isnan isinf round where clip cast"
)
_LAZY: dict[str, str] = {
    **dict.fromkeys(_MATH.split(), "symc.api.math"),
    **dict.fromkeys(
        "tensor scalar vector matrix iscalar ivector imatrix shared SharedVariable full zeros "
        "ones zeros_like ones_like arange".split(),
        "symc.api.creation",
    ),
    "constant": "symc.api.convert",
    **dict.fromkeys("sum prod max min mean var std argmax argmin".split(), "symc.api.reduce"),
    **dict.fromkeys(
        "reshape transpose expand_dims squeeze concatenate stack broadcast_to flatten".split(),
        "symc.api.shape",
    ),
    "take": "symc.api.index",
    **dict.fromkeys("dot matmul tensordot outer".split(), "symc.api.linalg"),
    **dict.fromkeys("logsumexp softmax log_softmax".split(), "symc.api.special"),
    **dict.fromkeys("grad jacobian hessian".split(), "symc.autodiff"),
    "verify_grad": "symc.testing",
    "scan": "symc.api.scan",
    "until": "symc.api.scan",
    "function": "symc.compile.function",
    "Function": "symc.compile.function",
    "dprint": "symc.graph.printing",
    "rewrite": "symc.rewriting.pipeline",
    "inputs_of": "symc.graph.traverse",
    "replace": "symc.graph.traverse",
    "toposort": "symc.graph.traverse",
    "Op": "symc.ops.base",
    "Node": "symc.graph.node",
    "Variable": "symc.graph.node",
    "TensorType": "symc.graph.types",
}

__all__ = [
    "config",
    "SymcBackendUnavailableError",
    "SymcCompileError",
    "SymcDisconnectedError",
    "SymcError",
    "SymcGradError",
    "SymcIndexError",
    "SymcInputError",
    "SymcRewriteError",
    "SymcShapeError",
    "SymcTypeError",
    "SymcValueError",
    "SymcVerifyGradError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'symc' has no attribute {name!r}")
    attr = "Node" if name == "Variable" else name
    from .gcpause import gc_paused

    # loading symc's modules makes long-lived objects and no cycles: no collector
    # passes meanwhile, and the objects promoted straight to the oldest generation
    with gc_paused(promote=module not in sys.modules):
        value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
