"""Numerical-stability rewrites: the naive formulas users write, as an analyst would compute them.

Each rule carries its evidence (see ``registry.Rule``): ``naive`` builds the
formula as written, ``exact`` computes it with mpmath, ``witnesses`` are
inputs where the naive form overflows, underflows or cancels, and ``domain``
holds ordinary inputs where both must agree. ``tests/symc/rewrite`` generates
its accuracy tests from these fields, and ``docs/rewrites.md`` its table.

Rules only fire on floating operands and never change the dtype (the engine
refuses a replacement of another type), so float32 graphs stay float32.
"""

from __future__ import annotations

from ..api import math as m
from ..api import reduce as r
from ..graph.node import Node, apply
from ..ops.shape import DimShuffle
from ..ops.special import LogSoftmax, LogSumExp, Softmax
from .pattern import P
from .registry import rule

x, y, v = P.x.float(), P.y.float(), P.v.float()


def _log_erfc(x: Node) -> Node:
    return m.elemwise("log_erfc", x)


def _expanded_sum_is(d: Node, s: Node) -> bool:
    """Whether ``d`` is ``expand_dims(s, axes)`` putting back the axes ``s`` reduced."""
    from ..api.shape import expand_dims

    return expand_dims(s, s.op.axes) is d


RULES = [
    rule(
        "log1p_from_log",
        P.log(1 + x),
        lambda x: m.log1p(x),
        replacement="log1p(x)",
        why="1 + x rounds away the digits of a small x",
        naive=lambda x: m.log(1 + x),
        exact=lambda mp, x: mp.log1p(x),
        witnesses=(1e-10, -3e-12, 1e-300),
        domain=((-0.9, 5.0),),
    ),
    rule(
        "log1p_from_log_of_one_minus",
        P.log(1 - x),
        lambda x: m.log1p(-x),
        replacement="log1p(-x)",
        why="1 - x rounds away the digits of a small x",
        naive=lambda x: m.log(1 - x),
        exact=lambda mp, x: mp.log1p(-x),
        witnesses=(1e-10, -3e-12, 1e-300),
        domain=((-5.0, 0.9),),
    ),
    rule(
        "expm1_from_exp",
        P.exp(x) - 1 | P.exp(x) + (-1),
        lambda x: m.expm1(x),
        replacement="expm1(x)",
        why="exp(x) - 1 cancels for small x",
        naive=lambda x: m.exp(x) - 1,
        exact=lambda mp, x: mp.expm1(x),
        witnesses=(1e-10, -3e-12, 1e-300),
        domain=((-5.0, 5.0),),
    ),
    rule(
        "neg_expm1_from_one_minus_exp",
        1 - P.exp(x),
        lambda x: -m.expm1(x),
        replacement="-expm1(x)",
        why="1 - exp(x) cancels for small x",
        naive=lambda x: 1 - m.exp(x),
        exact=lambda mp, x: -mp.expm1(x),
        witnesses=(1e-10, -3e-12, 1e-300),
        domain=((-5.0, 5.0),),
    ),
    rule(
        "softplus_from_log1p_exp",
        P.log1p(P.exp(x)) | P.log(1 + P.exp(x)),
        lambda x: m.softplus(x),
        replacement="softplus(x)",
        why="exp(x) overflows for x > 709; 1 + exp(x) loses exp(x) for x < -37",
        naive=lambda x: m.log(1 + m.exp(x)),
        exact=lambda mp, x: mp.log1p(mp.exp(x)),
        witnesses=(800.0, -40.0, -700.0),
        domain=((-30.0, 30.0),),
    ),
    rule(
        "log_one_minus_sigmoid",
        # bottom-up, 1 - sigmoid(x) has already become sigmoid(-x)
        P.log(1 - P.sigmoid(x)) | P.log(P.sigmoid(-x)),
        lambda x: -m.softplus(x),
        replacement="-softplus(x)",
        why="1 - sigmoid(x) is 0 for x > 37",
        naive=lambda x: m.log(1 - m.sigmoid(x)),
        exact=lambda mp, x: -mp.log1p(mp.exp(x)),
        witnesses=(800.0, 40.0),
        domain=((-20.0, 5.0),),
    ),
    rule(
        "log_sigmoid",
        P.log(P.sigmoid(x)),
        lambda x: -m.softplus(-x),
        replacement="-softplus(-x)",
        why="sigmoid(x) underflows to 0 for x < -745 and rounds to 1 for x > 37",
        naive=lambda x: m.log(m.sigmoid(x)),
        exact=lambda mp, x: -mp.log1p(mp.exp(-x)),
        witnesses=(-800.0, 40.0),
        domain=((-30.0, 30.0),),
    ),
    rule(
        "one_minus_sigmoid",
        1 - P.sigmoid(x),
        lambda x: m.sigmoid(-x),
        replacement="sigmoid(-x)",
        why="1 - sigmoid(x) cancels for large x",
        naive=lambda x: 1 - m.sigmoid(x),
        exact=lambda mp, x: 1 / (1 + mp.exp(x)),
        witnesses=(40.0, 20.0, 30.0),
        domain=((-30.0, 5.0),),
    ),
    rule(
        "sigmoid_from_reciprocal",
        1 / (1 + P.exp(-x)),
        lambda x: m.sigmoid(x),
        replacement="sigmoid(x)",
        why="exp(-x) overflows for x < -709, giving 0 instead of a tiny positive value",
        naive=lambda x: 1 / (1 + m.exp(-x)),
        exact=lambda mp, x: 1 / (1 + mp.exp(-x)),
        witnesses=(-720.0,),
        domain=((-30.0, 30.0),),
    ),
    rule(
        "sigmoid_from_exp_ratio",
        P.exp(x) / (1 + P.exp(x)),
        lambda x: m.sigmoid(x),
        replacement="sigmoid(x)",
        why="inf / inf is NaN for x > 709",
        naive=lambda x: m.exp(x) / (1 + m.exp(x)),
        exact=lambda mp, x: 1 / (1 + mp.exp(-x)),
        witnesses=(800.0,),
        domain=((-30.0, 30.0),),
    ),
    rule(
        "log1mexp",
        P.log(-P.expm1(x)) | P.log1p(-P.exp(x)) | P.log(1 - P.exp(x)),
        lambda x: m.log1mexp(x),
        replacement="log1mexp(x)",
        why="Mächler's two branches: -expm1 near 0, log1p(-exp) far from it",
        naive=lambda x: m.log(1 - m.exp(x)),
        exact=lambda mp, x: mp.log(-mp.expm1(x)),
        witnesses=(-1e-20, -50.0, -1e-10),
        domain=((-5.0, -0.1),),
    ),
    rule(
        "logaddexp",
        P.log(P.exp(x) + P.exp(y)),
        lambda x, y: m.logaddexp(x, y),
        replacement="logaddexp(x, y)",
        why="exp overflows for arguments > 709 and underflows below -745",
        naive=lambda x, y: m.log(m.exp(x) + m.exp(y)),
        exact=lambda mp, x, y: mp.log(mp.exp(x) + mp.exp(y)),
        witnesses=((1000.0, 1000.0), (-1000.0, -1000.0), (800.0, -3.0)),
        domain=((-20.0, 20.0), (-20.0, 20.0)),
    ),
    rule(
        "hypot",
        P.sqrt(x * x + y * y) | P.sqrt(P.square(x) + P.square(y)),
        lambda x, y: m.hypot(x, y),
        replacement="hypot(x, y)",
        why="x*x overflows for |x| > 1e154 and underflows for |x| < 1e-162",
        naive=lambda x, y: m.sqrt(x * x + y * y),
        exact=lambda mp, x, y: mp.sqrt(x * x + y * y),
        witnesses=((1e200, 1e200), (1e-200, 3e-200), (3e170, -4e170)),
        witnesses32=((1e30, 1e30), (1e-30, 2e-30)),
        domain=((-20.0, 20.0), (-20.0, 20.0)),
    ),
    rule(
        "log_erfc",
        P.log(P.erfc(x)),
        lambda x: _log_erfc(x),
        replacement="log_erfc(x)",
        why="erfc(x) underflows for x > 26.5; log(erfcx(x)) - x*x does not",
        naive=lambda x: m.log(m.erfc(x)),
        exact=lambda mp, x: mp.log(mp.erfc(x)),
        witnesses=(30.0, 100.0, 1e5),
        domain=((-3.0, 5.0),),
    ),
    rule(
        "log_exp",
        P.log(P.exp(x)),
        lambda x: x,
        replacement="x",
        why="exp(x) overflows for x > 709 and underflows for x < -745",
        naive=lambda x: m.log(m.exp(x)),
        exact=lambda mp, x: x,
        witnesses=(1000.0, -1000.0),
        domain=((-20.0, 20.0),),
    ),
    rule(
        "logsumexp",
        P.log(P.sum(P.exp(v), name="s")),
        lambda v, s: apply(LogSumExp(s.op.axes, s.op.keepdims), (v,)),
        replacement="logsumexp(v, axes, keepdims)",
        why="exp overflows; the max-shifted form keeps every digit",
        naive=lambda v: m.log(r.sum(m.exp(v), axis=-1)),
        exact=lambda mp, v: mp.log(mp.fsum(mp.exp(t) for t in v)),
        witnesses=(([1000.0, 1000.0],), ([-1000.0, -1000.0],), ([0.0, -40.0],)),
        domain=((-20.0, 20.0),),
        arg_kinds=("vector",),
    ),
    rule(
        "softmax",
        P.exp(v) / P.sum(P.exp(v), name="s", keepdims=True)
        | P.exp(v) / P.op(DimShuffle, P.sum(P.exp(v), name="s"), name="d"),
        lambda v, s, node, d=None: (
            apply(Softmax(s.op.axes), (v,)) if d is None or _expanded_sum_is(d, s) else None
        ),
        replacement="softmax(v, axes)",
        why="exp overflows (inf/inf is NaN); the max-shifted form does not",
        naive=lambda v: m.exp(v) / r.sum(m.exp(v), axis=-1, keepdims=True),
        exact=lambda mp, v: [mp.exp(t) / mp.fsum(mp.exp(u) for u in v) for t in v],
        witnesses=(([1000.0, 999.0],), ([-1000.0, -1001.0],)),
        domain=((-20.0, 20.0),),
        arg_kinds=("vector",),
    ),
    rule(
        "log_softmax",
        P.log(P.op(Softmax, v, name="s")),
        lambda v, s: apply(LogSoftmax(s.op.axes), (v,)),
        replacement="log_softmax(v, axes)",
        why="softmax underflows to 0 (log gives -inf) where log_softmax is finite",
        naive=lambda v: m.log(_softmax(v)),
        exact=lambda mp, v: [t - mp.log(mp.fsum(mp.exp(u) for u in v)) for t in v],
        witnesses=(([0.0, -800.0],), ([5.0, -760.0],)),
        domain=((-20.0, 20.0),),
        arg_kinds=("vector",),
    ),
]


def _softmax(v: Node) -> Node:
    from ..api.special import softmax

    return softmax(v, axis=-1)
