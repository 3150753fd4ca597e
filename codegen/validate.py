"""Structural checks on a kernel IR program, run before rendering."""

from __future__ import annotations

from codegen.errors import IRError
from codegen.ir import (
    DTYPES,
    REDUCE_OPS,
    Buffer,
    Counter,
    Elementwise,
    Extent,
    Gemm,
    Guard,
    IOp,
    Load,
    Program,
    Reduce,
    Repeat,
    Shape,
    Stride,
    Value,
    View,
)
from codegen.printer import _topo


def validate(program: Program) -> None:
    """Raise :class:`IRError` naming the first problem found in ``program``."""
    names: set = set()
    for role, bufs in (
        ("input", program.inputs),
        ("output", program.outputs),
        ("temp", program.temps),
    ):
        for buf in bufs:
            if not isinstance(buf, Buffer) or buf.role != role:
                raise IRError(f"{buf!r} is listed as an {role} but has role {buf.role!r}.")
            if buf.dtype not in DTYPES:
                raise IRError(f"buffer {buf.name!r} has unknown dtype {buf.dtype!r}.")
            if buf.name in names:
                raise IRError(f"two buffers are named {buf.name!r}.")
            names.add(buf.name)
            if role == "input":
                if buf.shape is not None:
                    raise IRError(f"input {buf.name!r} must not declare a shape.")
            elif buf.shape is None or len(buf.shape) != buf.ndim:
                raise IRError(f"{role} {buf.name!r} needs a shape of {buf.ndim} Dims.")
    known = set(program.buffers)
    for buf in program.outputs + program.temps:
        for d in buf.shape:
            _check_dim(d, known, allow_strides=False, run_time=False)
    for check in program.checks:
        _check_dim(check.a, known, False, False)
        _check_dim(check.b, known, False, False)
    for stmt in program.body:
        _check_stmt(stmt, known)
    _check_rows(program, known)


def _check_rows(program: Program, known: set) -> None:
    seen: set = set()
    for entry in program.rows:
        if not (isinstance(entry, tuple) and len(entry) == 2):
            raise IRError(f"Program.rows holds (output, count) pairs, not {entry!r}.")
        buf, count = entry
        if buf not in program.outputs or buf.ndim < 1:
            raise IRError(f"rows: {getattr(buf, 'name', buf)!r} is not an output with an axis 0.")
        if buf in seen:
            raise IRError(f"rows: output {buf.name!r} is listed twice.")
        seen.add(buf)
        _check_dim(count, known, allow_strides=False)


def _check_dim(d, known: set, allow_strides: bool = True, run_time: bool = True) -> None:
    if isinstance(d, bool) or not isinstance(d, (int, Shape, Stride, IOp, Value, Counter)):
        raise IRError(f"{d!r} is not a Dim (int, Shape, Stride, IOp, Value or Counter).")
    if isinstance(d, Counter) and d not in known:
        # ``known`` holds the counters of the enclosing loops, never in shapes or checks
        raise IRError(f"Counter({d.var}) is used outside a Repeat with var {d.var}.")
    if isinstance(d, Value):
        b = d.buffer
        if b not in known or b.ndim != 0 or DTYPES[b.dtype][2] not in "iu":
            raise IRError(f"a Value Dim needs a 0-d integer buffer, not {b.name!r}.")
        if b.role != "input" and not run_time:
            raise IRError(
                f"buffer shapes and checks are computed before the program runs; they cannot "
                f"read {b.name!r}, which the program writes."
            )
    if isinstance(d, (Shape, Stride)):
        if d.buffer not in known:
            raise IRError(f"a Dim refers to buffer {d.buffer.name!r}, not in the program.")
        if not 0 <= d.axis < d.buffer.ndim:
            raise IRError(f"axis {d.axis} is out of range for {d.buffer.name!r}.")
        if isinstance(d, Stride) and not allow_strides:
            raise IRError("shapes and checks may not depend on strides.")
    if isinstance(d, IOp):
        _check_dim(d.a, known, allow_strides, run_time)
        _check_dim(d.b, known, allow_strides, run_time)


def _check_view(view: View, ndim: int, known: set, writable: bool) -> None:
    if view.buffer not in known:
        raise IRError(f"a view refers to buffer {view.buffer.name!r}, not in the program.")
    if len(view.strides) != ndim:
        raise IRError(
            f"a view of {view.buffer.name!r} has {len(view.strides)} strides, "
            f"the statement has {ndim} axes."
        )
    if writable and view.buffer.role == "input":
        raise IRError(f"input {view.buffer.name!r} cannot be written.")
    for d in (*view.strides, view.offset):
        _check_dim(d, known)


