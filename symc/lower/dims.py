"""Integer extents (:data:`codegen.ir.Dim`) with constant folding, and slice arithmetic.

Shapes, strides and offsets of lowered values are Dims: Python ints when known
while lowering, else ``Shape``/``Stride``/``Value`` leaves combined by ``IOp``.
Folding keeps the generated C free of arithmetic on constants.
"""

from __future__ import annotations

import operator

from codegen.ir import IOp

Dim = object


#: the value of each ``IOp`` on two ints (the kernel computes the same in C)
FOLD = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "floordiv": lambda a, b: a // b if b else 0,
    "max": max,
    "min": min,
    "lt": lambda a, b: int(a < b),
    "bcast": lambda a, b: b if a == 1 else a,
    "bstride": lambda a, b: 0 if a == 1 else b,
}


def _op(name: str, a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return FOLD[name](a, b)
    if name == "add" and b == 0:
        return a
    if name == "add" and a == 0:
        return b
    if name == "sub" and b == 0:
        return a
    if name == "mul":
        if a == 1:
            return b
        if b == 1:
            return a
        if 0 in (a, b) and (isinstance(a, int) or isinstance(b, int)):
            return 0
    if name == "floordiv" and b == 1:
        return a
    if a is b and name in ("max", "min"):
        return a
    return IOp(name, a, b)


def add(a: Dim, b: Dim) -> Dim:
    return _op("add", a, b)


def sub(a: Dim, b: Dim) -> Dim:
    return _op("sub", a, b)


def mul(a: Dim, b: Dim) -> Dim:
    return _op("mul", a, b)


def floordiv(a: Dim, b: Dim) -> Dim:
    return _op("floordiv", a, b)


def dmax(a: Dim, b: Dim) -> Dim:
    return _op("max", a, b)


def dmin(a: Dim, b: Dim) -> Dim:
    return _op("min", a, b)


def lt(a: Dim, b: Dim) -> Dim:
    """1 if ``a < b`` else 0."""
    return _op("lt", a, b)


def prod(dims) -> Dim:
    out: Dim = 1
    for d in dims:
        out = mul(out, d)
    return out


def wrap(k: Dim, n: Dim) -> Dim:
    """Python's negative-index rule: ``k + n`` when ``k < 0``."""
    return add(k, mul(n, lt(k, 0)))


def clamp(v: Dim, lo: Dim, hi: Dim) -> Dim:
    return dmax(lo, dmin(v, hi))


def same(a: Dim, b: Dim) -> bool:
    """True when ``a`` and ``b`` are known to be equal while lowering."""
    return a is b or (isinstance(a, int) and isinstance(b, int) and a == b) or a == b


def select(c: Dim, a: Dim, b: Dim) -> Dim:
    """``a if c else b`` for a 0/1 ``c``."""
    return add(b, mul(c, sub(a, b)))


def slice_dims(start: Dim | None, stop: Dim | None, step: Dim, n: Dim) -> tuple[Dim, Dim]:
    """(first index, length) of ``range(n)[start:stop:step]`` (``step`` nonzero)."""
    if not isinstance(step, int):
        # the sign is known only at run time: compute both rules and pick one
        up_first, _ = _slice_up(start, stop, 1, n)
        dn_first, _ = _slice_down(start, stop, -1, n)
        up_end = n if stop is None else clamp(wrap(stop, n), 0, n)
        dn_end = -1 if stop is None else clamp(wrap(stop, n), -1, sub(n, 1))
        neg = lt(step, 0)
        first = select(neg, dn_first, up_first)
        end = select(neg, dn_end, up_end)
        # ceil((end - first) / step) for either sign, as -((first - end) // step)
        length = dmax(0, sub(0, floordiv(sub(first, end), step)))
        return first, length
    if step > 0:
        return _slice_up(start, stop, step, n)
    return _slice_down(start, stop, step, n)


def _slice_up(start, stop, step: int, n):
    first = 0 if start is None else clamp(wrap(start, n), 0, n)
    end = n if stop is None else clamp(wrap(stop, n), 0, n)
    return first, dmax(0, floordiv(add(sub(end, first), step - 1), step))


def _slice_down(start, stop, step: int, n):
    first = sub(n, 1) if start is None else clamp(wrap(start, n), -1, sub(n, 1))
    end = -1 if stop is None else clamp(wrap(stop, n), -1, sub(n, 1))
    return first, dmax(0, floordiv(add(sub(first, end), -step - 1), -step))
