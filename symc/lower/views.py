"""Lowerings that only re-describe memory: ``DimShuffle``, ``Subtensor``, ``Reshape``.

They return a new :class:`Val` over the same buffer (shape, strides and
offset change); nothing is copied, except a reshape of a value not known to
be contiguous. ``Concatenate`` copies each input into its part of the result.
"""

from __future__ import annotations

from ..ops.index import SYM, Subtensor, format_items
from ..ops.shape import Concatenate, DimShuffle, Reshape
from . import dims as D
from .context import Ctx, Val, c_strides
from .registry import lowers
from .scalars import scalar_dim


def broadcast_strides(ctx: Ctx, static: tuple, v: Val, shape: tuple, what: str) -> tuple:
    """Strides that read ``v`` (static shape ``static``) broadcast to ``shape``.

    Leading and static length-1 axes get stride 0; every other axis must have
    ``shape``'s length, checked at run time with ``what`` + the axis as message.
    """
    lead = len(shape) - len(static)
    strides = [0] * lead
    for ia, s in enumerate(static):
        if s == 1:
            strides.append(0)
        else:
            strides.append(v.strides[ia])
            ctx.require(v.shape[ia], shape[lead + ia], f"{what} on axis {lead + ia}.")
    return tuple(strides)


@lowers(DimShuffle)
def lower_dimshuffle(ctx: Ctx, node):
    (x,) = node.inputs
    v = ctx.val(x)
    kept = [p for p in node.op.pattern if p != "x"]
    for a in range(v.ndim):
        if a not in kept and x.type.shape[a] is None:
            ctx.require(
                v.shape[a],
                1,
                f"{node.op.label()}: cannot drop axis {a}: its length "
                f"is not 1 (input {x.type.describe()}).",
            )
    shape = tuple(1 if p == "x" else v.shape[p] for p in node.op.pattern)
    strides = tuple(0 if p == "x" else v.strides[p] for p in node.op.pattern)
    contiguous = v.contiguous and kept == sorted(kept)
    return Val(v.buffer, shape, strides, v.offset, contiguous)


def index_view(ctx: Ctx, v: Val, items: tuple, syms: list, label: str, static_in: tuple) -> Val:
    """``v[items]`` as a view; symbolic parts come from the int scalar nodes ``syms``."""
    it = iter(syms)
    shape, strides = [], []
    offset = v.offset
    axis = 0
    for item in items:
        kind = item[0]
        if kind == "new":
            shape.append(1)
            strides.append(0)
            continue
        n, st = v.shape[axis], v.strides[axis]
        parts = [scalar_dim(ctx, next(it)) if p == SYM else p for p in item[1:]]
        if kind == "int":
            (k,) = parts
            if not isinstance(k, int) or not isinstance(n, int):
                k = D.wrap(k, n)
                msg = (
                    f"{label}: index out of bounds for axis {axis} (indexing a value of "
                    f"shape {static_in} with {format_items(items)})."
                )
                ctx.require(D.lt(k, n), 1, msg, "index")
                ctx.require(D.lt(-1, k), 1, msg, "index")
            elif k < 0:
                k += n
            offset = D.add(offset, D.mul(k, st))
        else:
            start, stop, step = parts
            step = 1 if step is None else step
            if not isinstance(step, int):
                nonzero = D.add(D.lt(step, 0), D.lt(0, step))
                ctx.require(
                    nonzero,
                    1,
                    f"{label}: slice step cannot be zero in {format_items(items)}.",
                    "value",
                )
            first, length = D.slice_dims(start, stop, step, n)
            offset = D.add(offset, D.mul(first, st))
            shape.append(length)
            strides.append(D.mul(st, step))
        axis += 1
    return Val(v.buffer, tuple(shape), tuple(strides), offset, False)


@lowers(Subtensor)
def lower_subtensor(ctx: Ctx, node):
    x, *syms = node.inputs
    v = ctx.val(x)
    out = index_view(ctx, v, node.op.items, syms, node.op.name, x.type.shape)
    # a static length may be narrower than the Dim arithmetic can tell
    return out


def contiguous(ctx: Ctx, v: Val) -> Val:
    """``v`` itself when known C-contiguous, else a contiguous copy."""
    if v.contiguous:
        return v
    out = ctx.alloc(v.shape, v.dtype, temp=True)
    ctx.copy(v, out)
    return out


@lowers(Reshape)
def lower_reshape(ctx: Ctx, node):
    x, *lengths = node.inputs
    v = contiguous(ctx, ctx.val(x))
    it = iter(lengths)
    spec = [scalar_dim(ctx, next(it)) if s is None else s for s in node.op.shape]
    total = D.prod(v.shape)
    if -1 in spec:
        k = spec.index(-1)
        rest = D.prod(spec[:k] + spec[k + 1 :])
        # reshape(-1) of an empty array with other lengths 0 is ambiguous in NumPy too
        spec[k] = (
            node.type.shape[k]
            if node.type.shape[k] is not None
            else D.floordiv(total, D.dmax(rest, 1))
        )
    shape = tuple(s if s is not None else d for s, d in zip(node.type.shape, spec, strict=True))
    ctx.require(
        D.prod(shape),
        total,
        f"{node.op.label()}: cannot reshape an array of "
        f"{x.type.describe()} to the requested lengths (the sizes differ).",
    )
    return Val(v.buffer, shape, c_strides(shape), v.offset, True)


@lowers(Concatenate)
def lower_concatenate(ctx: Ctx, node):
    axis = node.op.axis
    vals = [ctx.val(x) for x in node.inputs]
    first = vals[0]
    total = 0
    for v in vals:
        total = D.add(total, v.shape[axis])
    shape = [total if a == axis else first.shape[a] for a in range(len(node.type.shape))]
    for _x, v in zip(node.inputs, vals, strict=True):
        for a in range(len(shape)):
            if a != axis:
                ctx.require(
                    v.shape[a],
                    shape[a],
                    f"{node.op.label()}: cannot join arrays "
                    f"along axis {axis}: their lengths on axis {a} differ (inputs: "
                    f"{', '.join(y.type.describe() for y in node.inputs)}).",
                )
    out = ctx.alloc(shape)
    start = 0
    for v in vals:
        dest = Val(out.buffer, v.shape, out.strides, D.mul(start, out.strides[axis]))
        ctx.copy(v, dest)
        start = D.add(start, v.shape[axis])
    return out
