"""``backend="c"``: a graph lowered to one kernel program, compiled, cached and loaded.

The per-call path is the fixed C shim of :mod:`codegen.load_c` (it checks
dtypes and ndims and allocates outputs); lengths declared in the graph are
checked inside the kernel. Only when a call fails does Python look at the
arguments again, to raise exactly the error the reference backend raises.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..config import config
from ..errors import SymcCompileError, SymcError, SymcShapeError, SymcValueError
from ..graph.location import format_location, user_location, with_location
from .function import Function, _fail

_LINE_RE = re.compile(r"kernel\.c:(\d+)")
_STMT_RE = re.compile(r"/\* statement (\d+):")


class NativeFunction(Function):
    """A compiled graph running as native code; ``source`` is the generated C.

    A function with no shared variables, updates, lifted constants or declared
    lengths is an instance of a subclass of the call shim's kernel type
    (:func:`_direct_class`): calling it enters C with no Python frame, and
    Python runs only when a call fails (:meth:`_slow_call`).
    """

    def __new__(cls, inputs, outputs, single, updates, backend, loc, rewrites=None):
        lowered, loaded = _build(inputs, outputs, updates, single, loc, rewrites)
        # declared lengths are not compiled in (programs stay shape-generic): checked per call
        strict = _strict(inputs)
        plain = not (lowered.constants or lowered.shared or updates or strict)
        direct = _direct_class(cls, loaded.fn) if plain else None
        if direct is None:
            self = super().__new__(cls)
        else:
            self = type(loaded.fn).__new__(direct)
            self.rebind(loaded.fn)
        self._lowered, self._loaded, self._plain, self._strict = lowered, loaded, plain, strict
        return self

    def __init__(self, inputs, outputs, single, updates, backend, loc, rewrites=None):
        super().__init__(inputs, outputs, single, updates, backend, loc)
        lowered = self._lowered
        self._kernel = self._loaded.fn
        self._extra = [np.asarray(a) for _, a in lowered.constants]
        self._shared = [n.op.container for _, n in lowered.shared]
        self._containers = [var.op.container for var, _ in updates]

    def _slow_call(self, args: tuple, err: BaseException) -> Any:
        """A direct call failed in C: explain it, or convert the arguments and call again."""
        return self._retry(args, err)

    @property
    def source(self) -> str:
        """The generated C99 translation unit."""
        return self._loaded.source

    def __call__(self, *args: Any) -> Any:
        if self._plain:
            try:
                return self._kernel(*args)
            except Exception as err:  # noqa: BLE001 - translated below
                return self._retry(args, err)
        if self._strict:
            if len(args) != len(self.inputs):
                return super().__call__(*args)  # raises the argument-count error
            args = [check(a) for check, a in zip(self._checks, args, strict=True)]
        extra = [c.value for c in self._shared] + self._extra
        try:
            outs = self._kernel(*args, *extra)
        except Exception as err:  # noqa: BLE001 - translated below
            outs = self._retry(args, err, extra)
        return self._finish(outs)

    def scratch_bytes(self, *args: Any) -> dict[str, int]:
        """The temporaries a call with ``args`` allocates (label -> bytes), without calling.

        Evaluates the program's temporary shapes (a loop's carries, stored rows
        and body buffers included) for these arguments; temporaries that share
        one allocation count once, under the label of the one that owns it.
        """
        from codegen.reuse import plan_reuse

        if len(args) != len(self.inputs):
            return super().__call__(*args)  # raises the argument-count error
        arrays = [check(a) for check, a in zip(self._checks, args, strict=True)]
        lowered = self._lowered
        extra = {k: c.value for c, (k, _) in zip(self._shared, lowered.shared, strict=True)}
        extra.update({k: a for k, a in lowered.constants})
        program = lowered.program
        arrays += [np.asarray(extra[k]) for k in range(len(arrays), len(program.inputs))]
        given = dict(zip(program.inputs, arrays, strict=True))
        owners = _temp_owners(program, lowered.ctx.stmt_nodes)
        shared = plan_reuse(program)
        sizes: dict[str, int] = {}
        for buf in program.temps:
            if buf in shared:
                continue
            count = 1
            for d in buf.shape:
                count *= max(_eval_dim(d, given), 0)
            node = owners.get(buf)
            label = f"{buf.name} {node.op.label()}" if node is not None else buf.name
            sizes[label] = count * np.dtype(buf.dtype).itemsize
        return sizes

    def _finish(self, outs: list) -> Any:
        n = self._n_out
        for container, new in zip(self._containers, outs[n:], strict=True):
            container.value = new
        if self._single:
            return outs[0]
        return outs[:n]

    def _retry(self, args: tuple, err: Exception, extra: list | None = None) -> Any:
        """The call failed: raise the reference backend's error, or convert and call again."""
        from codegen.errors import KernelError

        if len(args) != len(self.inputs):
            return super().__call__(*args)  # raises the argument-count error
        values = [check(a) for check, a in zip(self._checks, args, strict=True)]
        if isinstance(err, KernelError):
            raise self._kernel_error(err.code, values)
        if not isinstance(err, (TypeError, ValueError)):
            raise err
        # the shim converts only safely; same_kind conversions happen here
        try:
            return self._kernel(*values, *(extra or []))
        except KernelError as again:
            raise self._kernel_error(again.code, values) from None

    def _kernel_error(self, code: int, values: list) -> Exception:
        """The error for a failed call: the reference backend's own, when it fails too.

        Failures are rare, so running the NumPy reference on the same arguments
        is affordable, and gives the exact message (with the run-time shapes and
        indices) the python backend gives.
        """
        try:
            self._plan.run(values)
        except SymcError as err:
            return _fail(err, user_location())
        except Exception:  # noqa: BLE001 - fall back to the kernel's own explanation
            pass
        return _fail(self._status_error(code), user_location())

    def _status_error(self, code: int) -> Exception:
        from codegen import abi

        ctx = self._lowered.ctx
        info = None
        if code >= abi.ERR_GUARD_BASE and code - abi.ERR_GUARD_BASE < len(ctx.guard_info):
            info = ctx.guard_info[code - abi.ERR_GUARD_BASE]
        elif code >= abi.ERR_CHECK_BASE and code - abi.ERR_CHECK_BASE < len(ctx.check_info):
            info = ctx.check_info[code - abi.ERR_CHECK_BASE]
        if info is not None:
            return with_location(info.cls(info.message), getattr(info.node, "loc", None))
        if code == abi.ERR_EMPTY_REDUCTION:
            nodes = [n for n in ctx.stmt_nodes if n is not None]
            node = next((n for n in nodes if n.op.name in _NO_IDENTITY), None)
            label = node.op.name if node is not None else "reduction"
            err = SymcShapeError(
                f"{label}: cannot reduce an empty axis of an array (the reduction has no identity)."
            )
            return with_location(err, getattr(node, "loc", None))
        if code == abi.ERR_BROADCAST:
            return SymcShapeError(f"function: {abi.message(code)}.")
        if code == abi.ERR_NOMEM:
            return MemoryError(abi.message(code))
        return SymcValueError(f"function: {abi.message(code)} (status {code}).")


