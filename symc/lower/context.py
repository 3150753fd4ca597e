"""The state of one lowering: buffers, statements, run-time checks, and each node's value.

A lowered node is a :class:`Val`: a buffer seen through a shape, strides and
an offset (all :data:`codegen.ir.Dim`). Views (transposes, slices, broadcasts)
make new ``Val`` s of the same buffer; only computing ops allocate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from codegen import ir

from ..errors import SymcCompileError, SymcIndexError, SymcShapeError, SymcValueError
from ..graph.location import with_location
from . import dims as D
from .run_dims import run_time, sized_buffer

#: error classes a failed run-time check may raise
CHECK_ERRORS = {"shape": SymcShapeError, "index": SymcIndexError, "value": SymcValueError}


@dataclass(frozen=True)
class Val:
    """A node's value: ``buffer`` read through ``shape``/``strides``/``offset``."""

    buffer: ir.Buffer
    shape: tuple
    strides: tuple
    offset: object = 0
    #: known while lowering to be C-contiguous from ``offset`` (so a reshape is a view)
    contiguous: bool = False

    @property
    def dtype(self) -> str:
        return self.buffer.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def view(self) -> ir.View:
        """A view over the value's own index space."""
        return ir.View(self.buffer, tuple(self.strides), self.offset)


def c_strides(shape: tuple) -> tuple:
    """Element strides of a C-contiguous array of ``shape``."""
    out: list = []
    acc: object = 1
    for d in reversed(shape):
        out.append(acc)
        acc = D.mul(acc, d)
    return tuple(reversed(out))


@dataclass
class Failure:
    """What a nonzero status means: the error class, the message, and the node."""

    cls: type
    message: str
    node: object = None


