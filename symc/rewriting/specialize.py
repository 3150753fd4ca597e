"""Specialization: cheaper spellings of canonical forms, for the back ends.

Runs after stabilization (whose patterns expect the canonical spellings, e.g.
``x*x`` rather than ``square(x)``). Every rule is exact.
"""

from __future__ import annotations

from ..api import math as m
from .pattern import P
from .registry import rule

x = P.x

# no constant folding here: the stabilize pass folded everything, and these
# rules create no constant subexpressions
RULES = [
    rule(
        "mul_self_to_square",
        x * x,
        lambda x: m.square(x),
        replacement="square(x)",
        why="one operand load; square(x) is the same correctly rounded product",
    ),
    rule(
        "mul_minus_one_to_neg",
        x * -1,
        lambda x: -x,
        replacement="-x",
        why="a sign flip instead of a multiplication; exact",
    ),
    rule(
        "neg_zero_minus_to_neg",
        P.const(-0.0) - x,
        lambda x: -x,
        replacement="-x",
        why="(-0) - x == -x for every x, zeros included",
    ),
]
