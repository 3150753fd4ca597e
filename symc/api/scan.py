"""``scan``: symbolic loops, Theano's interface over the canonical ``Loop`` op.

``scan`` calls ``fn`` once, on fresh inner variables, to build the loop body,
then desugars what the user wrote into the loop's ``(constants, carry,
sequences)``:

* sequences: one row (axis 0) per step; without ``n_steps`` the loop runs as
  many steps as the *shortest* sequence has rows (Theano's rule); with
  ``n_steps`` every sequence needs at least that many rows (a run-time
  ``SymcShapeError`` otherwise) and only the first ``n_steps`` are read;
* an output with taps ``[-k, ..., -1]`` becomes a shift register of ``k``
  carries (the oldest first), shifted by one after every step;
* a shared variable that ``fn`` returns an update for becomes a carry: each
  step reads the value the previous step wrote, and the returned updates
  hold the value after the last step;
* every other outer value the body reads (closure variables, shared
  variables, values computed outside ``fn``) becomes a loop constant;
* ``until(cond)`` becomes the loop's stop output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import dtypes
from ..errors import SymcError, SymcShapeError, SymcTypeError, SymcValueError
from ..graph.location import format_location, user_location, with_location
from ..graph.node import Node, apply
from ..graph.traverse import invariant_frontier, replace
from ..graph.types import TensorType, same_shape
from ..ops.leaves import Constant, Shared
from ..ops.scan import Body, Loop
from .convert import as_node, constant
from .creation import tensor


class Until:
    """A stop condition returned by a scan step; build it with :func:`until`."""

    __slots__ = ("condition",)

    def __init__(self, condition: Node):
        self.condition = condition

    def __repr__(self) -> str:
        return f"until({self.condition!r})"


def until(condition: Any) -> Until:
    """Stop a scan after the step where ``condition`` (a scalar) first holds.

    That step is the last one included in the outputs.

    >>> def step(p):
    ...     q = p * 2
    ...     return q, sc.until(q > 100)
    >>> powers, _ = sc.scan(step, outputs_info=1.0, n_steps=50)
    """
    cond = as_node(condition)
    if cond.type.ndim != 0:
        raise with_location(
            SymcShapeError(
                f"until: the stop condition must be a scalar, got {cond.type.describe()}."
            ),
            user_location(),
        )
    if cond.type.dtype != "bool":
        from .math import ne

        cond = ne(cond, 0)
    return Until(cond)


class _Tapped:
    """One output fed back to the next steps: its taps, its register and its initial rows."""

    def __init__(self, index: int, initial: Node, taps: list[int]):
        self.index = index
        self.taps = taps
        self.lag = -min(taps)
        if taps == [-1]:
            state, self.inits = initial.type, [initial]
        else:
            state = _row_type(f"the initial value of output {index}", initial, self.lag)
            self.inits = [initial[r] for r in range(self.lag)]
        self.state = state
        # register slot r holds the value of lag (lag - r): slot 0 is the oldest
        self.slots = [
            tensor(f"out{index}[t-{self.lag - r}]", state.shape, state.dtype)
            for r in range(self.lag)
        ]

    def args(self) -> list[Node]:
        return [self.slots[self.lag + tap] for tap in self.taps]


def _row_type(what: str, x: Node, lag: int) -> TensorType:
    if x.type.ndim == 0:
        raise SymcShapeError(
            f"scan: {what} must stack {lag} past values along axis 0 (the oldest first), "
            f"got {x.type.describe()}."
        )
    rows = x.type.shape[0]
    if rows is not None and rows != lag:
        raise SymcShapeError(
            f"scan: {what} has {rows} rows ({x.type.describe()}), but its taps reach "
            f"{lag} steps back, so it needs {lag}."
        )
    return TensorType(x.type.dtype, x.type.shape[1:])


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _taps(index: int, info: Mapping) -> tuple[Node | None, list[int]]:
    unknown = set(info) - {"initial", "taps"}
    if unknown:
        raise SymcValueError(
            f"scan: outputs_info entry {index} has unknown keys {sorted(unknown)}; "
            f"use dict(initial=..., taps=[...])."
        )
    initial = info.get("initial")
    taps = list(info.get("taps", [-1]))
    if initial is None:
        return None, []
    if (
        not taps
        or any(isinstance(t, bool) or not isinstance(t, int) or t >= 0 for t in taps)
        or len(set(taps)) != len(taps)
    ):
        raise SymcValueError(
            f"scan: the taps of output {index} must be distinct negative ints (past steps), "
            f"got {info.get('taps')!r}."
        )
    return as_node(initial), taps


def _parse_result(result: Any) -> tuple[list, dict, Until | None]:
    """``fn``'s return value as (outputs, updates, stop), accepting Theano's forms."""
    items = list(result) if isinstance(result, tuple) else [result]
    stop = [x for x in items if isinstance(x, Until)]
    updates = [x for x in items if isinstance(x, Mapping)]
    rest = [x for x in items if not isinstance(x, (Until, Mapping))]
    if len(stop) > 1 or len(updates) > 1:
        raise SymcValueError("scan: fn returned more than one until(...) or updates dict.")
    if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
        rest = list(rest[0])
    elif len(rest) == 1 and rest[0] is None:
        rest = []
    return rest, dict(updates[0]) if updates else {}, stop[0] if stop else None


def _check_feedback(k: int, out: Node, state: TensorType) -> None:
    """The step's result for a fed-back output must match the state it replaces."""
    t = out.type
    where = f"\n  the step result was built at {format_location(out.loc)}" if out.loc else ""
    if t.dtype != state.dtype:
        raise SymcTypeError(
            f"scan: output {k} is fed back, but its initial value has {state.describe()} and "
            f"fn returns {t.describe()} for it; a recurrent output must keep its dtype "
            f"(cast the initial value or the step result).{where}"
        )
    if not same_shape(t.shape, state.shape):
        raise SymcShapeError(
            f"scan: output {k} is fed back, but its initial value has {state.describe()} and "
            f"fn returns {t.describe()} for it; a recurrent output must keep its shape.{where}"
        )