@dataclass
class Ctx:
    """Collects one program. Lowerings call :meth:`val`, :meth:`alloc`, :meth:`emit`, ..."""

    outputs: list
    inputs: list = field(default_factory=list)  # Buffers, call order
    input_nodes: list = field(default_factory=list)
    temps: list = field(default_factory=list)
    body: list = field(default_factory=list)
    checks: list = field(default_factory=list)  # ir.Check
    check_info: list = field(default_factory=list)  # Failure per check
    guard_info: list = field(default_factory=list)  # Failure per guard
    stmt_nodes: list = field(default_factory=list)  # the node that emitted each statement
    vals: dict = field(default_factory=dict)
    node: object = None  # the node being lowered
    out_buffers: dict = field(default_factory=dict)  # id(node) -> Buffer (first occurrence)
    constants: list = field(default_factory=list)  # arrays passed as extra inputs
    #: id(node) -> fn(shape) -> Val: where a loop body's result must be written (a row of a
    #: stacked output), used once by :meth:`alloc`; and the scan lowering's own state
    place: dict = field(default_factory=dict)
    loops: dict = field(default_factory=dict)
    _uses: dict = field(default_factory=dict)  # id(outputs list) -> (outputs, use counts)

    def uses(self, node) -> int:
        """How many times ``node`` is read in the graph being lowered (an output counts once).

        A loop body is lowered with its own ``outputs``, so counts are kept per graph.
        """
        hit = self._uses.get(id(self.outputs))
        if hit is None or hit[0] is not self.outputs:
            from ..graph.traverse import toposort

            counts: dict = {}
            for n in toposort(list(self.outputs)):
                for x in n.inputs:
                    counts[id(x)] = counts.get(id(x), 0) + 1
            for o in self.outputs:
                counts[id(o)] = counts.get(id(o), 0) + 1
            hit = (self.outputs, counts)
            self._uses[id(self.outputs)] = hit
        return hit[1].get(id(node), 0)

    # -- values -------------------------------------------------------------

    def val(self, node) -> Val:
        """The value of an already lowered (or lazily lowerable) node."""
        got = self.vals.get(id(node))
        if got is None:
            from .program import lower_node

            got = lower_node(self, node)
        return got

    def add_input(self, node, name: str, value: np.ndarray | None = None) -> Val:
        """A new input buffer for ``node`` (an argument, shared variable or constant)."""
        t = node.type
        if t.dtype not in ir.DTYPES:
            raise self.error(f"the C backend has no {t.dtype} arrays ({t.describe()}).", node)
        # positional names only: a user's label would make equal programs differ
        buf = ir.Buffer(f"in{len(self.inputs)}", t.dtype, t.ndim)
        self.inputs.append(buf)
        self.input_nodes.append(node)
        if value is not None:
            self.constants.append((len(self.inputs) - 1, value))
        # known lengths other than 1 stay run-time extents (checked when called), so
        # graphs that differ only in those lengths share one compiled program
        shape = tuple(1 if s == 1 else ir.Shape(buf, a) for a, s in enumerate(t.shape))
        strides = tuple(0 if s == 1 else ir.Stride(buf, a) for a, s in enumerate(t.shape))
        return Val(buf, shape, strides)

    def alloc(self, shape: tuple, dtype: str | None = None, temp: bool = False) -> Val:
        """A fresh C-contiguous buffer for the current node's result (or a ``temp`` one).

        The result of a node the program returns is written straight into the
        output buffer the caller allocates.
        """
        node = self.node
        dtype = dtype or node.type.dtype
        if dtype not in ir.DTYPES:
            raise self.error(f"the C backend has no {dtype} arrays.", node)
        shape = tuple(shape)
        if not temp and dtype == node.type.dtype and id(node) in self.place:
            return self.place.pop(id(node))(shape)
        pos = None if temp or dtype != node.type.dtype else self._output_position(node)
        if pos is not None:
            buf = sized_buffer(self, f"out{pos}", dtype, shape, "output")
            self.out_buffers[id(node)] = buf
        else:
            buf = sized_buffer(self, f"t{len(self.temps)}", dtype, shape, "temp")
            self.temps.append(buf)
        return Val(buf, shape, c_strides(shape), 0, True)

    def _output_position(self, node) -> int | None:
        if id(node) in self.out_buffers:
            return None
        for k, o in enumerate(self.outputs):
            if o is node:
                return k
        return None

    # -- statements -----------------------------------------------------------

    def emit(self, stmt) -> None:
        self.body.append(stmt)
        self.stmt_nodes.append(self.node)

    def copy(self, src: Val, dest: Val, shape: tuple | None = None) -> None:
        """Elementwise ``dest[...] = src[...]`` (cast to dest's dtype)."""
        shape = tuple(src.shape if shape is None else shape)
        value = cast(ir.Load(0, src.dtype), dest.dtype)
        self.emit(ir.Elementwise(shape, (src.view(),), (ir.Store(dest.view(), value),)))

    def require(self, a, b, message: str, kind: str = "shape") -> None:
        """A run-time check ``a == b`` (checked before anything runs); folded when constant."""
        if D.same(a, b):
            return
        if isinstance(a, int) and isinstance(b, int):
            raise self.error(message, self.node, CHECK_ERRORS[kind])
        if self.loops.get("bounds") and (run_time(a) or run_time(b)):
            # a length known only while the program runs (run_dims): checked here and then
            self.guard((), (), ir.Compare("ne", ir.Extent(a), ir.Extent(b)), message, kind)
            return
        self.checks.append(ir.Check(a, b, message))
        self.check_info.append(Failure(CHECK_ERRORS[kind], message, self.node))

    def guard(self, shape: tuple, operands: tuple, cond, message: str, kind: str) -> None:
        """Fail the call (``kind`` error) when ``cond`` holds anywhere in ``shape``."""
        from codegen.abi import ERR_GUARD_BASE

        code = ERR_GUARD_BASE + len(self.guard_info)
        self.guard_info.append(Failure(CHECK_ERRORS[kind], message, self.node))
        self.emit(ir.Guard(tuple(shape), tuple(operands), cond, code))

    def error(self, message: str, node=None, cls=SymcCompileError) -> Exception:
        node = self.node if node is None else node
        if node is None:
            return cls(message)
        label = node.op.label()
        text = message if message.startswith((label, node.op.name)) else f"{label}: {message}"
        return with_location(cls(text), getattr(node, "loc", None))


def cast(expr, dtype: str):
    """``expr`` as ``dtype`` (no node when it already is)."""
    if expr.dtype == dtype:
        return expr
    if isinstance(expr, ir.Const):
        return ir.Const(np.asarray(expr.value).astype(dtype).item(), dtype)
    return ir.Cast(expr, dtype)
