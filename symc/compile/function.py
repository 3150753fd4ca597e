"""``symc.function``: compile a graph into a Python callable.

Arguments are checked against the symbolic inputs' types (count, NumPy
"same_kind" castability, ndim, static lengths); updates of shared variables
are applied after every output has been computed, so outputs see old values.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..config import config
from ..errors import (
    SymcBackendUnavailableError,
    SymcDisconnectedError,
    SymcError,
    SymcInputError,
    SymcShapeError,
    SymcTypeError,
    SymcValueError,
)
from ..gcpause import gc_paused
from ..graph.location import format_location, user_location, with_location
from ..graph.node import Node
from ..graph.traverse import inputs_of
from ..graph.types import same_shape
from ..ops.leaves import Input, Shared


def _fail(err: Exception, loc) -> Exception:
    return with_location(err, loc, verb="called at")


def _label(i: int, var: Node) -> str:
    return f"input {i} ({var.name})" if var.name else f"input {i}"


def _normalize_updates(updates: Any, loc) -> list[tuple[Node, Node]]:
    from ..api.convert import as_node

    if updates is None:
        return []
    items = list(updates.items()) if isinstance(updates, Mapping) else list(updates)
    out: list[tuple[Node, Node]] = []
    seen: set[int] = set()
    for item in items:
        try:
            var, expr = item
        except (TypeError, ValueError):
            raise _fail(
                SymcTypeError(
                    f"function: an update must be a (shared, expression) pair, got {item!r}."
                ),
                loc,
            ) from None
        if not isinstance(var, Node) or not isinstance(var.op, Shared):
            raise _fail(
                SymcTypeError(f"function: can only update shared variables, not {var!r}."), loc
            )
        if id(var) in seen:
            raise _fail(
                SymcValueError(f"function: shared variable {var.name!r} is updated twice."), loc
            )
        seen.add(id(var))
        expr = as_node(expr, like=var)
        t, e = var.type, expr.type
        if not dtypes.can_cast(e.dtype, t.dtype):
            raise _fail(
                SymcTypeError(
                    f"function: the update of shared variable {var.name!r} ({t.describe()}) "
                    f"has dtype {e.dtype}, which does not cast to {t.dtype}." + _built(expr)
                ),
                loc,
            )
        if not same_shape(t.shape, e.shape):
            raise _fail(
                SymcShapeError(
                    f"function: the update of shared variable {var.name!r} ({t.describe()}) "
                    f"has {e.describe()}." + _built(expr)
                ),
                loc,
            )
        if e.dtype != t.dtype:
            from ..api.math import cast

            expr = cast(expr, t.dtype)
        out.append((var, expr))
    return out


def _built(node: Node) -> str:
    where = format_location(node.loc)
    return f"\n  expression built at {where}" if where else ""


class Function:
    """A compiled graph. Call it with arrays; read ``source`` for what it runs."""

    def __init__(self, inputs, outputs, single, updates, backend, loc):
        self.inputs = inputs
        self.outputs = outputs
        self.updates = updates
        self.backend = backend
        self._single = single
        self._loc = loc
        self._n_out = len(outputs)
        self._checks = [_arg_check(i, v) for i, v in enumerate(inputs)]
        self._leaf_outputs = [o.is_leaf for o in outputs]

    @functools.cached_property
    def _plan(self):
        """The reference evaluation (native backends use it only to explain a failed call)."""
        from .reference import Plan

        return Plan(self.inputs, self.outputs + [e for _, e in self.updates])

    @property
    def source(self) -> str:
        """What this function evaluates; for ``backend="python"``, the graph as text."""
        from ..graph.printing import dprint_text

        return dprint_text(self.outputs + [e for _, e in self.updates])

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.inputs):
            wanted = ", ".join(
                f"{v.name or f'input {i}'}: {v.type}" for i, v in enumerate(self.inputs)
            )
            given = ", ".join(_describe_arg(a) for a in args)
            raise _fail(
                SymcInputError(
                    f"function: expected {len(self.inputs)} argument"
                    f"{'' if len(self.inputs) == 1 else 's'} ({wanted}), got {len(args)}"
                    f"{f' ({given})' if args else ''}."
                    + (f"\n  function built at {format_location(self._loc)}" if self._loc else "")
                ),
                user_location(),
            )
        values = [check(a) for check, a in zip(self._checks, args, strict=True)]
        try:
            results = self._plan.run(values)
        except SymcError as err:
            # the message says where the failing node was built; add where it was called
            raise _fail(err, user_location()) from None
        # never hand out an array the caller or a shared variable also holds
        outs = [
            r.copy() if leaf or not r.flags.writeable or r.base is not None else r
            for r, leaf in zip(results[: self._n_out], self._leaf_outputs, strict=True)
        ]
        for (var, _), new in zip(self.updates, results[self._n_out :], strict=True):
            var.op.container.value = np.array(new, dtype=var.type.dtype)
        if self._single:
            return outs[0]
        return outs

    def scratch_bytes(self, *args: Any) -> dict[str, int]:
        """The intermediate buffers a call with ``args`` allocates: label -> bytes.

        Everything the call allocates except its inputs and the outputs it
        returns: intermediate arrays, and what loops keep (their carry, the
        rows of stacked outputs, the largest buffers of one step of their
        body). Labels name the node (``#slot op (file:line)``). The call is
        evaluated but updates are not applied.

        >>> sum(f.scratch_bytes(x0, 10**6).values())   # O(1) for a final-state-only loop
        """
        if self.backend != "python":
            raise _fail(
                SymcBackendUnavailableError(
                    f"scratch_bytes: not available for backend={self.backend!r} yet."
                ),
                user_location(),
            )
        from .reference import measure

        return measure(self, args)

    def export(self, directory: str, name: str = "fn"):
        """Standalone C for this function (needs the C backend)."""
        raise _fail(
            SymcBackendUnavailableError(
                "export: standalone C export needs the C backend, which is not available yet."
            ),
            user_location(),
        )


def _describe_arg(arg: Any) -> str:
    if isinstance(arg, np.ndarray):
        return f"shape {arg.shape} {arg.dtype}"
    return type(arg).__name__


def _arg_check(index: int, var: Node):
    t = var.type
    want = t.dtype
    label = _label(index, var)

    def check(arg: Any) -> np.ndarray:
        arr = arg if isinstance(arg, np.ndarray) else np.asarray(arg)
        if arr.dtype.name != want:
            if arr.dtype == object or not dtypes.can_cast(arr.dtype.name, want):
                raise _fail(
                    SymcTypeError(
                        f"function: {label} expects {t.describe()}, got an array of dtype "
                        f"{arr.dtype} (shape {arr.shape}) that does not cast to {want} "
                        f"under NumPy's same_kind rule."
                    ),
                    user_location(),
                )
            arr = arr.astype(want)
        if arr.ndim != t.ndim:
            raise _fail(
                SymcShapeError(
                    f"function: {label} expects {t.ndim} dimensions ({t.describe()}), "
                    f"got shape {arr.shape} ({arr.dtype})."
                ),
                user_location(),
            )
        for a, (s, d) in enumerate(zip(t.shape, arr.shape, strict=True)):
            if s is not None and s != d:
                raise _fail(
                    SymcShapeError(
                        f"function: {label} expects {t.describe()}, got shape {arr.shape} "
                        f"({arr.dtype}): axis {a} has length {d}, not {s}."
                    ),
                    user_location(),
                )
        return arr

    return check


def function(
    inputs: Sequence[Node],
    outputs: Node | Sequence[Node],
    updates: Any = None,
    backend: str | None = None,
    on_unused_input: str = "raise",
    rewrites: Any = None,
) -> Function:
    """Compile ``outputs`` as a function of ``inputs``.

    Args:
        inputs: symbolic inputs (``sc.scalar``, ``sc.vector``, ...), in call order.
        outputs: a node (the call returns an array) or a list (it returns a list).
        updates: ``[(shared, new_value_expr), ...]`` or a dict, applied after each call.
        backend: "python" (reference), "c" or "cuda"; default ``config.backend``.
        on_unused_input: "raise" (default) or "ignore" for inputs the outputs don't use.
        rewrites: the optimizer's options: ``dict(exclude=[names or tags],
            include=["fast_math"])``, or ``False`` to evaluate the graph as
            written (for debugging and before/after comparisons). Every
            backend, ``"python"`` included, runs the optimized graph.

    >>> f = sc.function([x], x * 2, backend="python"); f(3.0)
    """
    from ..api.convert import as_node

    loc = user_location()
    chosen = backend
    backend = backend or config.backend
    if backend not in ("python", "c", "cuda"):
        raise _fail(
            SymcValueError(f"function: unknown backend {backend!r} (python, c, cuda)."), loc
        )
    if backend == "cuda":
        raise _fail(
            SymcBackendUnavailableError(
                f"function: backend={backend!r} is not available yet in this version of symc; "
                f"use backend='c' or backend='python'."
            ),
            loc,
        )
    if on_unused_input not in ("raise", "ignore"):
        raise _fail(
            SymcValueError(
                f"function: on_unused_input must be 'raise' or 'ignore', got {on_unused_input!r}."
            ),
            loc,
        )
    if isinstance(inputs, Node):
        inputs = [inputs]
    inputs = list(inputs)
    single = isinstance(outputs, Node) or not isinstance(outputs, (list, tuple))
    outs = [as_node(o) for o in ([outputs] if single else list(outputs))]
    seen: set[int] = set()
    for i, v in enumerate(inputs):
        if not isinstance(v, Node) or not isinstance(v.op, Input):
            kind = (
                "a shared variable" if isinstance(v, Node) and isinstance(v.op, Shared) else repr(v)
            )
            raise _fail(
                SymcInputError(
                    f"function: input {i} must be a symbolic input (sc.scalar, sc.vector, ...), "
                    f"got {kind}."
                ),
                loc,
            )
        if id(v) in seen:
            raise _fail(SymcInputError(f"function: {_label(i, v)} is listed twice."), loc)
        seen.add(id(v))
    upd = _normalize_updates(updates, loc)
    needed = inputs_of(outs + [e for _, e in upd])
    for leaf in needed:
        if isinstance(leaf.op, Input) and id(leaf) not in seen:
            raise _fail(
                SymcInputError(
                    f"function: the outputs depend on {leaf.name or 'an unnamed input'} "
                    f"({leaf.type.describe()}), which is not among the inputs."
                    + (
                        f"\n  that input was built at {format_location(leaf.loc)}"
                        if leaf.loc
                        else ""
                    )
                ),
                loc,
            )
    if on_unused_input == "raise":
        used = {id(n) for n in needed}
        for i, v in enumerate(inputs):
            if id(v) not in used:
                raise _fail(
                    SymcDisconnectedError(
                        f"function: {_label(i, v)} of {v.type.describe()} is not used by the "
                        f"outputs; pass on_unused_input='ignore' to allow it."
                    ),
                    loc,
                )
    opts = _rewrite_options(rewrites, loc)
    if backend == "c" and chosen is None and not _have_compiler():
        backend = "python"
    if backend == "c":
        # the first native build loads the compile path's modules: promote
        # their objects then, and only then (promoting is process-wide)
        with gc_paused(promote="symc.compile.native" not in sys.modules):
            from .native import NativeFunction

            return NativeFunction(inputs, outs, single, upd, backend, loc, rewrites=opts)
    if opts["enabled"]:
        from ..rewriting.pipeline import optimize

        graph = optimize(outs + [e for _, e in upd], **opts)
        shared_vars = [v for v, _ in upd]
        outs, upd = graph[: len(outs)], list(zip(shared_vars, graph[len(outs) :], strict=True))
    return Function(inputs, outs, single, upd, backend, loc)


@functools.cache
def _have_compiler() -> bool:
    """Whether the default backend "c" can work here; warns once when it cannot."""
    from .native import compiler_available

    if compiler_available():
        return True
    import warnings

    warnings.warn(
        "symc: no C compiler found (set CC to one); functions use backend='python'.",
        RuntimeWarning,
        stacklevel=3,
    )
    return False


def _rewrite_options(rewrites: Any, loc) -> dict:
    """``function``'s ``rewrites=`` argument as keyword arguments of ``optimize``."""
    if rewrites is None or rewrites is True:
        return {"enabled": True, "exclude": (), "include": ()}
    if rewrites is False:
        return {"enabled": False, "exclude": (), "include": ()}
    if isinstance(rewrites, Mapping) and set(rewrites) <= {"enabled", "exclude", "include"}:
        return {
            "enabled": bool(rewrites.get("enabled", True)),
            "exclude": tuple(rewrites.get("exclude", ())),
            "include": tuple(rewrites.get("include", ())),
        }
    raise _fail(
        SymcValueError(
            f"function: rewrites must be None, False or a dict with keys enabled, exclude, "
            f"include; got {rewrites!r}."
        ),
        loc,
    )
