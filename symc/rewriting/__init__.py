"""Graph rewrites: the pattern language, the fixpoint engine and the optimizer phases.

Public entry points: :func:`optimize` (a list of outputs → rewritten list),
:func:`rewrite` (also ``sc.rewrite``), :func:`stabilize_graph` (for ``grad``),
and ``P``/``rule`` to write new rules. See ``docs/rewrites.md``.
"""

from __future__ import annotations

from .engine import Rewriter
from .pattern import P
from .pipeline import PHASES, all_rules, optimize, rewrite, stabilize_graph
from .registry import Rule, local, rule

__all__ = [
    "PHASES",
    "P",
    "Rewriter",
    "Rule",
    "all_rules",
    "local",
    "optimize",
    "rewrite",
    "rule",
    "stabilize_graph",
]
