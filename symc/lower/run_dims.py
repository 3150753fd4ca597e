"""Lengths known only while the program runs: the rows of a scan that stops with ``until``.

Such a length is a run-time :class:`codegen.ir.Value` of the 0-d int64 buffer
a loop's :class:`~codegen.ir.Repeat` writes its step count to. Every one has
an upper bound computable before the program runs (the loop's ``n_steps``),
recorded per lowering in ``ctx.loops["bounds"]``:

* buffers are allocated at the bound (:func:`sized_buffer`), while the values
  the lowering passes around keep the run-time length, so statements after
  the loop touch only the rows that ran;
* an output so allocated reports its rows to the caller
  (``ctx.loops["rows"]``, which becomes :attr:`codegen.ir.Program.rows`);
* a requirement on such a length is checked where it is needed (a
  :class:`~codegen.ir.Guard`), not before the program runs.

Only axis 0 may have a run-time length: the rows of an output, not a ragged
stack of them.
"""

from __future__ import annotations

from codegen import ir

from . import dims as D


def run_time(d) -> bool:
    """Whether the Dim ``d`` reads a value the program computes while it runs."""
    if isinstance(d, ir.Value):
        return d.buffer.role != "input"
    if isinstance(d, ir.IOp):
        return run_time(d.a) or run_time(d.b)
    return False


def upper(ctx, d):
    """A Dim computable before the program runs that is >= ``d`` on every run, or None."""
    if not run_time(d):
        return d
    if isinstance(d, ir.Value):
        return ctx.loops.get("bounds", {}).get(d.buffer)
    a, b = upper(ctx, d.a), upper(ctx, d.b)
    if d.op == "lt":
        return 1
    if a is None or b is None:
        return None
    if d.op in ("add", "max", "min"):  # non-decreasing in both arguments
        return D._op(d.op, a, b)
    if d.op == "bcast":  # one of the two (or a failed call)
        return D.dmax(a, b)
    if d.op == "mul" and not any(isinstance(x, int) and x < 0 for x in (d.a, d.b)):
        return D.mul(a, b)  # extents: non-negative factors
    if d.op == "sub" and not run_time(d.b):
        return D.sub(a, d.b)
    if d.op == "floordiv" and isinstance(d.b, int) and d.b > 0:
        return D.floordiv(a, d.b)
    return None


def storage_shape(ctx, shape: tuple) -> tuple:
    """The shape to allocate for values of ``shape``: a run-time axis 0 at its bound."""
    if not any(run_time(d) for d in shape):
        return shape
    for a, d in enumerate(shape[1:], start=1):
        if run_time(d):
            raise ctx.error(
                f"the C backend cannot hold an array whose length on axis {a} is known only "
                f"while the program runs (rows of a scan with until, stacked or moved off "
                f"axis 0); use backend='python' for this function."
            )
    bound = upper(ctx, shape[0])
    if bound is None:
        raise ctx.error(
            "the C backend cannot bound a length computed from the number of steps a scan "
            "with until ran; use backend='python' for this function."
        )
    return (bound, *shape[1:])


def sized_buffer(ctx, name: str, dtype: str, shape: tuple, role: str) -> ir.Buffer:
    """A new ``role`` buffer holding values of ``shape`` (see :func:`storage_shape`)."""
    if not ctx.loops.get("bounds"):
        return ir.Buffer(name, dtype, len(shape), role, shape)
    size = storage_shape(ctx, shape)
    buf = ir.Buffer(name, dtype, len(shape), role, size)
    if role == "output" and size is not shape:
        ctx.loops.setdefault("rows", {})[buf] = shape[0]
    return buf
