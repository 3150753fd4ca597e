"""IEEE safety: random elementwise graphs give the same results after rewriting.

Inputs include 0, -0, +-inf, NaN, subnormals and huge values. Results must
agree bit for bit (signed zeros and NaN positions included), except where a
stability rule fired and mpmath (50 digits) says the rewritten value is at
least as close to the true one as the original: then the original was the
inaccurate one.
"""

from __future__ import annotations

import mpmath
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import symc as sc
from symc.api import math as m
from symc.rewriting import optimize
from symc.rewriting.stabilize import RULES as STABLE

from .helpers import AsWritten

STABLE_NAMES = {r.name for r in STABLE}
SPECIAL = [
    0.0,
    -0.0,
    np.inf,
    -np.inf,
    np.nan,
    5e-324,
    -1e-310,
    1e-300,
    1e300,
    -1e308,
    1.0,
    -1.0,
    0.5,
    2.0,
    -3.5,
    1e-10,
    40.0,
    -800.0,
    800.0,
]


def _mp(f):
    def g(*a):
        try:
            v = f(*a)
        except (ZeroDivisionError, ValueError):
            return None  # decided by IEEE below
        if isinstance(v, mpmath.mpc):
            return mpmath.nan if v.imag != 0 else v.real
        return v

    return g


#: name: (symc builder, mpmath function, NumPy function for IEEE corner cases)
UNARY = {
    "neg": (lambda a: -a, lambda a: -a, np.negative),
    "abs": (m.abs, mpmath.fabs, np.abs),
    "exp": (m.exp, mpmath.exp, np.exp),
    "log": (m.log, mpmath.log, np.log),
    "log1p": (m.log1p, mpmath.log1p, np.log1p),
    "expm1": (m.expm1, mpmath.expm1, np.expm1),
    "sqrt": (m.sqrt, mpmath.sqrt, np.sqrt),
    "sin": (m.sin, mpmath.sin, np.sin),
    "tanh": (m.tanh, mpmath.tanh, np.tanh),
    "sigmoid": (m.sigmoid, lambda a: 1 / (1 + mpmath.exp(-a)), lambda a: 1 / (1 + np.exp(-a))),
    "one_plus": (lambda a: 1 + a, lambda a: 1 + a, lambda a: 1 + a),
    "one_minus": (lambda a: 1 - a, lambda a: 1 - a, lambda a: 1 - a),
    "minus_one": (lambda a: a - 1, lambda a: a - 1, lambda a: a - 1),
    "plus_zero": (lambda a: a + 0.0, lambda a: a, lambda a: a + 0.0),
    "plus_neg_zero": (lambda a: a + (-0.0), lambda a: a, lambda a: a + (-0.0)),
    "minus_zero": (lambda a: a - 0.0, lambda a: a, lambda a: a - 0.0),
    "times_one": (lambda a: a * 1.0, lambda a: a, lambda a: a * 1.0),
    "times_zero": (lambda a: a * 0.0, lambda a: a * 0, lambda a: a * 0.0),
    "div_two": (lambda a: a / 2.0, lambda a: a / 2, lambda a: a / 2.0),
    "div_three": (lambda a: a / 3.0, lambda a: a / 3, lambda a: a / 3.0),
    "square": (lambda a: a**2, lambda a: a**2, lambda a: a**2),
    "pow_half": (lambda a: a**0.5, mpmath.sqrt, lambda a: a**0.5),
    "recip": (lambda a: a**-1, lambda a: 1 / a, lambda a: 1 / a),
    "pow_zero": (lambda a: a**0, lambda a: mpmath.mpf(1), lambda a: a**0),
    "pow_one": (lambda a: a**1, lambda a: a, lambda a: a**1),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, lambda a, b: a / b, np.divide),
    "max": (m.maximum, mpmath.mpf.__class__ and (lambda a, b: max(a, b)), np.maximum),
}


def trees():
    leaf = st.sampled_from(["x", "y"])
    return st.recursive(
        leaf,
        lambda kids: st.one_of(
            st.tuples(st.sampled_from(sorted(UNARY)), kids),
            st.tuples(st.sampled_from(sorted(BINARY)), kids, kids),
        ),
        max_leaves=6,
    )


def build(t, env):
    if isinstance(t, str):
        return env[t]
    if len(t) == 2:
        return UNARY[t[0]][0](build(t[1], env))
    return BINARY[t[0]][0](build(t[1], env), build(t[2], env))


def exact(t, env):
    """The tree's value in 50-digit arithmetic; IEEE's answer where mpmath has none."""
    if isinstance(t, str):
        return env[t]
    table = UNARY if len(t) == 2 else BINARY
    args = [exact(a, env) for a in t[1:]]
    if any(mpmath.isnan(a) for a in args):
        return mpmath.nan
    v = _mp(table[t[0]][1])(*args)
    if v is None:
        with np.errstate(all="ignore"):
            v = mpmath.mpf(float(table[t[0]][2](*(np.float64(float(a)) for a in args))))
    return v


def _err(v: float, e) -> float:
    if mpmath.isnan(e):
        return 0.0 if np.isnan(v) else np.inf
    if np.isnan(v):
        return np.inf
    if mpmath.isinf(e) or np.isinf(v):
        return 0.0 if mpmath.mpf(v) == e else np.inf
    return float(abs(mpmath.mpf(v) - e))


@settings(max_examples=40, deadline=None)
@given(t=trees(), seed=st.integers(0, 2**32 - 1))
def test_rewritten_graph_is_ieee_identical_or_more_accurate(t, seed):
    x, y = sc.vector("x"), sc.vector("y")
    out = build(t, {"x": x, "y": y})
    if not isinstance(out, sc.Node) or out.type.dtype != "float64":
        return
    stats: dict[str, int] = {}
    (new,) = optimize([out], stats=stats)
    rng = np.random.default_rng(seed)
    n = len(SPECIAL)
    xv = np.array(SPECIAL)
    yv = np.array(SPECIAL)[rng.permutation(n)]
    f0 = AsWritten([x, y], out)
    f1 = sc.function([x, y], new, backend="python", on_unused_input="ignore")
    a, b = f0(xv, yv), f1(xv, yv)
    assert a.dtype == b.dtype and a.shape == b.shape
    same = (np.isnan(a) & np.isnan(b)) | ((a == b) & (np.signbit(a) == np.signbit(b)))
    if same.all():
        return
    stable = STABLE_NAMES & set(stats)
    assert stable, (
        f"{t}: {stats} changed IEEE results at {np.flatnonzero(~same)}: {a[~same]} -> {b[~same]}"
    )
    mpmath.mp.dps = 50
    for k in np.flatnonzero(~same):
        env = {"x": mpmath.mpf(float(xv[k])), "y": mpmath.mpf(float(yv[k]))}
        e = exact(t, env)
        ea, eb = _err(float(a[k]), e), _err(float(b[k]), e)
        tol = float(abs(e)) * 1e-15 if mpmath.isfinite(e) else 0.0
        assert eb <= ea + tol, (
            f"{t} at x={xv[k]}, y={yv[k]}: original {a[k]}, rewritten {b[k]} (exact {e}); "
            f"fired {stats}"
        )
