"""Print scalar expression DAGs as C99: literals, precedence, float32 spellings, helpers.

:class:`ScalarPrinter` renders the roots of a DAG into a few ``const``
definitions (for nodes used more than once) and one C expression per root.
Parentheses follow C precedence (numbers as in :mod:`codegen.scalar_fns`,
lower binds tighter). Helper functions a rendering needs are collected in
``printer.helpers`` so the emitter can include exactly those.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from codegen import scalar_fns, templates
from codegen.errors import IRError
from codegen.ir import DTYPES, Call, Cast, Const, Extent, Index, Load, Select

ATOM = 0
CAST_PREC = 2
TERNARY = 13
_NARROW_WRAP = {"+", "-", "*", "~"}


def c_type(dtype: str) -> str:
    """The C type of ``dtype``; raise IRError for unknown dtypes."""
    try:
        return DTYPES[dtype][0]
    except KeyError:
        raise IRError(f"unknown dtype {dtype!r}.") from None


def literal(value: object, dtype: str) -> str:
    """A C literal that denotes exactly ``value`` converted to ``dtype``.

    Floats round-trip (shortest ``repr``; float32 values get an ``f``
    suffix); infinities and NaN use ``INFINITY``/``NAN``; negative values are
    parenthesized so they can follow any operator.

    >>> literal(1.5, "float32"), literal(-0.0, "float64"), literal(float("inf"), "float64")
    ('1.5f', '(-0.0)', '((double)INFINITY)')
    """
    ctype, size, kind = DTYPES[dtype]
    if kind == "b":
        return "1" if value else "0"
    if kind in "iu":
        v = int(value)
        bits = 8 * size
        lo, hi = (0, 2**bits - 1) if kind == "u" else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        if not lo <= v <= hi:
            raise IRError(f"integer constant {v} does not fit in {dtype}.")
        if v == lo and kind == "i":
            return f"(({ctype})(-{hi}LL - 1))"
        suffix = "ULL" if kind == "u" else "LL"
        return f"(({ctype}){v}{suffix})" if v >= 0 else f"(({ctype})({v}LL))"
    v = float(value)
    f32 = dtype == "float32"
    if math.isnan(v):
        text = "NAN" if f32 else "((double)NAN)"
        return f"(-{text})" if math.copysign(1.0, v) < 0 else text
    if math.isinf(v):
        text = "INFINITY" if f32 else "((double)INFINITY)"
        return f"(-{text})" if v < 0 else text
    if f32:
        import numpy as np

        text = str(np.float32(v)) + "f"
    else:
        text = repr(v)
    return f"({text})" if text.startswith("-") else text


class ScalarPrinter:
    """Renders scalar DAGs; remembers which helper sections they need.

    Args:
        vector_math: when true, libm calls stay plain calls, which the emitter
            declares with ``simd`` attributes (libmvec) so loops vectorize.
    """

    def __init__(self) -> None:
        self.helpers: dict = {}  # (section, dtype) -> None, an ordered set
        self.libm: dict = {}  # (C name, dtype) -> None: libm functions used
        self._count = 0
        #: renders a Dim as C (set by the emitter; needed by Extent nodes)
        self.dim_text: Callable | None = None

    def need(self, section: str, dtype: str | None) -> str:
        """Record that ``section`` is needed for ``dtype``; return its C name."""
        self.helpers[(section, dtype)] = None
        return templates.helper_name(section, dtype) if dtype else f"symc_{section}"

    def block(
        self,
        roots: list,
        load: Callable[[int], str],
        index: Callable[[int], str] | None = None,
        given: dict | None = None,
    ) -> tuple[list, list]:
        """Render ``roots``; return (definition lines, one C expression per root).

        ``load(k)`` gives the C expression for the current element of operand
        ``k``, and ``load(k, off)`` that element moved by the C expression ``off``;
        ``index(axis)`` the loop index along ``axis``. ``given`` maps nodes
        already computed (hoisted out of a loop) to the C names holding them.
        """
        given = given or {}
        order, uses = _topo(roots, given)
        done: dict = {}
        lines: list = []
        for node in order:
            if node in given:
                done[node] = (given[node], ATOM)
                continue
            text, prec = self._node(node, done, load, index)
            if uses[node] > 1 and not isinstance(node, (Const, Index)):
                self._count += 1
                name = f"v{self._count}"
                lines.append(f"const {c_type(node.dtype)} {name} = {text};")
                text, prec = name, ATOM
            done[node] = (text, prec)
        return lines, [done[r][0] for r in roots]

    # -- one node ---------------------------------------------------------

    def _node(self, node, done, load, index) -> tuple[str, int]:
        if isinstance(node, Const):
            return literal(node.value, node.dtype), ATOM
        if isinstance(node, Load):
            if node.offset is None:
                return load(node.operand), ATOM
            return load(node.operand, done[node.offset][0]), ATOM
        if isinstance(node, Extent):
            if self.dim_text is None:
                raise IRError("Extent needs an emitter to render its Dim.")
            return self.dim_text(node.dim), ATOM
        if isinstance(node, Index):
            if index is None:
                raise IRError("Index is not available in this statement.")
            return index(node.axis), ATOM
        if isinstance(node, Cast):
            text, prec = done[node.x]
            if node.x.dtype == node.dtype:
                return text, prec
            return f"({c_type(node.dtype)}){_wrap(text, prec, CAST_PREC - 1)}", CAST_PREC
        if isinstance(node, Select):
            if node.cond.dtype != "bool" or node.a.dtype != node.b.dtype:
                raise IRError("Select needs a bool condition and branches of one dtype.")
            c, a, b = done[node.cond], done[node.a], done[node.b]
            return f"{_wrap(*c, TERNARY - 1)} ? {a[0]} : {_wrap(*b, TERNARY)}", TERNARY
        if isinstance(node, Call):
            return self._call(node, [done[a] for a in node.args])
        raise IRError(f"not a scalar expression: {node!r}")

    def _call(self, node: Call, args: list) -> tuple[str, int]:
        arg_dtype = node.args[0].dtype
        out_dtype = node.dtype  # validates arity and dtypes
        form, *rest = scalar_fns.lookup(node.fn, arg_dtype)
        narrow = DTYPES[out_dtype][1] < 4 and out_dtype != "bool"
        if form == "infix":
            token, prec = rest
            (lt, lp), (rt, rp) = args
            text = f"{_wrap(lt, lp, prec)} {token} {_wrap(rt, rp, prec - 1)}"
            if narrow and token in _NARROW_WRAP:
                return f"({c_type(out_dtype)})({text})", CAST_PREC
            return text, prec
        if form == "prefix":
            token, prec = rest
            text = f"{token}{_wrap(*args[0], prec - 1)}"
            if narrow and token in _NARROW_WRAP:
                return f"({c_type(out_dtype)})({text})", CAST_PREC
            return text, prec
        joined = ", ".join(a[0] for a in args)
        if form == "libm":
            name = rest[0] + ("f" if arg_dtype == "float32" else "")
            self.libm[(rest[0], arg_dtype)] = None
            return f"{name}({joined})", ATOM
        if form == "generic":
            return f"{rest[0]}({joined})", ATOM
        if form == "helper":
            return f"{self.need(rest[0], arg_dtype)}({joined})", ATOM
        if form == "identity":
            return args[0]
        if form == "const":
            return literal(rest[0], out_dtype), ATOM
        raise IRError(f"unknown spelling {form!r} for {node.fn}.")


def _wrap(text: str, prec: int, limit: int) -> str:
    """Parenthesize ``text`` when it binds looser than ``limit`` allows."""
    return f"({text})" if prec > limit else text


def _children(node) -> tuple:
    if isinstance(node, Load):
        return () if node.offset is None else (node.offset,)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Cast):
        return (node.x,)
    if isinstance(node, Select):
        return (node.cond, node.a, node.b)
    return ()


def _topo(roots: list, stop=()) -> tuple[list, dict]:
    """Post-order of the DAG under ``roots`` (iterative: graphs may be deep) and use counts.

    Nodes in ``stop`` are visited but not entered (their children are not listed).
    """
    order: list = []
    seen: set = set()
    for root in roots:
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            if node not in stop:
                stack.extend((c, False) for c in reversed(_children(node)) if c not in seen)
    uses = dict.fromkeys(order, 0)
    for root in roots:
        uses[root] += 1
    for node in order:
        if node not in stop:
            for child in _children(node):
                uses[child] += 1
    return order, uses


def store_lines(stores: tuple, exprs: list, moved: list, nops: int, at) -> list:
    """The C assignments of an elementwise statement's ``stores``.

    ``exprs`` holds each store's value, then the offsets of the ``moved``
    stores (scatters); ``at(operand, offset)`` writes an operand's lvalue.
    """
    offs = dict(zip(map(id, moved), exprs[len(stores) :], strict=True))
    out = []
    for j, s in enumerate(stores):
        op = "+=" if s.accumulate else "="
        out.append(f"{at(nops + j, offs.get(id(s)))} {op} {exprs[j]};")
    return out
