"""The reference loop: run a ``Loop``'s body step by step with NumPy (``backend="python"``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SymcError, SymcShapeError, SymcValueError

if TYPE_CHECKING:
    from .scan import Loop


def run_loop(op: Loop, n_steps: np.ndarray, values: Sequence[np.ndarray]) -> np.ndarray:
    """The result ``op.result`` of running ``op`` for ``n_steps`` steps on ``values``."""
    return run_results(op, n_steps, values, [op.result])[0]


def run_results(
    op: Loop,
    n_steps: np.ndarray,
    values: Sequence[np.ndarray],
    results: Sequence[tuple],
    sizes: dict[str, int] | None = None,
    label: str = "scan",
) -> list[np.ndarray]:
    """Run ``op`` once and return each of ``results`` (``Loop.result`` tuples).

    Only what the results need is kept: the rows of the stacked outputs and
    histories asked for, and the carry. With ``sizes``, the storage the loop
    keeps is recorded there under ``label``: the carry, the kept rows, and
    the largest intermediate arrays one step of the body allocates.
    """
    _, consts, inits, seqs = op.split((n_steps, *values))
    n = int(n_steps)
    if n < 0:
        raise SymcValueError(f"scan: n_steps is {n}; it must be >= 0.")
    for k, s in enumerate(seqs):
        if s.shape[0] < n:
            raise SymcShapeError(
                f"scan: sequence {k} has {s.shape[0]} rows (shape {s.shape}, {s.dtype}), but "
                f"the loop runs {n} steps; pass a longer sequence or a smaller n_steps."
            )
    outs = sorted({r[1] for r in results if r[0] == "out"})
    hists = sorted({r[1] for r in results if r[0] == "history"})
    plan = op.body.plan()
    nc, n_const, has_stop = op.n_carry, len(consts), op.has_stop
    rows: dict[int, list] = {j: [] for j in outs}
    past: dict[int, list] = {j: [] for j in hists}
    shapes = [np.shape(c) for c in inits]
    body_sizes: dict[str, int] | None = {} if sizes is not None else None
    # step 0 tells the sizes of every step unless some length is computed from values
    measure_all = sizes is not None and _value_shaped(plan)
    args = [*consts, *inits, *([None] * len(seqs))]
    run = plan.run
    steps = 0
    for i in range(n):
        t = n - 1 - i if op.reverse else i
        for j in hists:
            past[j].append(args[n_const + j])
        for k, s in enumerate(seqs):
            args[n_const + nc + k] = s[t]
        vals = run(args, body_sizes if i == 0 or measure_all else None)
        for k in range(nc):
            v = vals[k]
            if v.shape != shapes[k]:
                raise SymcShapeError(
                    f"scan: step {i} changed the shape of recurrent state {k} "
                    f"({_state_name(op, k)}) from {shapes[k]} to {np.shape(v)}; "
                    f"a state must keep its shape from step to step."
                )
        args[n_const : n_const + nc] = vals[:nc]
        for j in outs:
            y = vals[nc + j]
            kept = rows[j]
            if kept and y.shape != kept[0].shape:
                raise SymcShapeError(
                    f"scan: output {j} has shape {kept[0].shape} at step 0 but "
                    f"{y.shape} at step {i}; the rows of an output must all have one shape."
                )
            kept.append(y)
        steps += 1
        if has_stop and vals[-1]:
            break
    carry = args[n_const : n_const + nc]
    got = []
    for r in results:
        kind = r[0]
        if kind == "carry":
            j = r[1]
            # after zero steps the carry is the caller's array: never hand that object back
            got.append(carry[j].copy() if carry[j] is inits[j] else carry[j])
        elif kind == "steps":
            got.append(np.asarray(steps, dtype="int64"))
        else:
            kept = rows[r[1]] if kind == "out" else past[r[1]]
            got.append(_stack(op, r, kept, consts, inits, seqs))
    if sizes is not None:
        _report(op, label, sizes, body_sizes, carry, rows, past)
    return got


def _stack(op: Loop, result: tuple, kept: list, consts, inits, seqs) -> np.ndarray:
    kind, j = result
    dtype = op.sibling(*result)._result_type().dtype
    if kept:
        if op.reverse:
            kept = kept[::-1]
        return np.stack(kept).astype(dtype, copy=False)
    if kind == "history":
        return np.empty((0, *np.shape(inits[j])), dtype=dtype)
    return np.empty((0, *_row_shape(op, j, consts, inits, seqs)), dtype=dtype)


def _value_shaped(plan) -> bool:
    """Whether a body's array sizes may change between steps (same input shapes every step).

    Only an integer scalar computed at run time can set a length (alloc,
    arange, slice bounds, a nested loop's step count), so a body without one
    allocates the same buffers at every step.
    """
    from .leaves import Constant

    return any(
        i.type.ndim == 0
        and i.type.dtype.startswith(("int", "uint"))
        and not isinstance(i.op, Constant)
        for n in plan.nodes
        for i in n.inputs
    )


def _report(op: Loop, label: str, sizes: dict, body_sizes: dict, carry, rows, past) -> None:
    """Record the storage one run of the loop kept (see :func:`run_results`)."""

    def put(what: str, nbytes: int) -> None:
        key = f"{label}: {what}"
        sizes[key] = max(sizes.get(key, 0), nbytes)

    for k, c in enumerate(carry):
        put(f"carry {k}", np.asarray(c).nbytes)
    for j, kept in rows.items():
        put(f"rows of output {j}", sum(r.nbytes for r in kept))
    for j, kept in past.items():
        put(f"rows of history {j}", sum(np.asarray(r).nbytes for r in kept))
    for what, nbytes in body_sizes.items():
        put(f"body {what}", nbytes)


def _state_name(op: Loop, k: int) -> str:
    return op.carry_inputs[k].name or f"state {k}"


def _row_shape(op: Loop, j: int, consts, inits, seqs) -> tuple:
    """The shape one row of output ``j`` would have, for a loop that ran no step.

    Static lengths answer when they are all known; otherwise the body is run
    once on the initial carry and zero rows (its values are discarded, only
    the shape is kept). If that run fails, unknown lengths are taken as 0.
    """
    static = op.step_outputs[j].type.shape
    if None not in static:
        return static
    rows = [np.zeros(s.shape[1:], dtype=s.dtype) for s in seqs]
    try:
        with np.errstate(all="ignore"):
            vals = op.body.plan().run([*consts, *inits, *rows])
        return np.shape(vals[op.n_carry + j])
    except (SymcError, ArithmeticError, ValueError, IndexError):
        return tuple(0 if d is None else d for d in static)
