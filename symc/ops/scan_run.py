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
    kind = op.result[0]
    j = op.result[1] if len(op.result) > 1 else None
    plan = op.body.plan()
    nc = op.n_carry
    carry = list(inits)
    rows: list[np.ndarray] = []
    steps = 0
    for i in range(n):
        t = n - 1 - i if op.reverse else i
        if kind == "history":
            rows.append(carry[j])
        vals = plan.run([*consts, *carry, *(s[t] for s in seqs)])
        for k in range(nc):
            if np.shape(vals[k]) != np.shape(carry[k]):
                raise SymcShapeError(
                    f"scan: step {i} changed the shape of recurrent state {k} "
                    f"({_state_name(op, k)}) from {np.shape(carry[k])} to {np.shape(vals[k])}; "
                    f"a state must keep its shape from step to step."
                )
        carry = list(vals[:nc])
        if kind == "out":
            y = vals[nc + j]
            if rows and np.shape(y) != np.shape(rows[0]):
                raise SymcShapeError(
                    f"scan: output {j} has shape {np.shape(rows[0])} at step 0 but "
                    f"{np.shape(y)} at step {i}; the rows of an output must all have one shape."
                )
            rows.append(y)
        steps += 1
        if op.has_stop and bool(np.asarray(vals[-1])):
            break
    if kind == "carry":
        # after zero steps the carry is the caller's array: never hand that object back
        return carry[j].copy() if carry[j] is inits[j] else carry[j]
    if kind == "steps":
        return np.asarray(steps, dtype="int64")
    if op.reverse:
        rows.reverse()
    dtype = op._result_type().dtype
    if rows:
        return np.stack(rows).astype(dtype, copy=False)
    if kind == "history":
        return np.empty((0, *np.shape(inits[j])), dtype=dtype)
    return np.empty((0, *_row_shape(op, j, consts, inits, seqs)), dtype=dtype)


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