def _update_value(var: Node, expr: Any) -> Node:
    if not isinstance(var, Node) or not isinstance(var.op, Shared):
        raise SymcTypeError(f"scan: fn returned an update for {var!r}, which is not shared.")
    expr = as_node(expr, like=var)
    t, e = var.type, expr.type
    label = f"shared variable {var.name!r}" if var.name else "a shared variable"
    if e.dtype != t.dtype:
        if not dtypes.can_cast(e.dtype, t.dtype):
            raise SymcTypeError(
                f"scan: the update of {label} ({t.describe()}) has {e.describe()}, which does "
                f"not cast to {t.dtype}."
            )
        from .math import cast

        expr = cast(expr, t.dtype)
    if not same_shape(t.shape, e.shape):
        raise SymcShapeError(f"scan: the update of {label} ({t.describe()}) has {e.describe()}.")
    return expr


def _closure(outputs: list[Node], inner: list[Node]) -> list[Node]:
    """Outer values the body reads: free nodes used by nodes that depend on the inner inputs.

    Constants stay in the body; everything else that does not depend on an
    inner input (an outer variable, a shared variable, a value computed
    outside or hoisted from ``fn``) is computed once, outside the loop.
    """
    frontier = invariant_frontier(outputs, {id(n) for n in inner})
    return [n for n in frontier if not isinstance(n.op, Constant)]


def _check_arity(fn: Callable, n_rows: int, n_past: int, n_const: int) -> None:
    """``fn`` must accept the arguments scan passes (checked before calling it)."""
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or a C callable: let the call decide
        return
    try:
        sig.bind(*range(n_rows + n_past + n_const))
    except TypeError:
        raise SymcTypeError(
            f"scan: fn{sig} cannot take the {n_rows + n_past + n_const} arguments scan passes "
            f"to it: {n_rows} sequence row(s), then {n_past} past output value(s) (one per "
            f"tap of each fed-back output), then {n_const} non-sequence(s)."
        ) from None