def _check_value(roots: list, operands: tuple, known: set | None = None) -> None:
    for node in _topo(roots)[0]:
        if isinstance(node, Extent) and known is not None:
            _check_dim(node.dim, known)
        if isinstance(node, Load):
            if not 0 <= node.operand < len(operands):
                raise IRError(f"Load of operand {node.operand}; there are {len(operands)}.")
            if node.offset is not None and node.offset.dtype != "int64":
                raise IRError(f"the offset of a Load of operand {node.operand} must be int64.")
            if node.dtype != operands[node.operand].buffer.dtype:
                raise IRError(
                    f"Load of operand {node.operand} says {node.dtype}, the "
                    f"buffer is {operands[node.operand].buffer.dtype}."
                )
        node.dtype  # noqa: B018 - computing the dtype validates calls


def _check_stmt(stmt, known: set) -> None:
    if isinstance(stmt, Elementwise):
        nd = len(stmt.shape)
        for d in stmt.shape:
            _check_dim(d, known)
        for v in stmt.operands:
            _check_view(v, nd, known, False)
        for st in stmt.stores:
            _check_view(st.dest, nd, known, True)
            if st.value.dtype != st.dest.buffer.dtype:
                raise IRError(
                    f"storing {st.value.dtype} into {st.dest.buffer.dtype} buffer "
                    f"{st.dest.buffer.name!r}; insert a Cast."
                )
            if st.offset is not None and st.offset.dtype != "int64":
                raise IRError("a Store's offset must be int64.")
        roots = [s.value for s in stmt.stores] + [s.offset for s in stmt.stores if s.offset]
        _check_value(roots, stmt.operands, known)
    elif isinstance(stmt, Reduce):
        nd = len(stmt.shape)
        if stmt.op not in REDUCE_OPS:
            raise IRError(f"unknown reduction {stmt.op!r}.")
        if len(set(stmt.axes)) != len(stmt.axes) or not all(0 <= a < nd for a in stmt.axes):
            raise IRError(f"reduction axes {stmt.axes} are invalid for {nd} axes.")
        for v in stmt.operands:
            _check_view(v, nd, known, False)
        _check_view(stmt.dest, nd, known, True)
        _check_value([stmt.value], stmt.operands, known)
        if stmt.op.startswith("arg") and stmt.dest.buffer.dtype != "int64":
            raise IRError(f"{stmt.op} stores int64, not {stmt.dest.buffer.dtype}.")
    elif isinstance(stmt, Gemm):
        dt = {stmt.a.buffer.dtype, stmt.b.buffer.dtype, stmt.c.buffer.dtype}
        if len(dt) != 1 or DTYPES[dt.pop()][2] == "b":
            raise IRError("Gemm operands must share one numeric dtype.")
        _check_view(stmt.a, 3, known, False)
        _check_view(stmt.b, 3, known, False)
        _check_view(stmt.c, 3, known, True)
        for d in (stmt.m, stmt.n, stmt.k, stmt.batch):
            _check_dim(d, known)
    elif isinstance(stmt, Guard):
        for d in stmt.shape:
            _check_dim(d, known)
        for v in stmt.operands:
            _check_view(v, len(stmt.shape), known, False)
        if stmt.cond.dtype != "bool":
            raise IRError("a Guard's condition must be bool.")
        _check_value([stmt.cond], stmt.operands, known)
    elif isinstance(stmt, Repeat):
        if isinstance(stmt.var, bool) or not isinstance(stmt.var, int) or stmt.var < 0:
            raise IRError(f"a Repeat's var must be an int >= 0, not {stmt.var!r}.")
        counter = Counter(stmt.var)
        if counter in known:
            raise IRError(f"nested Repeats both use var {stmt.var}.")
        _check_dim(stmt.count, known)
        inner = known | {counter}
        for sub in stmt.body:
            _check_stmt(sub, inner)
        if stmt.stop is not None:
            if not isinstance(stmt.stop, View):
                raise IRError("a Repeat's stop must be a View.")
            _check_view(stmt.stop, 0, inner, False)
        if stmt.steps is not None:
            b = stmt.steps
            if b not in known or b.role == "input" or b.ndim != 0 or b.dtype != "int64":
                raise IRError("a Repeat's steps must be a 0-d int64 temporary or output.")
    else:
        raise IRError(f"unknown statement {type(stmt).__name__}.")