_MEMO: dict = {}
_DIRECT: dict = {}


def _direct_class(cls, kernel):
    """``cls`` mixed with the shim's kernel type, calling straight into C; None without a shim."""
    ktype = type(kernel)
    if not getattr(ktype, "rebind", None):  # the cffi fallback has no direct path
        return None
    direct = _DIRECT.get((cls, ktype))
    if direct is None:
        # assigning the base's own slot wrapper makes CPython call the C slot directly
        ns = {"__call__": ktype.__call__, "__module__": cls.__module__, "__doc__": cls.__doc__}
        direct = type(cls.__name__, (cls, ktype), ns)
        _DIRECT[(cls, ktype)] = direct
    return direct


_NO_IDENTITY = ("max", "min", "argmax", "argmin", "softmax", "log_softmax", "logsumexp")


def _build(inputs, outputs, updates, single, loc, rewrites=None):
    """Optimize, lower, compile (or fetch) and load; memoized on the graph's identity.

    A graph some earlier process compiled is found through the warm index
    (:mod:`symc.compile.warm`), which skips optimizing, lowering and rendering.
    """
    from codegen.errors import CodegenError, CompileError
    from codegen.load_c import compile_and_load

    targets = list(outputs) + [e for _, e in updates]
    key = (
        tuple(map(id, inputs)),
        tuple(map(id, targets)),
        single and not updates,
        str(config.cache_dir),
        config.num_threads,
        config.exclude_rewrites,
        repr(sorted((rewrites or {}).items())),
    )
    hit = _MEMO.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], list(inputs) + targets, strict=True)):
        return hit[1], hit[2]

    def relower():
        from ..lower import lower
        from ..rewriting.pipeline import optimize

        return lower(list(inputs), optimize(targets, **(rewrites or {})))

    index = _index_key(inputs, outputs, updates, single, rewrites)
    if index is not None:
        from . import warm

        found = warm.lookup(index[0], index[1], nthreads=config.num_threads, relower=relower)
        if found is not None:
            _MEMO[key] = (list(inputs) + targets, *found)
            return found
    lowered = relower()
    # only a call without extra inputs or updates returns the kernel's result as is
    single_out = single and not (updates or lowered.constants or lowered.shared or _strict(inputs))
    try:
        loaded = compile_and_load(
            lowered.program,
            cache_dir=config.cache_dir,
            nthreads=config.num_threads,
            single=single_out,
            fast=True,
        )
    except CompileError as err:
        raise _fail(_compile_error(err, lowered), loc) from None
    except CodegenError as err:
        raise _fail(SymcCompileError(f"function: backend='c' failed: {err}"), loc) from None
    if index is not None:
        from . import warm

        warm.record(index[0], index[1], lowered, loaded, single=single_out)
    _MEMO[key] = (list(inputs) + targets, lowered, loaded)
    return lowered, loaded


