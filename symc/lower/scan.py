"""Lowering of ``Loop`` (scan): the whole loop becomes ONE :class:`codegen.ir.Repeat`.

All results of one loop (``("carry", j)``, ``("out", j)``, ``("history", j)``,
``("steps",)``: separate nodes sharing :meth:`Loop.loop_key` and inputs) are
lowered together, the first time one of them is reached; only the results the
graph uses get storage. Every buffer is allocated once, before the loop:

* carry ``j`` lives in one buffer (the output buffer when the final carry is
  returned), filled from the initial value; the body reads it, and at the end
  of each step the new value is copied in (through a staging buffer when the
  new value is itself a view of some carry: taps shift registers, swaps);
* a sequence row is a view of the sequence offset by ``Counter * stride[0]``;
* a stacked output row is a view of row ``t`` of its output, and the body node
  computing it writes there directly (``Ctx.place``), else it is copied;
* history row ``t`` is a copy of the carry at the start of step ``t``.

The body is lowered in its own scope (its nodes may also belong to another
loop's body: a gradient loop reuses the forward body's inputs). Run-time
checks it adds apply only when the loop runs at least one step, as in the
reference backend.

``until``: the loop ends after the step whose condition holds
(:attr:`codegen.ir.Repeat.stop`) and writes how many steps ran to an int64
buffer (``Repeat.steps``, the ``("steps",)`` result). Stacked results are
allocated for ``n_steps`` rows, but their values have that run-time number
of rows (:mod:`symc.lower.run_dims`): later statements, a gradient loop
among them, read only the rows that ran, and a returned one is cut to them
by the caller.
"""

from __future__ import annotations

from codegen import ir
from codegen.abi import ERR_GUARD_BASE

from ..graph.traverse import toposort
from ..ops.leaves import Constant
from ..ops.scan import Loop
from . import dims as D
from .context import Ctx, Val
from .registry import lowers
from .run_dims import run_time, upper
from .scalars import is_dim_node, scalar_dim
from .scan_inplace import write_in_place


def _results(ctx: Ctx, node) -> dict:
    """result -> node, for every result of ``node``'s loop in the current scope's graph."""
    roots = ctx.loops.get("roots") or ctx.outputs
    tables = ctx.loops.setdefault("tables", {})
    table = tables.get(id(roots))
    if table is None:
        table = {}
        for n in toposort(list(roots)):
            if isinstance(n.op, Loop):
                key = (n.op.loop_key(), tuple(map(id, n.inputs)))
                table.setdefault(key, {})[n.op.result] = n
        tables[id(roots)] = (roots, table)  # keep roots alive: the key is its id
    else:
        table = table[1]
    return table.get((node.op.loop_key(), tuple(map(id, node.inputs))), {node.op.result: node})


def _alloc_for(ctx: Ctx, node, shape: tuple, outputs: list | None = None) -> Val:
    """Storage for result ``node`` (the caller's output buffer when ``node`` is returned).

    ``outputs``: the graph outputs of the loop's own scope, when called from inside
    the body's scope (a row placed while the body is lowered).
    """
    saved = ctx.node, ctx.outputs
    ctx.node = node
    if outputs is not None:
        ctx.outputs = outputs
    try:
        return ctx.alloc(shape)
    finally:
        ctx.node, ctx.outputs = saved


def _bind(ctx: Ctx, v: Val, inner, what: str) -> Val:
    """``v`` read as the inner input ``inner``: static lengths of 1 broadcast, others checked."""
    shape, strides = [], []
    for a, s in enumerate(inner.type.shape):
        if s is not None:
            ctx.require(v.shape[a], s, f"scan: {what} has the wrong length on axis {a}.")
        shape.append(1 if s == 1 else v.shape[a])
        strides.append(0 if s == 1 else v.strides[a])
    return Val(v.buffer, tuple(shape), tuple(strides), v.offset, v.contiguous)


