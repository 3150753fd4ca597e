"""The elementwise functions, one row each: name, arity, NumPy impl, derivative.

Adding a function is adding a row. ``deriv(inputs, out, g)`` returns the
gradient graph for each input (before it is summed back to the input's shape
and cast to its dtype, which the grad driver does for every row).
``kind`` decides the output dtype: "float" rows turn integer and boolean
inputs into ``config.floatX`` (as int/int true division does); "bool" rows
give bool; "numpy" rows give what NumPy gives.

Conventions at non-differentiable points:

- ``maximum``/``minimum`` split the gradient equally on ties (0.5 each), as
  JAX does (its ``_balanced_eq`` rule); ``clip`` inherits this at its bounds.
- ``abs'(0) = 0``, i.e. ``sign(x)``, as PyTorch and Theano do. (JAX differs
  here: its rule ``select(x >= 0, g, -g)`` gives 1 at 0.)
- ``floor``/``ceil``/``round``/``sign`` have zero gradient everywhere.
- ``where`` sends the gradient only to the branch it selected (as in JAX).
- ``x ** y``: ``d/dx = 0`` where ``y == 0`` (even at ``x == 0``) and
  ``d/dy = 0`` where ``x == 0`` (``log 0`` replaced by 0), as in JAX.
- ``x % y``: ``d/dx = 1`` and ``d/dy = -floor_divide(x, y)``, the derivative
  of ``x - y * floor(x / y)`` away from its jumps.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from functools import cache

import numpy as np

from ..graph.record import record

LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class _LazyMath:
    """``symc.api.math``, imported on first use: that module imports this one."""

    def __getattr__(self, name: str):
        return getattr(importlib.import_module("symc.api.math"), name)


m = _LazyMath()


@record
class Row:
    """One elementwise function: how to compute it, differentiate it, and type it."""

    name: str
    arity: int
    impl: Callable
    deriv: Callable | None  # None: not differentiable (integer/boolean results)
    kind: str = "float"  # "float" | "numpy" | "bool"
    c_name: str = ""
    domain: str | None = None  # where the function is real-valued, for tests and rewrites
    symbol: str | None = None  # infix spelling for dprint


def _scipy_special(name: str) -> Callable:
    """erf/erfc: scipy.special when installed (imported on first use), else math.* vectorized."""

    def f(x: np.ndarray) -> np.ndarray:
        try:
            import scipy.special as sp
        except ImportError:  # pragma: no cover - scipy is a test dependency
            fn = np.vectorize(getattr(math, name), otypes=[x.dtype])
            return fn(x)
        return getattr(sp, name)(x)

    return f


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a non-positive number never overflows; both branches are accurate
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(np.zeros((), x.dtype), x)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    # Mächler (2012): log(1 - exp(x)) for x <= 0, two branches split at -log 2
    with np.errstate(all="ignore"):
        return np.where(x > -LN2, np.log(-np.expm1(x)), np.log1p(-np.exp(x))).astype(
            x.dtype, copy=False
        )


def _pow_dx(x, y, out, g):
    # y * x**(y-1), with 0 where y == 0 (so d/dx x**0 = 0 even at x = 0)
    return m.where(m.eq(y, 0), 0, g * y * x ** (y - 1))


def _pow_dy(x, y, out, g):
    # log(x) with x == 0 replaced by 1, as JAX does: d/dy 0**y = 0 for y > 0
    safe = m.where(m.eq(x, 0), 1, x)
    return g * out * m.log(safe)


def _half_on_ties(a, b, g, pick):
    return m.where(pick(a, b), g, m.where(m.eq(a, b), g * 0.5, 0))


def _log_erfc(x: np.ndarray) -> np.ndarray:
    """log(erfc(x)) without underflow: log(erfcx(x)) - x*x for x > 0 (erfcx = exp(x*x) erfc(x)).

    Both terms are negative there, so nothing cancels; float32 is computed in
    float64 and rounded once.
    """
    xd = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        try:
            import scipy.special as sp
        except ImportError:  # pragma: no cover - scipy is a test dependency
            return np.vectorize(_log_erfc_math, otypes=["float64"])(xd).astype(x.dtype)
        pos = np.where(xd > 0, xd, 0.0)
        out = np.where(xd > 0, np.log(sp.erfcx(pos)) - pos * pos, np.log(sp.erfc(xd)))
    return np.asarray(out).astype(x.dtype, copy=False)


def _log_erfc_math(t: float) -> float:
    if t < 25.0:
        return math.log(math.erfc(t)) if math.erfc(t) > 0 else -math.inf
    # asymptotic series of erfc(t) * t * sqrt(pi) * exp(t*t); converged to double at t >= 25
    term, total, u = 1.0, 0.0, 1.0 / (2.0 * t * t)
    for n in range(1, 12):
        term *= -(2 * n - 1) * u
        total += term
    return -t * t - math.log(t * math.sqrt(math.pi)) + math.log1p(total)


_ROWS = [
    # arithmetic
    Row("add", 2, np.add, lambda i, o, g: [g, g], "numpy", symbol="+"),
    Row("sub", 2, np.subtract, lambda i, o, g: [g, -g], "numpy", symbol="-"),
    Row("mul", 2, np.multiply, lambda i, o, g: [g * i[1], g * i[0]], "numpy", symbol="*"),
    Row("truediv", 2, np.true_divide, lambda i, o, g: [g / i[1], -g * o / i[1]], symbol="/"),
    Row(
        "floordiv",
        2,
        np.floor_divide,
        lambda i, o, g: [None, None],
        "numpy",
        symbol="//",
    ),
    Row(
        "mod",
        2,
        np.remainder,
        lambda i, o, g: [g, -g * m.floor_divide(i[0], i[1])],
        "numpy",
        symbol="%",
    ),
    Row(
        "pow",
        2,
        np.power,
        lambda i, o, g: [_pow_dx(i[0], i[1], o, g), _pow_dy(i[0], i[1], o, g)],
        "numpy",
        symbol="**",
    ),
    Row("neg", 1, np.negative, lambda i, o, g: [-g], "numpy"),
    Row("abs", 1, np.abs, lambda i, o, g: [g * m.sign(i[0])], "numpy"),
    Row("sign", 1, np.sign, lambda i, o, g: [None], "numpy"),
    Row("square", 1, np.square, lambda i, o, g: [g * 2 * i[0]], "numpy"),
    Row(
        "maximum",
        2,
        np.maximum,
        lambda i, o, g: [
            _half_on_ties(i[0], i[1], g, m.gt),
            _half_on_ties(i[1], i[0], g, m.gt),
        ],
        "numpy",
    ),
    Row(
        "minimum",
        2,
        np.minimum,
        lambda i, o, g: [
            _half_on_ties(i[0], i[1], g, m.lt),
            _half_on_ties(i[1], i[0], g, m.lt),
        ],
        "numpy",
    ),
    # exponentials and logarithms
    Row("exp", 1, np.exp, lambda i, o, g: [g * o]),
    Row("expm1", 1, np.expm1, lambda i, o, g: [g * (o + 1)]),
    Row("log", 1, np.log, lambda i, o, g: [g / i[0]], domain="x > 0"),
    Row("log1p", 1, np.log1p, lambda i, o, g: [g / (1 + i[0])], domain="x > -1"),
    Row("log2", 1, np.log2, lambda i, o, g: [g / (i[0] * LN2)], domain="x > 0"),
    Row("log10", 1, np.log10, lambda i, o, g: [g / (i[0] * LN10)], domain="x > 0"),
    Row("sqrt", 1, np.sqrt, lambda i, o, g: [g / (2 * o)], domain="x >= 0"),
    Row("sigmoid", 1, _sigmoid, lambda i, o, g: [g * o * m.sigmoid(-i[0])]),
    Row("softplus", 1, _softplus, lambda i, o, g: [g * m.sigmoid(i[0])]),
    Row(
        "log1mexp",
        1,
        _log1mexp,
        lambda i, o, g: [-g / m.expm1(-i[0])],
        domain="x < 0",
    ),
    Row(
        "logaddexp",
        2,
        np.logaddexp,
        lambda i, o, g: [g * m.exp(i[0] - o), g * m.exp(i[1] - o)],
    ),
    Row(
        "hypot",
        2,
        np.hypot,
        lambda i, o, g: [g * i[0] / o, g * i[1] / o],
    ),
    # trigonometric and hyperbolic
    Row("sin", 1, np.sin, lambda i, o, g: [g * m.cos(i[0])]),
    Row("cos", 1, np.cos, lambda i, o, g: [-g * m.sin(i[0])]),
    Row("tan", 1, np.tan, lambda i, o, g: [g * (1 + o * o)]),
    Row(
        "arcsin",
        1,
        np.arcsin,
        lambda i, o, g: [g / m.sqrt(1 - i[0] * i[0])],
        domain="-1 <= x <= 1",
    ),
    Row(
        "arccos",
        1,
        np.arccos,
        lambda i, o, g: [-g / m.sqrt(1 - i[0] * i[0])],
        domain="-1 <= x <= 1",
    ),
    Row("arctan", 1, np.arctan, lambda i, o, g: [g / (1 + i[0] * i[0])]),
    Row(
        "arctan2",
        2,
        np.arctan2,
        lambda i, o, g: [
            g * i[1] / (i[0] * i[0] + i[1] * i[1]),
            -g * i[0] / (i[0] * i[0] + i[1] * i[1]),
        ],
    ),
    Row("sinh", 1, np.sinh, lambda i, o, g: [g * m.cosh(i[0])]),
    Row("cosh", 1, np.cosh, lambda i, o, g: [g * m.sinh(i[0])]),
    Row("tanh", 1, np.tanh, lambda i, o, g: [g * (1 - o * o)]),
    Row(
        "erf",
        1,
        _scipy_special("erf"),
        lambda i, o, g: [g * TWO_OVER_SQRT_PI * m.exp(-i[0] * i[0])],
    ),
    Row(
        "erfc",
        1,
        _scipy_special("erfc"),
        lambda i, o, g: [-g * TWO_OVER_SQRT_PI * m.exp(-i[0] * i[0])],
    ),
    # rounding: piecewise constant
    Row("floor", 1, np.floor, lambda i, o, g: [None], "numpy"),
    Row("ceil", 1, np.ceil, lambda i, o, g: [None], "numpy"),
    Row("round", 1, np.round, lambda i, o, g: [None], "numpy"),
    # predicates and comparisons
    Row("isnan", 1, np.isnan, None, "bool"),
    Row("isinf", 1, np.isinf, None, "bool"),
    Row("lt", 2, np.less, None, "bool", symbol="<"),
    Row("le", 2, np.less_equal, None, "bool", symbol="<="),
    Row("gt", 2, np.greater, None, "bool", symbol=">"),
    Row("ge", 2, np.greater_equal, None, "bool", symbol=">="),
    Row("eq", 2, np.equal, None, "bool", symbol="=="),
    Row("ne", 2, np.not_equal, None, "bool", symbol="!="),
    Row("logical_and", 2, np.logical_and, None, "bool", symbol="&"),
    Row("logical_or", 2, np.logical_or, None, "bool", symbol="|"),
    Row("logical_xor", 2, np.logical_xor, None, "bool", symbol="^"),
    Row("logical_not", 1, np.logical_not, None, "bool"),
    # the operators & | ^ ~: bitwise on integers, logical on booleans, as in NumPy
    Row("bitwise_and", 2, np.bitwise_and, None, "numpy", symbol="&"),
    Row("bitwise_or", 2, np.bitwise_or, None, "numpy", symbol="|"),
    Row("bitwise_xor", 2, np.bitwise_xor, None, "numpy", symbol="^"),
    Row("invert", 1, np.invert, None, "numpy", symbol="~"),
    # selection
    Row(
        "where",
        3,
        np.where,
        lambda i, o, g: [None, m.where(i[0], g, 0), m.where(i[0], 0, g)],
        "numpy",
    ),
    Row(
        "log_erfc",
        1,
        _log_erfc,
        lambda i, o, g: [-g * TWO_OVER_SQRT_PI * m.exp(-i[0] * i[0] - o)],
    ),
]

ROWS: dict[str, Row] = {r.name: r for r in _ROWS}


@cache
def numpy_result_dtype(name: str, dtypes: tuple[str, ...]) -> str:
    """The dtype NumPy's implementation gives for inputs of these dtypes.

    Probes are 1-element arrays, never 0-d ones or scalars, so the answer is
    the array promotion rule (strong dtypes) whatever NumPy version runs it.
    Raises ``TypeError`` where NumPy has no loop for the combination.
    """
    row = ROWS[name]
    probes = [np.zeros((1,), d) for d in dtypes]
    with np.errstate(all="ignore"):
        return np.asarray(row.impl(*probes)).dtype.name