def _index_key(inputs, outputs, updates, single, rewrites):
    """``(cache, key)`` of the warm index for this function, or None (no index)."""
    from codegen.cache import Cache
    from codegen.errors import CodegenError
    from codegen.toolchain import get_toolchain

    from . import warm

    try:
        cache = Cache(config.cache_dir)
        root = cache._usable_root()
        if root is None:
            return None  # a private build each time: nothing to index
        key = warm.index_key(inputs, outputs, updates, single, rewrites, get_toolchain(root))
    except (CodegenError, OSError):
        return None  # the full path reports what is wrong
    return None if key is None else (cache, key)


def _temp_owners(program, stmt_nodes: list) -> dict:
    """temp Buffer -> the node of the first top-level statement that uses it."""
    from dataclasses import fields

    from codegen import ir

    def visit(obj, node, seen: set) -> None:
        if isinstance(obj, tuple):
            for item in obj:
                visit(item, node, seen)
        elif isinstance(obj, ir.Buffer):
            owners.setdefault(obj, node)
        elif isinstance(obj, ir._Node) and id(obj) not in seen:
            seen.add(id(obj))
            for f in fields(obj):
                visit(getattr(obj, f.name), node, seen)

    owners: dict = {}
    for stmt, node in zip(program.body, stmt_nodes, strict=False):
        visit(stmt, node, set())
    return owners


def _eval_dim(d, given: dict) -> int:
    """The value of a shape :data:`codegen.ir.Dim` for the input arrays ``given``."""
    from codegen import ir

    if isinstance(d, int):
        return d
    if isinstance(d, ir.Shape):
        return int(given[d.buffer].shape[d.axis])
    if isinstance(d, ir.Value):
        return int(given[d.buffer])
    if isinstance(d, ir.IOp):
        from ..lower.dims import FOLD

        return FOLD[d.op](_eval_dim(d.a, given), _eval_dim(d.b, given))
    raise SymcValueError(f"scratch_bytes: cannot evaluate the length {d!r}.")


def _compile_error(err, lowered) -> SymcCompileError:
    """The compiler's complaint, the source around it, and the node that produced those lines."""
    msg = f"function: backend='c' could not compile the generated code: {err}"
    node = _node_for_error(err, lowered)
    if node is not None:
        where = format_location(getattr(node, "loc", None))
        msg += f"\n  the failing lines come from {node.op.label()}"
        if where:
            msg += f", built at {where}"
    return SymcCompileError(msg)


def _node_for_error(err, lowered):
    try:
        from codegen.c import render
        from codegen.toolchain import get_toolchain

        source = render(lowered.program, vector_math=get_toolchain().vector_math)
    except Exception:  # noqa: BLE001 - only an explanation is lost
        return None
    m = _LINE_RE.search(getattr(err, "output", "") or "")
    if not m or not source:
        return None
    lines = source.splitlines()[: int(m.group(1))]
    for line in reversed(lines):
        s = _STMT_RE.search(line)
        if s:
            k = int(s.group(1))
            nodes = lowered.ctx.stmt_nodes
            return nodes[k] if k < len(nodes) else None
    return None


def _strict(inputs) -> bool:
    return any(s is not None for v in inputs for s in v.type.shape)


def compiler_available() -> bool:
    """True when a C compiler can be found (the default backend is then "c")."""
    try:
        from codegen.toolchain import find_compiler

        find_compiler()
    except Exception:  # noqa: BLE001 - any failure means: no usable compiler
        return False
    return True


__all__ = ["NativeFunction", "SymcError", "compiler_available"]