def _n_steps(n_steps: Any, seqs: list[Node]) -> Node:
    from .math import cast, minimum
    from .shape import length, static_value

    if n_steps is None:
        if not seqs:
            raise SymcValueError("scan: n_steps is required when there are no sequences.")
        lens = [s.type.shape[0] for s in seqs]
        if None not in lens:
            return constant(min(lens), dtype="int64")
        n = length(seqs[0], 0)
        for s in seqs[1:]:
            n = minimum(n, length(s, 0))
        return n
    if isinstance(n_steps, Node):
        if n_steps.type.ndim != 0 or not dtypes.is_int(n_steps.type.dtype):
            raise SymcTypeError(
                f"scan: n_steps must be an integer scalar, got {n_steps.type.describe()}."
            )
        n = n_steps if n_steps.type.dtype == "int64" else cast(n_steps, "int64")
    elif isinstance(n_steps, bool):
        raise SymcTypeError(f"scan: n_steps must be an integer, got {n_steps!r}.")
    elif isinstance(n_steps, int) or (
        hasattr(n_steps, "dtype") and dtypes.is_int(str(getattr(n_steps, "dtype", "")))
    ):
        n = constant(int(n_steps), dtype="int64")
    else:
        raise SymcTypeError(f"scan: n_steps must be an integer, got {n_steps!r}.")
    known = static_value(n)
    if known is not None:
        if int(known) < 0:
            raise SymcValueError(f"scan: n_steps is {int(known)}; it must be >= 0.")
        for k, s in enumerate(seqs):
            rows = s.type.shape[0]
            if rows is not None and rows < int(known):
                raise SymcShapeError(
                    f"scan: sequence {k} ({s.type.describe()}) has {rows} rows, but "
                    f"n_steps is {int(known)}."
                )
    return n


def scan(
    fn: Callable[..., Any],
    sequences: Any = None,
    outputs_info: Any = None,
    non_sequences: Any = None,
    n_steps: Any = None,
    return_list: bool = False,
) -> tuple[Any, dict]:
    """A symbolic loop: ``fn`` applied step after step; returns ``(outputs, updates)``.

    Args:
        fn: called once as ``fn(*sequence_rows, *past_outputs, *non_sequences)``
            on symbolic placeholders; returns the step's output(s), optionally
            with an updates dict ``{shared: new_value}`` and/or ``sc.until(cond)``.
        sequences: arrays sliced along axis 0, one row per step.
        outputs_info: one entry per output: ``None`` (not fed back), an initial
            value (fed back as the previous step, taps ``[-1]``), or
            ``dict(initial=..., taps=[-k, ..., -1])`` whose ``initial`` stacks
            ``k`` past values, the oldest first.
        non_sequences: values passed unchanged to every step.
        n_steps: the number of steps (int or integer scalar node); required
            without sequences. Default: the length of the shortest sequence.
        return_list: always return a list of outputs, even for one.

    Returns:
        The stacked outputs (one row per step, initial values excluded; one
        node for a single output, None for none) and a dict of updates (the
        values of updated shared variables after the last step) for
        ``sc.function(..., updates=...)``.

    >>> powers, _ = sc.scan(lambda p, a: p * a, outputs_info=sc.ones_like(a),
    ...                     non_sequences=a, n_steps=k)
    """
    loc = user_location()
    try:
        outs, updates = _scan(fn, sequences, outputs_info, non_sequences, n_steps, loc)
    except SymcError as err:
        if getattr(err, "location", None) is not None:
            raise
        raise with_location(err, loc, verb="scan called at") from None
    if not return_list:
        outs = None if not outs else outs[0] if len(outs) == 1 else outs
    return outs, updates


def _sequences(sequences: Any) -> list[Node]:
    seqs = []
    for k, s in enumerate(_as_list(sequences)):
        if isinstance(s, Mapping):
            raise SymcValueError(
                f"scan: sequence {k} is a dict; sequence taps are not supported, pass the "
                f"array itself (and shifted slices of it for other taps)."
            )
        s = as_node(s)
        if s.type.ndim == 0:
            raise SymcShapeError(
                f"scan: sequence {k} has {s.type.describe()}; sequences are sliced along "
                f"axis 0, so they need at least one axis."
            )
        seqs.append(s)
    return seqs


