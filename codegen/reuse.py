"""Share temporaries whose lifetimes do not overlap (one allocation serves several).

A program's temporaries are live from the first top-level statement that
touches them to the last one (a :class:`~codegen.ir.Repeat` counts as one
statement, so whatever its body touches is live for the whole loop). A
temporary may take over the storage of another of the same dtype and the
same number of elements once that one is dead: strictly after its last use,
so a statement never reads and writes the same memory through two names.
Sizes are symbolic, so "the same number of elements" means the same
multiset of extent expressions (``(n, m)`` and ``(m, n)`` match). The dtype
must match too: reading memory through a pointer of another type would break
C's aliasing rules.

Fewer allocations per call means fewer ``malloc`` lines to compile, less
memory, and for large temporaries fewer fresh pages to fault in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import fields

from codegen.ir import Buffer, Program, _Node


def plan_reuse(program: Program) -> dict:
    """``{temp: storage}``: temporaries that live in another temporary's allocation.

    Every ``storage`` is a temporary that is not itself in the map; temps
    absent from the map own their allocation.
    """
    temps = set(program.temps)
    first: dict = {}
    last: dict = {}
    memo: dict = {}
    for i, stmt in enumerate(program.body):
        for buf in _buffers(stmt, memo):
            if buf in temps:
                first.setdefault(buf, i)
                last[buf] = i
    for buf in _buffers(program.rows, memo):  # read after the last statement
        if buf in temps:
            first.setdefault(buf, len(program.body))
            last[buf] = len(program.body)
    # each slot is an owning temporary; it is free again after ``free_at``
    slots: dict = {}  # size key -> list of [owner, free_at]
    alias: dict = {}
    for buf in sorted(first, key=lambda b: (first[b], program.temps.index(b))):
        key = _size_key(buf)
        for slot in slots.setdefault(key, []):
            if slot[1] < first[buf]:
                alias[buf] = slot[0]
                slot[1] = last[buf]
                break
        else:
            slots[key].append([buf, last[buf]])
    return alias


def buffers_of(obj) -> set:
    """Every buffer a statement (or a view, expression, Dim, or tuple of them) refers to."""
    return _buffers(obj, {})


def _size_key(buf: Buffer) -> tuple:
    return (buf.dtype, frozenset(Counter(buf.shape or ()).items()))


def _buffers(obj, memo: dict) -> set:
    """Every buffer ``obj`` (a statement, view, expression or Dim) refers to."""
    if isinstance(obj, Buffer):
        return {obj}
    if isinstance(obj, tuple):
        out: set = set()
        for item in obj:
            out |= _buffers(item, memo)
        return out
    if not isinstance(obj, _Node):
        return set()
    hit = memo.get(id(obj))
    if hit is None:
        hit = set()
        for f in fields(obj):
            hit |= _buffers(getattr(obj, f.name), memo)
        memo[id(obj)] = hit
    return hit
