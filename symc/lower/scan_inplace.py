"""Write a loop's new state straight into the state's buffer when nothing can tell.

A step computes each new carry into a body temporary, and the step's last
statements copy it over the carry (:func:`symc.lower.scan._carry_updates`), so
that statements later in the step still read the old state. When the
statement that computes the new value is the last one to touch the carry and
the temporary is used for nothing but that copy, the statement can write the
carry itself: the copy (a 16x16 matrix per step for an RNN's ``dW``
accumulator in backpropagation through time) disappears.

An elementwise statement may also read the carry it overwrites, as long as
each element is read where it is written (``dW = dW + outer(...)``); a
product or a reduction may not read it at all.
"""

from __future__ import annotations

from dataclasses import fields, replace

from codegen import ir

from . import dims as D


def write_in_place(stmts: list, moves: list, after: set) -> list:
    """``stmts`` (one step) with each possible ``(copy, new, carry)`` move done in place.

    ``moves`` holds the copy statement of a carry update, the Val copied and
    the carry's Val; a move that cannot be done in place is left as it is.
    ``after`` holds the buffers read once the step's statements ran (the
    stop condition): their writes must stay where they are.
    """
    stmts = list(stmts)
    for copy, new, carry in moves:
        if copy not in stmts or new.buffer in after or not _same_layout(new, carry):
            continue
        if new.buffer.role != "temp" or new.buffer.dtype != carry.buffer.dtype:
            continue
        at = stmts.index(copy)
        users = [i for i, s in enumerate(stmts) if i != at and new.buffer in _buffers(s)]
        if len(users) != 1:
            continue
        (k,) = users
        writer = stmts[k]
        if k > at or not _writes_only(writer, new.buffer):
            continue
        if any(carry.buffer in _buffers(s) for i, s in enumerate(stmts) if k < i and i != at):
            continue  # a later statement reads the old state
        if not _reads_safely(writer, new, carry):
            continue
        stmts[k] = _swap(writer, new.buffer, carry.buffer)
        del stmts[at]
    return stmts


def _same_layout(new, carry) -> bool:
    """Whether ``new`` and ``carry`` put each element at the same place.

    Their lengths are equal whenever the loop runs (a check of the
    program's, made by the carry update), so equal strides, or both being
    C-contiguous, and equal offsets are enough.
    """
    if len(new.shape) != len(carry.shape) or not D.same(new.offset, carry.offset):
        return False
    strides = all(D.same(x, y) for x, y in zip(new.strides, carry.strides, strict=True))
    return strides or (new.contiguous and carry.contiguous)


def _writes_only(stmt, buf) -> bool:
    """``stmt`` writes ``buf`` and reads nothing of it."""
    if isinstance(stmt, ir.Elementwise):
        dests = [s.dest for s in stmt.stores if s.dest.buffer is buf]
        plain = all(s.offset is None and not s.accumulate for s in stmt.stores)
        return bool(dests) and plain and all(v.buffer is not buf for v in stmt.operands)
    if isinstance(stmt, ir.Gemm):
        return stmt.c.buffer is buf and stmt.beta == 0 and buf not in _buffers((stmt.a, stmt.b))
    return False


def _reads_safely(stmt, new, carry) -> bool:
    """Whether ``stmt`` may write the carry it reads: elementwise, each element where it lands.

    A read of the carry through the carry's own layout, in a statement that
    stores ``new`` through ``new``'s own layout, reads each element where it
    is then written (the two layouts agree: :func:`_same_layout`).
    """
    if isinstance(stmt, ir.Gemm):
        return carry.buffer not in _buffers((stmt.a, stmt.b))
    dest = next(s.dest for s in stmt.stores if s.dest.buffer is new.buffer)
    if len(stmt.shape) != len(new.shape) or not _is_view(dest, new):
        return False
    reads = [k for k, v in enumerate(stmt.operands) if v.buffer is carry.buffer]
    if any(not _is_view(stmt.operands[k], carry) for k in reads):
        return False
    others = [s for s in stmt.stores if s.dest.buffer is not new.buffer]
    if carry.buffer in _buffers(tuple(o.dest for o in others)):
        return False
    if any(_loads(s, k, gather=True) for k in reads for s in stmt.stores):
        return False  # a gather reads the carry away from where it writes
    # another store of the statement may run after the new value landed
    return not any(_loads(s, k) for k in reads for s in others)


def _is_view(view, val) -> bool:
    """``view`` reads ``val`` through ``val``'s own offset and strides."""
    return D.same(view.offset, val.offset) and all(
        D.same(x, y) for x, y in zip(view.strides, val.strides, strict=True)
    )


def _loads(store, operand: int, gather: bool = False) -> bool:
    """Whether ``store`` loads ``operand`` (with ``gather``: away from the current element)."""
    stack = [store.value, store.offset]
    while stack:
        e = stack.pop()
        if isinstance(e, ir.Load) and e.operand == operand and (e.offset is not None or not gather):
            return True
        if isinstance(e, ir._Node):
            stack.extend(getattr(e, f.name) for f in fields(e))
        elif isinstance(e, tuple):
            stack.extend(e)
    return False


def _swap(stmt, old, new):
    """``stmt`` with every view of buffer ``old`` looking at ``new`` instead (same layout)."""
    if isinstance(stmt, ir.View):
        return replace(stmt, buffer=new) if stmt.buffer is old else stmt
    if isinstance(stmt, tuple):
        return tuple(_swap(x, old, new) for x in stmt)
    if isinstance(stmt, (ir.Store, ir.Elementwise, ir.Gemm)):
        return replace(
            stmt, **{f.name: _swap(getattr(stmt, f.name), old, new) for f in fields(stmt)}
        )
    return stmt


def _buffers(obj) -> set:
    from codegen.reuse import buffers_of

    return buffers_of(obj)
