"""The kernel IR: a small, backend-neutral description of a compiled program.

A :class:`Program` has input, output and temporary :class:`Buffer` s and a
body of statements executed in order:

* :class:`Elementwise` evaluates scalar expressions over an index space and
  stores them (one or more outputs; a plain copy is an identity store).
* :class:`Reduce` folds a scalar expression over some axes of an index space.
* :class:`Gemm` is a (batched) matrix product, rendered as CBLAS calls.
* :class:`Repeat` runs a list of statements once per step of a loop
  (:class:`Counter` is the step, usable in view offsets).

Operands are :class:`View` s: a buffer plus one stride per axis of the
statement's index space and an offset, all in elements. Views express
broadcasting (stride 0), transposes, slices and negative steps without
copies. Extents, strides and offsets are :data:`Dim` s: Python ints or
:class:`Shape`/:class:`Stride`/:class:`IOp` nodes evaluated at run time,
because a program receives each input's shape and strides when called.
Outputs and temporaries are C-contiguous and their shapes are ``Dim``
tuples. Scalar expressions (:data:`ScalarExpr`) form a DAG; equal
subexpressions are shared, and nodes hash in O(1) after the first time.

Example: ``out = exp(a) * b`` with ``a`` of shape (n, m) and ``b`` of shape (m,)::

    a, b = Buffer("a", "float64", 2), Buffer("b", "float64", 1)
    shape = (Shape(a, 0), bcast(Shape(a, 1), Shape(b, 0)))
    out = Buffer("out", "float64", 2, "output", shape)
    expr = BinOp("mul", Call("exp", (Load(0, "float64"),)), Load(1, "float64"))
    body = [Elementwise(shape, (broadcast_view(a, 2), broadcast_view(b, 2)),
                        (Store(contiguous_view(out), expr),))]
    prog = Program((a, b), (out,), (), tuple(body))
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

from codegen import scalar_fns

#: dtype name -> (C type, itemsize in bytes, kind: f float, i signed, u unsigned, b bool)
DTYPES: dict[str, tuple[str, int, str]] = {
    "float64": ("double", 8, "f"),
    "float32": ("float", 4, "f"),
    "int64": ("int64_t", 8, "i"),
    "int32": ("int32_t", 4, "i"),
    "int16": ("int16_t", 2, "i"),
    "int8": ("int8_t", 1, "i"),
    "uint64": ("uint64_t", 8, "u"),
    "uint32": ("uint32_t", 4, "u"),
    "uint16": ("uint16_t", 2, "u"),
    "uint8": ("uint8_t", 1, "u"),
    "bool": ("_Bool", 1, "b"),
}

ROLES = ("input", "output", "temp")
REDUCE_OPS = ("sum", "prod", "max", "min", "argmax", "argmin")


class _Node:
    """Structural equality and a cached hash, so DAGs with sharing hash in linear time."""

    __slots__ = ()

    def _key(self) -> tuple:
        return (type(self),) + tuple(getattr(self, f.name) for f in fields(self))

    def __hash__(self) -> int:
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash(self._key())
            object.__setattr__(self, "_hash", h)
        return h

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(self) is not type(other) or hash(self) != hash(other):
            return False
        return self._key() == other._key()


@dataclass(frozen=True, eq=False)
class Buffer(_Node):
    """An array the program reads or writes.

    Args:
        name: a label for error messages and comments; never used as a C identifier.
        dtype: one of :data:`DTYPES`.
        ndim: number of axes.
        role: "input", "output" or "temp".
        shape: for outputs and temporaries, one :data:`Dim` per axis.
    """

    name: str
    dtype: str
    ndim: int
    role: str = "input"
    shape: tuple | None = None


@dataclass(frozen=True, eq=False)
class Shape(_Node):
    """The run-time extent of ``buffer`` along ``axis``."""

    buffer: Buffer
    axis: int


@dataclass(frozen=True, eq=False)
class Stride(_Node):
    """The run-time stride (in elements) of ``buffer`` along ``axis``."""

    buffer: Buffer
    axis: int


#: Integer operations on Dims. "bcast" merges two extents by NumPy's rule and
#: fails the call (ERR_BROADCAST) when they differ and neither is 1;
#: "bstride" is ``0 if a == 1 else b`` (the stride of a broadcast axis).
#: "lt" is ``1 if a < b else 0`` (slice clamping and bounds checks are built from it).
IOPS = ("add", "sub", "mul", "floordiv", "max", "min", "bcast", "bstride", "lt")


@dataclass(frozen=True, eq=False)
class IOp(_Node):
    """An integer operation on two :data:`Dim` s; ``op`` is one of :data:`IOPS`."""

    op: str
    a: Dim
    b: Dim


@dataclass(frozen=True, eq=False)
class Value(_Node):
    """The run-time value (as int64) of a 0-d integer ``buffer``.

    Of an *input*: lets extents and offsets depend on data (symbolic slice
    bounds, lengths given as scalar arguments); ``P_shapes`` receives the data
    pointers for this. Of a temporary or output the program writes while it
    runs (a :class:`Repeat`'s ``steps``): a *run-time* Dim, allowed only in
    statements after that write and in :attr:`Program.rows`, never in a
    buffer's shape or a :class:`Check` (those are computed before anything runs).
    """

    buffer: Buffer


@dataclass(frozen=True, eq=False)
class Counter(_Node):
    """The current step (as int64) of the enclosing :class:`Repeat` whose ``var`` is ``var``.

    Only statements inside that loop may use it, and only in strides and
    offsets (a buffer's shape or a check is computed before any loop runs).
    """

    var: int


Dim = int | Shape | Stride | IOp | Value | Counter


def bcast(*dims: Dim) -> Dim:
    """The broadcast of several extents (checked at run time)."""
    out = dims[0]
    for d in dims[1:]:
        out = IOp("bcast", out, d)
    return out


@dataclass(frozen=True, eq=False)
class Check(_Node):
    """A run-time requirement ``a == b`` checked by ``P_shapes``; ``message`` explains it."""

    a: Dim
    b: Dim
    message: str = "incompatible input shapes"


# --- scalar expressions -------------------------------------------------


@dataclass(frozen=True, eq=False)
class Load(_Node):
    """The current element of operand ``operand`` of the enclosing statement.

    ``offset`` (an int64 scalar expression, optional) moves the load by that
    many elements from the current position: a gather.
    """

    operand: int
    dtype: str
    offset: ScalarExpr | None = None


@dataclass(frozen=True, eq=False)
class Const(_Node):
    """A literal; ``value`` is a Python int, float or bool."""

    value: object
    dtype: str


@dataclass(frozen=True, eq=False)
class Index(_Node):
    """The current loop index (int64) along ``axis`` of the enclosing index space."""

    axis: int
    dtype: str = "int64"


@dataclass(frozen=True, eq=False)
class Extent(_Node):
    """The value of the :data:`Dim` ``dim`` (a length, stride or scalar argument) as int64."""

    dim: object
    dtype: str = "int64"


@dataclass(frozen=True, eq=False)
class Cast(_Node):
    """``x`` converted to ``dtype`` (C conversion rules; NumPy's on x86-64)."""

    x: ScalarExpr
    dtype: str


@dataclass(frozen=True, eq=False)
class Call(_Node):
    """A function from :data:`codegen.scalar_fns.FUNCTIONS` applied to ``args``."""

    fn: str
    args: tuple

    @cached_property
    def dtype(self) -> str:
        return scalar_fns.result_dtype(self.fn, [a.dtype for a in self.args])


def UnaryOp(op: str, x: ScalarExpr) -> Call:  # noqa: N802 - reads like a node type
    """A one-argument :class:`Call` (``neg``, ``logical_not``, ``invert``, ...)."""
    return Call(op, (x,))


def BinOp(op: str, a: ScalarExpr, b: ScalarExpr) -> Call:  # noqa: N802
    """A two-argument :class:`Call` (``add``, ``floordiv``, ``maximum``, ...)."""
    return Call(op, (a, b))


def Compare(op: str, a: ScalarExpr, b: ScalarExpr) -> Call:  # noqa: N802
    """A comparison :class:`Call` (``eq ne lt le gt ge``); the result is bool."""
    return Call(op, (a, b))


@dataclass(frozen=True, eq=False)
class Select(_Node):
    """``a if cond else b`` elementwise (``np.where``); ``cond`` is bool."""

    cond: ScalarExpr
    a: ScalarExpr
    b: ScalarExpr

    @property
    def dtype(self) -> str:
        return self.a.dtype


ScalarExpr = Load | Const | Index | Extent | Cast | Call | Select


# --- statements ---------------------------------------------------------


@dataclass(frozen=True, eq=False)
class View(_Node):
    """``buffer`` seen through one stride per axis of a statement's index space, plus an offset."""

    buffer: Buffer
    strides: tuple
    offset: Dim = 0


@dataclass(frozen=True, eq=False)
class Store(_Node):
    """Write ``value`` (of the view's dtype) through ``dest``.

    ``offset`` (an int64 scalar expression, optional) moves the write by that
    many elements; ``accumulate`` adds instead of assigning. Together they make
    a scatter-add, which runs serially (indices may repeat).
    """

    dest: View
    value: ScalarExpr
    offset: ScalarExpr | None = None
    accumulate: bool = False


@dataclass(frozen=True, eq=False)
class Elementwise(_Node):
    """Evaluate every store at every point of the index space ``shape``."""

    shape: tuple
    operands: tuple
    stores: tuple


@dataclass(frozen=True, eq=False)
class Reduce(_Node):
    """Fold ``value`` over ``axes`` of ``shape`` with ``op`` and store through ``dest``.

    ``dest`` has one stride per axis of ``shape`` (0 on the reduced axes).
    ``argmax``/``argmin`` store the C-order flat index over the reduced axes.
    ``acc_dtype`` is the accumulator's dtype (default: :func:`default_acc_dtype`).
    ``empty_ok``: an empty max/min stores its start value (-inf/+inf, or the
    dtype's limit) instead of failing the call with ``ERR_EMPTY_REDUCTION``.
    """

    shape: tuple
    axes: tuple
    operands: tuple
    value: ScalarExpr
    op: str
    dest: View
    acc_dtype: str | None = None
    empty_ok: bool = False


@dataclass(frozen=True, eq=False)
class Gemm(_Node):
    """``c[i] = alpha * a[i] @ b[i] + beta * c[i]`` for ``i < batch``.

    ``a``, ``b``, ``c`` are views with three strides each: (batch, rows, cols),
    of shapes (batch, m, k), (batch, k, n), (batch, m, n). Float dtypes call
    CBLAS (transposes and leading dimensions come from the strides; others are
    copied first); integer dtypes use a plain loop.
    """

    a: View
    b: View
    c: View
    m: Dim
    n: Dim
    k: Dim
    batch: Dim = 1
    alpha: float = 1.0
    beta: float = 0.0


@dataclass(frozen=True, eq=False)
class Guard(_Node):
    """Fail the call with status ``code`` if the bool ``cond`` holds anywhere in ``shape``.

    Data-dependent checks (gather indices in bounds) that ``Program.checks``,
    which see only shapes and scalar values, cannot express.
    """

    shape: tuple
    operands: tuple
    cond: ScalarExpr
    code: int


@dataclass(frozen=True, eq=False)
class Repeat(_Node):
    """Run the statements ``body`` ``count`` times, in order, one step after another.

    Inside ``body``, ``Counter(var)`` is the step's row index: 0, 1, ...,
    count - 1, or count - 1, ..., 0 when ``reverse``. Views offset by it read
    or write one row per step; ``var`` must differ from every enclosing loop's.
    Buffers the body uses are allocated once, before the loop.

    ``stop`` (a 0-d view, optional) is read at the end of each step: when it
    holds (nonzero), the loop ends after that step. ``steps`` (a 0-d int64
    temporary or output, optional) receives the number of steps that ran.
    """

    var: int
    count: Dim
    body: tuple
    reverse: bool = False
    stop: View | None = None
    steps: Buffer | None = None


Stmt = Elementwise | Reduce | Gemm | Guard | Repeat


@dataclass(frozen=True, eq=False)
class Program(_Node):
    """A whole compiled function: buffers, shape checks and a body run in order.

    ``rows`` lists ``(output, count)`` pairs for outputs whose axis 0 is only
    an upper bound (the rows a loop with a stop condition may fill): after the
    body ran, ``output`` holds ``count`` (a Dim, possibly run-time) rows, and
    ``P_run`` reports that length to the caller (see :mod:`codegen.abi`).
    """

    inputs: tuple
    outputs: tuple
    temps: tuple = ()
    body: tuple = ()
    checks: tuple = ()
    rows: tuple = ()

    @property
    def buffers(self) -> tuple:
        return self.inputs + self.outputs + self.temps


# --- helpers for building views ------------------------------------------


def contiguous_view(buf: Buffer) -> View:
    """A view of ``buf`` indexed by its own axes (its run-time strides)."""
    return View(buf, tuple(Stride(buf, i) for i in range(buf.ndim)))


def broadcast_view(buf: Buffer, ndim: int) -> View:
    """A view of ``buf`` broadcast (NumPy rules, right-aligned) to an ``ndim``-axis space."""
    lead = ndim - buf.ndim
    if lead < 0:
        raise ValueError(f"cannot broadcast a {buf.ndim}-d buffer to {ndim} axes")
    own = tuple(IOp("bstride", Shape(buf, i), Stride(buf, i)) for i in range(buf.ndim))
    return View(buf, (0,) * lead + own)


def default_acc_dtype(op: str, dtype: str) -> str:
    """The accumulator dtype NumPy-like reductions use: float32 sums in double, ints in int64."""
    kind = DTYPES[dtype][2]
    if op in ("sum", "prod"):
        if kind == "f":
            return "float64"
        return "uint64" if kind == "u" else "int64"
    return dtype


def reduce_out_dtype(node: Reduce) -> str:
    """The dtype a :class:`Reduce` stores (int64 for arg-reductions)."""
    return node.dest.buffer.dtype