@lowers(Loop)
def lower_loop(ctx: Ctx, node):
    op = node.op
    if op.has_stop and op.reverse:  # never built: gradient loops have no stop condition
        raise ctx.error("scan: a reversed loop with until(...) has no C lowering.")
    results = _results(ctx, node)
    n_node, consts, inits, seqs = op.split(node.inputs)
    n = scalar_dim(ctx, n_node)
    steps = None  # with until: the buffer receiving how many steps ran
    if op.has_stop:
        bound = upper(ctx, n)
        if bound is None:
            raise ctx.error("scan: the C backend cannot bound the number of steps of this loop.")
        rnode = results.get(("steps",))
        sv = _alloc_for(ctx, rnode, ()) if rnode is not None else ctx.alloc((), "int64", temp=True)
        steps = sv.buffer
        ctx.loops.setdefault("bounds", {})[steps] = bound
    ctx.require(D.lt(n, 0), 0, f"scan: n_steps must be >= 0 ({op.label()}).", "value")
    var = ctx.loops.get("next_var", 0)
    ctx.loops["next_var"] = var + 1
    t = ir.Counter(var)

    bind: dict = {}  # id(inner input) -> Val
    dims: dict = {}  # id(inner input) -> Dim, for integer scalars used as lengths
    for k, (outer, inner) in enumerate(zip(consts, op.const_inputs, strict=True)):
        bind[id(inner)] = _bind(ctx, ctx.val(outer), inner, f"loop constant {k}")
        if inner.type.ndim == 0 and is_dim_node(outer):
            dims[id(inner)] = scalar_dim(ctx, outer)
    seq_vals = []
    for k, (outer, inner) in enumerate(zip(seqs, op.seq_inputs, strict=True)):
        sv = ctx.val(outer)
        ctx.require(
            D.lt(sv.shape[0], n),
            0,
            f"scan: sequence {k} ({outer.type.describe()}) has fewer rows than the loop "
            f"runs steps.",
        )
        seq_vals.append(sv)
        row = Val(
            sv.buffer, sv.shape[1:], sv.strides[1:], D.add(sv.offset, D.mul(t, sv.strides[0]))
        )
        bind[id(inner)] = _bind(ctx, row, inner, f"a row of sequence {k}")
    carries = []
    for j, (outer, inner) in enumerate(zip(inits, op.carry_inputs, strict=True)):
        iv = _bind(ctx, ctx.val(outer), inner, f"the initial value of recurrent state {j}")
        final = results.get(("carry", j))
        c = (
            _alloc_for(ctx, final, iv.shape)
            if final is not None
            else ctx.alloc(iv.shape, inner.type.dtype, temp=True)
        )
        ctx.copy(iv, c)
        carries.append(c)
        bind[id(inner)] = c

    first = []  # statements at the start of a step: history rows
    stored: dict = {}
    for j, c in enumerate(carries):
        hist = results.get(("history", j))
        if hist is not None:
            h = _alloc_for(ctx, hist, (n, *c.shape))
            stored[("history", j)] = h
            first.append(_copy(c, _row(h, t)))
    places = {}
    for j, out in enumerate(op.step_outputs):
        res = results.get(("out", j))
        if res is not None and id(out) not in places and id(out) not in bind:
            places[id(out)] = j

            def place(shape, res=res, j=j, outputs=ctx.outputs):
                storage = _alloc_for(ctx, res, (n, *shape), outputs)
                stored[("out", j)] = storage
                return _row(storage, t)

            ctx.place[id(out)] = place

    before = set(ctx.loops.get("bounds", ()))
    body, vals = _lower_body(ctx, op, bind, dims, n)
    inner = set(ctx.loops.get("bounds", ())) - before
    for k, v in enumerate(vals):  # lengths set by a loop inside the body stay in the body
        if inner and any(_reads(d, inner) for d in v.shape):
            raise ctx.error(
                f"scan: body output {k} has a length set by a scan with until inside the loop "
                f"body, which may change from step to step; the C backend cannot stack or carry "
                f"it. Use backend='python' for this function."
            )
    for p in places:
        ctx.place.pop(p, None)
    last = []
    for j in range(op.n_out):
        res = results.get(("out", j))
        if res is None:
            continue
        v = vals[op.n_carry + j]
        if ("out", j) not in stored:
            stored[("out", j)] = _alloc_for(ctx, res, (n, *v.shape))
        dest = _row(stored[("out", j)], t)
        if not _same(v, dest):
            last.append(_copy(v, dest))
    stop = None
    if op.has_stop:
        cond = vals[-1]
        if id(cond.buffer) in {id(c.buffer) for c in carries}:
            # a state the updates below overwrite: keep this step's value
            keep = ctx.alloc((), cond.dtype, temp=True)
            last.append(_copy(cond, keep))
            cond = keep
        stop = cond.view()
    updates, moves = _carry_updates(ctx, op, carries, vals[: op.n_carry], n)
    after = {stop.buffer} if stop is not None else set()
    step = write_in_place(first + body + last + updates, moves, after)
    ctx.emit(ir.Repeat(var, n, tuple(step), op.reverse, stop, steps))

    ran = n if steps is None else ir.Value(steps)
    for res, rnode in results.items():
        if res[0] == "carry":
            val = carries[res[1]]
        elif res[0] == "steps":
            if steps is not None:
                val = Val(steps, (), (), 0, True)
            else:
                val = _alloc_for(ctx, rnode, ())
                store = ir.Store(val.view(), ir.Extent(n))
                saved, ctx.node = ctx.node, rnode
                ctx.emit(ir.Elementwise((), (), (store,)))
                ctx.node = saved
        else:
            val = stored[res]
            if steps is not None:  # allocated for n rows; holds the rows that ran
                val = Val(val.buffer, (ran, *val.shape[1:]), val.strides, val.offset, True)
                if val.buffer.role == "output":
                    ctx.loops.setdefault("rows", {})[val.buffer] = ran
        ctx.vals[id(rnode)] = val
    return ctx.vals[id(node)]


def loop_steps(ctx: Ctx, node):
    """The Dim of a loop's ``("steps",)`` result ``node``: run time only after an ``until``."""
    op = node.op
    if not isinstance(op, Loop):
        raise ctx.error(f"{op.label()} is not a length the C backend can compute.", node)
    if not op.has_stop:
        return scalar_dim(ctx, node.inputs[0])
    return ir.Value(ctx.val(node).buffer)