def _fed_back(infos: list) -> list[_Tapped]:
    tapped = []
    for k, info in enumerate(infos):
        if info is None:
            continue
        initial, taps = _taps(k, info) if isinstance(info, Mapping) else (as_node(info), [-1])
        if initial is not None:
            tapped.append(_Tapped(k, initial, taps))
    return tapped


def _scan(fn, sequences, outputs_info, non_sequences, n_steps, loc) -> tuple[list, dict]:
    seqs = _sequences(sequences)
    infos = None if outputs_info is None else _as_list(outputs_info)
    tapped = _fed_back(infos or [])
    rows = [
        tensor(f"{s.name}[t]" if s.name else f"seq{k}[t]", s.type.shape[1:], s.type.dtype)
        for k, s in enumerate(seqs)
    ]
    nonseq_outer = [as_node(x) for x in _as_list(non_sequences)]
    nonseq_in = [
        x if isinstance(x.op, Constant) else tensor(x.name, x.type.shape, x.type.dtype)
        for x in nonseq_outer
    ]
    n = _n_steps(n_steps, seqs)

    args = rows + [a for tp in tapped for a in tp.args()] + nonseq_in
    _check_arity(fn, len(rows), len(args) - len(rows) - len(nonseq_in), len(nonseq_in))
    outputs, update_dict, stop = _parse_result(fn(*args))
    outputs = [as_node(o) for o in outputs]
    if infos is not None and len(outputs) != len(infos):
        raise SymcValueError(
            f"scan: fn returned {len(outputs)} output(s), but outputs_info has "
            f"{len(infos)} entries; give one entry per output (None for an output "
            f"that is not fed back)."
        )
    for tp in tapped:
        _check_feedback(tp.index, outputs[tp.index], tp.state)

    # the carry: shift registers of fed-back outputs, then updated shared variables
    carry_in: list[Node] = []
    carry_out: list[Node] = []
    carry_init: list[Node] = []
    for tp in tapped:
        carry_in += tp.slots
        carry_out += tp.slots[1:] + [outputs[tp.index]]
        carry_init += tp.inits
    shared_vars = list(update_dict)
    shared_in = [tensor(v.name, v.type.shape, v.type.dtype) for v in shared_vars]
    shared_out = [_update_value(v, update_dict[v]) for v in shared_vars]
    carry_in += shared_in
    carry_out += shared_out
    carry_init += shared_vars

    inner_out = carry_out + outputs + ([stop.condition] if stop is not None else [])
    if shared_vars:
        # every read of an updated shared variable sees the previous step's value
        inner_out = replace(inner_out, dict(zip(shared_vars, shared_in, strict=True)))
    own = [x for x in nonseq_in if not isinstance(x.op, Constant)] + carry_in + rows
    closed = _closure(inner_out, own)
    closed_in = [tensor(c.name, c.type.shape, c.type.dtype) for c in closed]
    if closed:
        inner_out = replace(inner_out, dict(zip(closed, closed_in, strict=True)))

    const_in = [x for x in nonseq_in if not isinstance(x.op, Constant)] + closed_in
    const_outer = [
        o for o, i in zip(nonseq_outer, nonseq_in, strict=True) if not isinstance(i.op, Constant)
    ] + closed
    body = Body([*const_in, *carry_in, *rows], inner_out)
    from .shape import static_value

    known = static_value(n)
    op = Loop(
        body,
        n_const=len(const_in),
        n_carry=len(carry_in),
        n_seq=len(rows),
        n_out=len(outputs),
        has_stop=stop is not None,
        length=None if known is None or stop is not None else int(known),
    )
    outer = (n, *const_outer, *carry_init, *seqs)
    stacked = [apply(op.sibling("out", k), outer, loc=loc) for k in range(len(outputs))]
    first_shared = len(carry_in) - len(shared_vars)
    updates = {
        v: apply(op.sibling("carry", first_shared + k), outer, loc=loc)
        for k, v in enumerate(shared_vars)
    }
    return stacked, updates
