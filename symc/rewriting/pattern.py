"""A small pattern language over graphs that reads like the math it matches.

``P.log(1 + P.exp(P.x))`` is a pattern: ``P.log`` and ``P.exp`` match
elementwise ops of the scalar table, ``P.x`` is a variable that binds any node
(the same name must bind the same node everywhere in a pattern), and the
Python number ``1`` matches a constant whose every element is 1. ``+``, ``*``
and the other commutative functions match their operands in either order.
``a | b`` is an alternative, ``pat.where(pred)`` adds a constraint on the
matched node, and ``P.x.float()`` constrains a variable to floating dtypes.

Matching yields binding dictionaries (several when commutative operands or
alternatives allow several readings), so a rule can check a condition and
fall back to the next reading.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..graph.node import Node
from ..ops.elemwise import Cast, Elemwise
from ..ops.leaves import Constant
from ..ops.reduce import Reduce
from ..ops.scalar_table import ROWS

Bindings = dict[str, Node]

#: binary functions whose two operands may be swapped without changing any result
COMMUTATIVE = frozenset(
    "add mul maximum minimum logaddexp hypot eq ne logical_and logical_or logical_xor".split()
)


def op_key(op: Any) -> str:
    """The dispatch key of an op: the row name of an elementwise op, else the class name."""
    cls = type(op)
    if cls is Elemwise:
        return op.fn
    return cls.__name__


class Pattern:
    """Base class: ``match(node, bindings)`` yields extended bindings."""

    def quick(self, node: Node) -> bool:
        """A cheap necessary condition for a match at ``node`` (default: none)."""
        return True

    def match(self, node: Node, b: Bindings) -> Iterator[Bindings]:
        raise NotImplementedError

    def keys(self) -> frozenset | None:
        """The op keys a matching root node can have (None: any)."""
        return None

    def where(self, pred: Callable[[Node], bool]) -> Pattern:
        """This pattern, matching only nodes for which ``pred(node)`` holds."""
        return Where(self, pred)

    def __or__(self, other: Any) -> Pattern:
        return Alt(self, as_pattern(other))

    def __ror__(self, other: Any) -> Pattern:
        return Alt(as_pattern(other), self)

    # arithmetic builds op patterns, so patterns are written as formulas
    def __add__(self, o):
        return OpPat("add", (self, as_pattern(o)))

    def __radd__(self, o):
        return OpPat("add", (as_pattern(o), self))

    def __sub__(self, o):
        return OpPat("sub", (self, as_pattern(o)))

    def __rsub__(self, o):
        return OpPat("sub", (as_pattern(o), self))

    def __mul__(self, o):
        return OpPat("mul", (self, as_pattern(o)))

    def __rmul__(self, o):
        return OpPat("mul", (as_pattern(o), self))

    def __truediv__(self, o):
        return OpPat("truediv", (self, as_pattern(o)))

    def __rtruediv__(self, o):
        return OpPat("truediv", (as_pattern(o), self))

    def __pow__(self, o):
        return OpPat("pow", (self, as_pattern(o)))

    def __neg__(self):
        return OpPat("neg", (self,))


def as_pattern(x: Any) -> Pattern:
    if isinstance(x, Pattern):
        return x
    if isinstance(x, (bool, int, float)):
        return Const(x)
    raise TypeError(f"cannot use {x!r} in a pattern")


class Var(Pattern):
    """Binds any node (satisfying ``pred``) under ``name``."""

    def __init__(self, name: str, pred: Callable[[Node], bool] | None = None):
        self.name = name
        self.pred = pred

    def match(self, node, b):
        bound = b.get(self.name)
        if bound is not None:
            if bound is node:
                yield b
            return
        if self.pred is None or self.pred(node):
            yield {**b, self.name: node}

    def float(self) -> Var:
        """This variable, restricted to floating dtypes."""
        return Var(self.name, lambda n: n.type.dtype in ("float16", "float32", "float64"))

    def __repr__(self) -> str:
        return self.name


class Const(Pattern):
    """A constant whose every element equals ``value`` (zeros must also match in sign).

    ``value`` may instead be a predicate on the constant's array. ``name``
    binds the constant node.
    """

    def __init__(self, value: Any, name: str | None = None):
        self.value = value
        self.name = name

    def test(self, arr: np.ndarray) -> bool:
        if callable(self.value):
            return bool(self.value(arr))
        if arr.size == 1:  # the common case, in plain Python: NumPy calls cost more
            got = arr.item()
            if got != self.value:
                return False
            return (
                got != 0
                or not isinstance(got, float)
                or (math.copysign(1.0, got) == math.copysign(1.0, self.value))
            )
        if arr.size == 0:
            return False
        v = self.value
        with np.errstate(all="ignore"):
            if not np.all(arr == v):
                return False
        if v == 0 and arr.dtype.kind == "f":
            return bool(np.all(np.signbit(arr) == np.signbit(float(v))))
        return True

    def match(self, node, b):
        if not isinstance(node.op, Constant) or not self.test(node.op.value):
            return
        if self.name is None:
            yield b
        elif self.name not in b:
            yield {**b, self.name: node}
        elif b[self.name] is node:
            yield b

    def __repr__(self) -> str:
        return "c" if callable(self.value) else repr(self.value)


class OpPat(Pattern):
    """An op applied to sub-patterns; ``params`` constrain the op's fields.

    ``key`` is a scalar-table row name or an op class name (see :func:`op_key`);
    ``name`` binds the matched node itself (to read its parameters).
    """

    def __init__(self, key: str, args: tuple, params: dict | None = None, name: str | None = None):
        self.key = key
        self.args = tuple(as_pattern(a) for a in args)
        self.params = params or {}
        self.name = name

    def keys(self):
        return frozenset([self.key])

    def quick(self, node: Node) -> bool:
        """A cheap necessary condition: the root's operands have the right kinds.

        Saves building generators for the many nodes a rule is tried on and
        does not match (rules are tried on every node of their op).
        """
        ins = node.inputs
        if len(ins) != len(self.args):
            return False
        if self._quick_order(ins):
            return True
        return self.key in COMMUTATIVE and self._quick_order(ins[::-1])

    def _quick_order(self, ins: tuple) -> bool:
        seen: dict[str, Node] | None = None
        for p, n in zip(self.args, ins, strict=True):
            t = type(p)
            if t is OpPat:
                if not n.inputs or op_key(n.op) != p.key:
                    return False
            elif t is Const:
                if type(n.op) is not Constant or not p.test(n.op.value):
                    return False
            elif t is Var:  # x * x: both operands must be one node
                if seen is None:
                    seen = {}
                if seen.setdefault(p.name, n) is not n:
                    return False
        return True

    def _params_ok(self, op) -> bool:
        for k, want in self.params.items():
            got = getattr(op, k)
            if callable(want) and not isinstance(want, type):
                if not want(got):
                    return False
            elif got != want:
                return False
        return True

    def match(self, node, b):
        if node.inputs == () or op_key(node.op) != self.key or len(node.inputs) != len(self.args):
            return
        if not self._params_ok(node.op):
            return
        if self.name is not None:
            if self.name in b and b[self.name] is not node:
                return
            b = {**b, self.name: node}
        orders = [node.inputs]
        if self.key in COMMUTATIVE and node.inputs[0] is not node.inputs[1]:
            orders.append(node.inputs[::-1])
        for ins in orders:
            yield from _match_all(self.args, ins, b)

    def __repr__(self) -> str:
        infix = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "pow": "**"}
        if self.key in infix:
            return f"({self.args[0]!r} {infix[self.key]} {self.args[1]!r})"
        if self.key == "neg":
            return f"-{self.args[0]!r}"
        name = self.params.get("kind", self.key) if self.key == "Reduce" else self.key
        return f"{name}({', '.join(map(repr, self.args))})"


def _match_all(pats: tuple, nodes: tuple, b: Bindings) -> Iterator[Bindings]:
    if not pats:
        yield b
        return
    for b1 in pats[0].match(nodes[0], b):
        yield from _match_all(pats[1:], nodes[1:], b1)


class Alt(Pattern):
    """Either pattern (the first one's readings come first)."""

    def __init__(self, *alts: Pattern):
        self.alts = alts

    def keys(self):
        out: set = set()
        for a in self.alts:
            k = a.keys()
            if k is None:
                return None
            out |= k
        return frozenset(out)

    def quick(self, node):
        return any(a.quick(node) for a in self.alts)

    def match(self, node, b):
        for a in self.alts:
            yield from a.match(node, b)

    def __repr__(self) -> str:
        return " | ".join(map(repr, self.alts))


class Where(Pattern):
    def __init__(self, pat: Pattern, pred: Callable[[Node], bool]):
        self.pat = pat
        self.pred = pred

    def keys(self):
        return self.pat.keys()

    def quick(self, node):
        return self.pat.quick(node)

    def match(self, node, b):
        if self.pred(node):
            yield from self.pat.match(node, b)

    def __repr__(self) -> str:
        return repr(self.pat)


class _Namespace:
    """``P``: ``P.log(...)`` (table rows), ``P.sum(...)`` (reductions), ``P.x`` (variables)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in ROWS:
            return lambda *args, name_=None: OpPat(name, args, name=name_)
        if name in ("sum", "prod", "max", "min"):
            kind = name
            return lambda x, name=None, **params: OpPat(
                "Reduce", (x,), {"kind": kind, **params}, name=name
            )
        return Var(name)

    @staticmethod
    def const(value: Any, name: str | None = None) -> Const:
        """A constant equal to ``value`` everywhere, or satisfying ``value(array)``."""
        return Const(value, name)

    @staticmethod
    def op(cls: type, *args: Any, name: str | None = None, **params: Any) -> OpPat:
        """Any op class applied to ``args``, with field constraints ``params``."""
        return OpPat(cls.__name__, args, params, name=name)

    @staticmethod
    def cast(x: Any, name: str | None = None, **params: Any) -> OpPat:
        return OpPat(Cast.__name__, (x,), params, name=name)

    @staticmethod
    def reduce(x: Any, name: str | None = None, **params: Any) -> OpPat:
        return OpPat(Reduce.__name__, (x,), params, name=name)


#: the pattern namespace: ``P.log(1 + P.x)``
P = _Namespace()
