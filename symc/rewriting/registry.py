"""Named rewrite rules, and the ``rule(...)`` helper that builds one from a pattern.

A rule is node-local: given a node (whose inputs are already rewritten), it
returns a replacement node or ``None``. Pattern rules read like the math;
rules that patterns cannot say are plain functions (``local``). Rules carry
tags (for excluding, never for ordering) and, for stability rules, their
evidence: ``witnesses`` where the naive form loses digits, a ``domain`` where
both must agree, the ``naive`` form as a graph builder and the ``exact``
function for mpmath. The test suite generates its checks from these fields.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import field
from typing import Any

from ..graph.node import Node
from ..graph.record import record
from .pattern import Pattern

_VARARGS, _VARKEYWORDS = inspect.CO_VARARGS, inspect.CO_VARKEYWORDS


@record(frozen=False, eq=False)
class Rule:
    """One named rewrite: ``fn(node) -> Node | None`` for nodes whose op key is in ``keys``."""

    name: str
    fn: Callable[[Node], Node | None]
    keys: frozenset | None = None  # None: tried on every non-leaf node
    tags: frozenset = frozenset()
    pattern: object = ""  # what it matches, as the docs show it: text, or a Pattern (its str)
    replacement: str = ""
    why: str = ""
    # evidence for stability rules (see symc/rewriting/stabilize.py)
    naive: Callable[..., Node] | None = None
    exact: Callable[..., Any] | None = None
    witnesses: tuple = ()
    witnesses32: tuple = ()  # float32 ones, where float64's do not fit in float32
    domain: tuple = ()  # one (low, high) interval per argument
    arg_kinds: tuple = ()  # "scalar" per argument, or "vector" for reductions

    def __call__(self, node: Node) -> Node | None:
        return self.fn(node)

    def selected(self, exclude: Iterable[str], include: Iterable[str] = ()) -> bool:
        """Whether this rule runs given excluded and opted-in names/tags."""
        ex = set(exclude)
        if self.name in ex or self.tags & ex:
            return False
        if "fast_math" in self.tags:
            inc = set(include)
            return self.name in inc or "fast_math" in inc
        return True


def rule(
    name: str,
    pattern: Pattern,
    rewrite: Callable[..., Node | None],
    *,
    when: Callable[..., bool] | None = None,
    tags: Iterable[str] = (),
    replacement: str = "",
    why: str = "",
    **evidence: Any,
) -> Rule:
    """A rule from a pattern and a replacement builder taking the bound variables.

    ``rewrite`` and ``when`` receive the bindings their parameters name (and
    ``node``, the matched node, if they ask for it); ``rewrite`` may return
    ``None`` to decline.

    >>> rule("log1p_from_log", P.log(1 + P.x.float()), lambda x: log1p(x))
    """
    rw_params = _wanted(rewrite)
    when_params = _wanted(when) if when is not None else None

    quick = pattern.quick

    def fn(node: Node) -> Node | None:
        if not quick(node):
            return None
        for b in pattern.match(node, {}):
            b = {**b, "node": node}
            if when is not None and not when(**_pick(b, when_params)):
                continue
            out = rewrite(**_pick(b, rw_params))
            if out is not None:
                return out
        return None

    return Rule(
        name,
        fn,
        pattern.keys(),
        frozenset(tags),
        pattern=pattern,  # spelled out only when the docs ask (most processes never do)
        replacement=replacement,
        why=why,
        **evidence,
    )


def local(
    name: str, keys: Iterable[str] | None, tags: Iterable[str] = (), **info: Any
) -> Callable[[Callable[[Node], Node | None]], Rule]:
    """Make a node-local function into a rule (for what patterns cannot say)."""

    def wrap(fn: Callable[[Node], Node | None]) -> Rule:
        return Rule(name, fn, None if keys is None else frozenset(keys), frozenset(tags), **info)

    return wrap


def _wanted(f: Callable) -> tuple[str, ...] | None:
    """The parameter names ``f`` takes (None: it takes ``**kwargs``, so all of them)."""
    code = getattr(f, "__code__", None)
    plain = type(f).__name__ == "function" and code is not None
    if plain and not hasattr(f, "__wrapped__") and not hasattr(f, "__signature__"):
        # a plain function or lambda (every rule in symc): its code object says
        # what inspect.signature says, without building a Signature per rule
        if code.co_flags & _VARKEYWORDS:
            return None
        pos, kw = code.co_argcount, code.co_kwonlyargcount
        names = code.co_varnames
        star = (names[pos + kw],) if code.co_flags & _VARARGS else ()
        return names[:pos] + star + names[pos : pos + kw]
    params = inspect.signature(f).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params)


def _pick(b: dict, names: tuple[str, ...] | None) -> dict:
    if names is None:
        return b
    return {k: b[k] for k in names if k in b}


@record(frozen=False)
class Phase:
    """One named step of the pipeline: the rules it applies to a fixpoint."""

    name: str
    rules: list[Rule] = field(default_factory=list)
