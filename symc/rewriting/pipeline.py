"""The optimizer: one explicit, ordered list of phases applied to a graph.

``canonicalize`` (exact identities, constant folding, shape simplifications)
→ ``stabilize`` (numerical-stability repairs, with the canonical rules still
on so their results stay canonical) → ``specialize`` (cheaper spellings) →
``scan`` (loop bodies through this same optimizer, invariant hoisting, unused
and last-state-only results: ``scan_rules``) → ``fuse`` (elementwise regions
into composite ops, loop bodies included).

Rules are excluded by name or tag (``exclude=["log1mexp", "fast_math"]``,
also ``config.exclude_rewrites`` / ``SYMC_FLAGS=exclude_rewrites=a:b``);
naming a phase excludes the whole phase. Rules tagged ``fast_math`` (those
that change some IEEE result) run only when included. Stability rules are
never skipped except by an explicit exclude.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

from ..config import config
from ..gcpause import gc_paused
from ..graph.node import Node
from . import canonicalize, specialize, stabilize
from .engine import Rewriter
from .registry import Rule

PHASES = ("canonicalize", "stabilize", "specialize", "scan", "fuse")


def phase_rules() -> dict[str, list[Rule]]:
    """The rules of each rule-driven phase, in the order they are tried."""
    return {
        "canonicalize": list(canonicalize.RULES),
        "stabilize": [*stabilize.RULES, *canonicalize.RULES],  # canonical rules stay on
        "specialize": list(specialize.RULES),
    }


def all_rules() -> list[Rule]:
    """Every rule once (for the docs and the tests), canonical ones first."""
    from . import scan_rules

    seen: dict[str, Rule] = {}
    for rules in (canonicalize.RULES, stabilize.RULES, specialize.RULES, scan_rules.RULES):
        for r in rules:
            seen.setdefault(r.name, r)
    return list(seen.values())


def _names(xs: Iterable[str] | str | None) -> set[str]:
    if xs is None:
        return set()
    if isinstance(xs, str):
        return {xs}
    return set(xs)


def optimize(
    outputs: Sequence[Node],
    exclude: Iterable[str] = (),
    enabled: bool = True,
    include: Iterable[str] = (),
    phases: Sequence[str] = PHASES,
    trace: bool | None = None,
    stats: dict[str, int] | None = None,
) -> list[Node]:
    """The rewritten graphs of ``outputs`` (a list of nodes, same order).

    Args:
        outputs: the nodes to optimize; nodes are immutable, so a new graph is
            returned (sharing every unchanged subgraph).
        exclude: rule names, tags (``"fast_math"``, ``"stability"``...) or
            phase names to skip, on top of ``config.exclude_rewrites``.
        enabled: False returns ``outputs`` unchanged (debugging, before/after tests).
        include: opt-in rules or tags, e.g. ``["fast_math"]``.
        phases: the phases to run, a subsequence of ``PHASES``.
        trace: print each rule that fires (default ``config.trace_rewrites``).
        stats: a dict that receives how many times each rule fired.

    >>> (g,) = optimize([sc.log(1 + sc.exp(x))])   # softplus(x)
    """
    outs = list(outputs)
    if not enabled:
        return outs
    ex = _names(exclude) | set(config.exclude_rewrites)
    inc = _names(include)
    trace = config.trace_rewrites if trace is None else trace
    with gc_paused():
        return _run(outs, phases, ex, inc, trace, stats)


def _run(outs, phases, ex, inc, trace, stats) -> list[Node]:
    table = phase_rules()
    todo = [p for p in phases if p not in ex]
    if "canonicalize" in todo and "stabilize" in todo:
        # one pass does both: nodes are visited after their inputs reach their
        # fixpoint, so stability patterns always see canonical operands
        todo.remove("canonicalize")
    for phase in todo:
        if phase == "scan":
            if not _loops_exist():
                continue
            from . import scan_rules

            # a loop body gets the phases the graph around it gets (fusion comes later)
            body_phases = tuple(p for p in phases if p != "fuse")
            outs = scan_rules.optimize_loops(outs, ex, inc, trace, stats, body_phases)
            continue
        if phase == "fuse":
            from . import fuse

            if fuse.NAME in ex or fuse.TAGS & ex:
                continue
            before = outs
            if _loops_exist():
                from . import scan_rules

                outs = scan_rules.fuse_bodies(outs, trace)
            outs = fuse.fuse(outs, trace=trace)
            if stats is not None and any(a is not b for a, b in zip(before, outs, strict=True)):
                stats[fuse.NAME] = stats.get(fuse.NAME, 0) + 1
            continue
        rules = [r for r in table[phase] if r.selected(ex, inc)]
        if rules:
            rw = Rewriter(rules, phase, trace)
            outs = rw.run(outs)
            if stats is not None:
                for k, n in rw.fired.items():
                    stats[k] = stats.get(k, 0) + n
    return outs


def _loops_exist() -> bool:
    """Whether any graph can hold a loop: not before the loop op's module was first imported.

    Lets a process that never builds a ``scan`` skip importing the loop rules.
    """
    return "symc.ops.scan" in sys.modules


def stabilize_graph(outputs: Sequence[Node], exclude: Iterable[str] = ()) -> list[Node]:
    """Canonicalize and stabilize (and the scan rules): what ``grad`` applies to a cost first.

    Differentiating the stable form is what makes gradients stable too:
    d/dy log(1 - exp(y)) at y = -1e-20 is -1e20 only if ``log1mexp`` is
    differentiated, not the naive graph. Loops are rewritten too (their
    bodies get these same phases), so a gradient sees ``outs[-1]`` as a final
    carry and never asks for a stacked output nobody stores.
    """
    return optimize(outputs, exclude=exclude, phases=("canonicalize", "stabilize", "scan"))


def rewrite(expr, exclude: Iterable[str] = (), include: Iterable[str] = ()):
    """The graph after the optimizing rewrites (``sc.rewrite``): a node or a list, as given.

    >>> sc.dprint(sc.rewrite(sc.log(1 + sc.exp(x))))
    softplus : float64[]
    └─ x : float64[]
    """
    if isinstance(expr, Node):
        return optimize([expr], exclude=exclude, include=include)[0]
    return optimize(list(expr), exclude=exclude, include=include)