def _reads(d, bufs: set) -> bool:
    """Whether the Dim ``d`` reads the run-time value of one of ``bufs``."""
    if isinstance(d, ir.Value):
        return d.buffer in bufs
    return isinstance(d, ir.IOp) and (_reads(d.a, bufs) or _reads(d.b, bufs))


def _row(storage: Val, t) -> Val:
    """Row ``t`` of a C-contiguous stacked buffer."""
    return Val(
        storage.buffer,
        storage.shape[1:],
        storage.strides[1:],
        D.add(storage.offset, D.mul(t, storage.strides[0])),
        True,
    )


def _copy(src: Val, dest: Val) -> ir.Elementwise:
    from .context import cast

    value = cast(ir.Load(0, src.dtype), dest.dtype)
    return ir.Elementwise(tuple(dest.shape), (src.view(),), (ir.Store(dest.view(), value),))


def _same(a: Val, b: Val) -> bool:
    return (
        a.buffer is b.buffer
        and D.same(a.offset, b.offset)
        and all(D.same(x, y) for x, y in zip(a.strides, b.strides, strict=True))
    )


def _lower_body(ctx: Ctx, op: Loop, bind: dict, dims: dict, n) -> tuple[list, list]:
    """Lower the body in its own scope; return (its statements, the Val of each output)."""
    from .program import lower_node

    outputs = list(op.body.outputs)
    order = toposort(outputs)
    saved = (
        ctx.body,
        ctx.stmt_nodes,
        ctx.vals,
        ctx.outputs,
        ctx.loops.get("roots"),
        len(ctx.checks),
    )
    scope = dict(bind)
    for node in order:  # constants are loop-invariant inputs: share them with the outer scope
        if isinstance(node.op, Constant) and id(node) in saved[2]:
            scope[id(node)] = saved[2][id(node)]
    added_dims = [("dim", k) for k in dims]
    for k, d in dims.items():
        ctx.loops[("dim", k)] = d
    ctx.body, ctx.stmt_nodes, ctx.vals, ctx.outputs = [], [], scope, []
    ctx.loops["roots"] = outputs
    wanted = {id(o) for o in outputs}
    try:
        for node in order:
            if id(node) in ctx.vals or (node.is_leaf and not isinstance(node.op, Constant)):
                continue
            if node.is_leaf or (id(node) not in wanted and is_dim_node(node)):
                continue  # constants are lowered when first read; lengths stay Dims
            lower_node(ctx, node)
        vals = [ctx.val(o) for o in outputs]
        body = ctx.body
    finally:
        for node in order:
            if isinstance(node.op, Constant) and id(node) in ctx.vals:
                saved[2].setdefault(id(node), ctx.vals[id(node)])
        ctx.body, ctx.stmt_nodes, ctx.vals, ctx.outputs = saved[:4]
        ctx.loops["roots"] = saved[4]
        for key in added_dims:
            ctx.loops.pop(key, None)
    # the body's checks hold only when it runs: scale both sides by (n > 0)
    runs = D.lt(0, n)
    if run_time(runs):  # known only while the program runs: checked before the loop
        moved = list(zip(ctx.checks[saved[5] :], ctx.check_info[saved[5] :], strict=True))
        del ctx.checks[saved[5] :], ctx.check_info[saved[5] :]
        for c, info in moved:
            a, b = D.mul(c.a, runs), D.mul(c.b, runs)
            cond = ir.Compare("ne", ir.Extent(a), ir.Extent(b))
            code = ERR_GUARD_BASE + len(ctx.guard_info)
            ctx.guard_info.append(info)
            ctx.emit(ir.Guard((), (), cond, code))
    elif not isinstance(runs, int) or runs == 0:
        for i in range(saved[5], len(ctx.checks)):
            c = ctx.checks[i]
            ctx.checks[i] = ir.Check(D.mul(c.a, runs), D.mul(c.b, runs), c.message)
    return body, vals


def _carry_updates(ctx: Ctx, op: Loop, carries: list, new: list, n) -> tuple[list, list]:
    """Statements copying each new carry into its buffer, without reading an overwritten one.

    Also returns ``(copy, new, carry)`` for each copy of a body value straight
    into its carry, which :func:`write_in_place` may turn into writing the
    carry directly.
    """
    own = {id(c.buffer) for c in carries}
    staged, moves, direct = [], [], []
    for j, (c, v) in enumerate(zip(carries, new, strict=True)):
        for a in range(c.ndim):
            ctx.require(
                D.mul(v.shape[a], D.lt(0, n)),
                D.mul(c.shape[a], D.lt(0, n)),
                f"scan: step 0 changed the shape of recurrent state {j}; a state must keep "
                f"its shape from step to step.",
            )
        if _same(v, c):
            continue  # the body returned the state unchanged
        via_temp = id(v.buffer) in own
        if via_temp:
            tmp = ctx.alloc(c.shape, c.dtype, temp=True)
            staged.append(_copy(v, tmp))
            v = tmp
        moves.append(_copy(v, c))
        if not via_temp:
            direct.append((moves[-1], v, c))
    return staged + moves, direct
