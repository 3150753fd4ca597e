"""Render a kernel IR :class:`~codegen.ir.Program` as one self-contained C99 translation unit.

The unit exports the functions described in :mod:`codegen.abi` and nothing
else that could clash (helpers are ``static``). Every identifier in it is
generated here from positions (``in0``, ``out1``, ``tmp0``, ``p2_s1`` ...);
buffer labels appear only in comments, reduced to a safe character set.
Elementwise statements become calls of shared loop functions
(:mod:`codegen.c_elementwise`), run with the matrix products from a constant
table (:mod:`codegen.c_table`); the other loop nests are written inline by
:mod:`codegen.c_loops`. All temporaries share one allocation.
"""

from __future__ import annotations

import re
from dataclasses import fields

from codegen import abi, templates
from codegen.c_elementwise import ElementwiseWriter, LoopCall
from codegen.c_loops import LoopWriter
from codegen.c_repeat import repeat
from codegen.c_table import TableWriter
from codegen.errors import IRError
from codegen.ir import (
    DTYPES,
    Buffer,
    Counter,
    Elementwise,
    Gemm,
    Guard,
    IOp,
    Program,
    Reduce,
    Repeat,
    Shape,
    Stride,
    Value,
    _Node,
)
from codegen.layout import Equal
from codegen.printer import ScalarPrinter, c_type
from codegen.reuse import plan_reuse
from codegen.validate import validate

#: libm functions glibc's libmvec (x86-64, glibc >= 2.35) has vector variants of.
VECTOR_LIBM = (
    "exp log sin cos tan pow expm1 log1p log2 log10 exp2 sinh cosh tanh "
    "asin acos atan atan2 asinh acosh atanh erf erfc hypot cbrt"
).split()
_TWO_ARGS = {"pow", "atan2", "hypot"}
_PREFIX_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}\Z")
DEFAULT_PARALLEL_THRESHOLD = 1 << 16


def opt_level(program: Program) -> str:
    """The optimization flag worth compiling ``program`` with: ``"-O1"`` or ``"-O2"``.

    Loops vectorize through their ``omp simd`` pragmas at either level (with
    ``-fopenmp-simd``), so -O1 costs a kernel of array statements little while
    it cuts its compile time by a fifth to a third. A :class:`Repeat` is the
    exception: its steps run thousands of times with small operands, and -O2
    (which inlines and specializes the step's helpers) runs them about 3x faster.
    """
    return "-O2" if any(isinstance(s, Repeat) for s in program.body) else "-O1"


def safe_comment(text: str) -> str:
    """Reduce a user label to characters that cannot end a C comment or start a directive."""
    return re.sub(r"[^A-Za-z0-9_.,:+\- ]", "", str(text))[:60]


def render(
    program: Program,
    *,
    prefix: str = "symc",
    vector_math: bool = False,
    parallel_threshold: int = DEFAULT_PARALLEL_THRESHOLD,
) -> str:
    """Return the C99 source of ``program``.

    Args:
        program: the kernel IR (validated first; :class:`IRError` if malformed).
        prefix: prefix of the exported names (``prefix_run`` ...), a C identifier.
        vector_math: declare libm functions with ``simd`` attributes so that
            loops calling them vectorize with libmvec (link ``-lmvec``).
        parallel_threshold: loops over fewer elements stay single-threaded.
    """
    if not _PREFIX_RE.match(prefix):
        raise IRError(f"export prefix {prefix!r} is not a short C identifier.")
    validate(program)
    return _Emitter(program, prefix, vector_math, parallel_threshold).source()


class _Emitter:
    def __init__(self, program: Program, prefix: str, vector_math: bool, threshold: int):
        self.p = program
        self.prefix = prefix
        self.vector_math = vector_math
        self.printer = ScalarPrinter()
        self.printer.dim_text = self.dim
        self.names: dict = {}
        for group, tag in (
            (program.inputs, "in"),
            (program.outputs, "out"),
            (program.temps, "tmp"),
        ):
            for i, buf in enumerate(group):
                self.names[buf] = f"{tag}{i}"
        self.loops = LoopWriter(self, threshold, simd=vector_math)
        self.elementwise = ElementwiseWriter(self)
        self.table = TableWriter(self, threshold)
        #: Dims the checks make equal in the body (every check passed before it runs)
        self.equal = Equal((c.a, c.b) for c in program.checks)

    # -- Dims ---------------------------------------------------------------

    def dim(self, d) -> str:
        """A C expression (atomic) for the Dim ``d``."""
        if isinstance(d, bool):
            raise IRError("a Dim cannot be a bool.")
        if isinstance(d, int):
            return f"INT64_C({d})" if d >= 0 else f"(-INT64_C({-d}))"
        if isinstance(d, Shape):
            return f"{self.names[d.buffer]}_d{d.axis}"
        if isinstance(d, Stride):
            return f"{self.names[d.buffer]}_s{d.axis}"
        if isinstance(d, Counter):
            return f"rep{d.var}_t"
        if isinstance(d, Value):
            if d.buffer.role != "input":  # written while the program runs (run_time_stmt)
                return f"((int64_t){self.names[d.buffer]}[0])"
            k = self.p.inputs.index(d.buffer)
            return f"((int64_t)(({c_type(d.buffer.dtype)} const *)data[{k}])[0])"
        if isinstance(d, IOp):
            a, b = self.dim(d.a), self.dim(d.b)
            if d.op in ("add", "sub", "mul"):
                return f"({a} {'+-*'[('add', 'sub', 'mul').index(d.op)]} {b})"
            if d.op == "floordiv":
                return f"{self.printer.need('ifloordiv', 'int64')}({a}, {b})"
            if d.op in ("max", "min"):
                cmp = ">" if d.op == "max" else "<"
                return f"({a} {cmp} {b} ? {a} : {b})"
            if d.op == "bcast":
                return f"{self.printer.need('bcast', None)}({a}, {b}, &berr)"
            if d.op == "bstride":
                return f"({a} == 1 ? INT64_C(0) : {b})"
            if d.op == "lt":
                return f"({a} < {b} ? INT64_C(1) : INT64_C(0))"
        raise IRError(f"cannot render Dim {d!r}.")

    # -- the translation unit -------------------------------------------------

    def source(self) -> str:
        shapes = self._shapes_fn()
        run = self._run_fn()
        head = [
            f"/* Generated by symc codegen (ABI {abi.ABI_VERSION}). Plain C99: compile with",
            "   -fwrapv so that signed integer arithmetic wraps as it does in NumPy. */",
            "#include <math.h>",
            "#include <stdint.h>",
            "#include <stdlib.h>",
            "#ifdef _OPENMP",
            "#include <omp.h>",
            "#endif",
            "",
        ]
        if self.vector_math:
            head += self._simd_decls()
        helpers = templates.render(list(self.printer.helpers))
        helpers += "\n" + "\n".join(self.elementwise.definitions)
        helpers += "\n" + self.table.definitions()
        helpers += "".join(getattr(self, "step_helpers", {}).values())  # codegen/c_repeat.py
        proto = [
            f"int32_t {self.prefix}_abi_version(void) {{ return {abi.ABI_VERSION}; }}",
            "",
        ]
        return "\n".join(head + [helpers] + proto + shapes + [""] + run) + "\n"

    def _simd_decls(self) -> list:
        out = ["/* vector variants from libmvec (link with -lmvec) */"]
        for name in VECTOR_LIBM:
            for ctype, suffix in (("double", ""), ("float", "f")):
                args = ", ".join([ctype] * (2 if name in _TWO_ARGS else 1))
                out.append(f'{ctype} {name}{suffix}({args}) __attribute__((simd("notinbranch")));')
        return out + [""]

    def _comment_buffers(self) -> list:
        out = []
        for buf in self.p.buffers:
            out.append(
                f"    /* {self.names[buf]}: {buf.dtype}[{buf.ndim}] {safe_comment(buf.name)} */"
            )
        return out

    def _shape_defs(self, bufs, src: str, pos: int) -> tuple[list, int]:
        out = []
        for buf in bufs:
            for a in range(buf.ndim):
                out.append(f"    const int64_t {self.names[buf]}_d{a} = {src}[{pos}];")
                pos += 1
        return out, pos

    def _shapes_fn(self) -> list:
        out = [
            f"int32_t {self.prefix}_shapes(void *const *data, const int64_t *in_shapes, "
            "int64_t *out_shapes)",
            "{",
            "    int berr = 0;",
            "    (void)data;",
        ]
        defs, _ = self._shape_defs(self.p.inputs, "in_shapes", 0)
        out += defs
        pos = 0
        for buf in self.p.outputs:
            for a, d in enumerate(buf.shape):
                out.append(f"    const int64_t {self.names[buf]}_d{a} = {self.dim(d)};")
                out.append(f"    out_shapes[{pos}] = {self.names[buf]}_d{a};")
                pos += 1
        out += [f"    if (berr) return {abi.ERR_BROADCAST};"]
        out += self._checks()
        out += ["    return 0;", "}"]
        return out

    def _checks(self, known: Equal | None = None) -> list:
        """The program's checks, less those the earlier ones (and ``known``) imply."""
        out = []
        known = known or Equal()
        for i, chk in enumerate(self.p.checks):
            a, b = self.dim(chk.a), self.dim(chk.b)
            if known.add(a, b):
                out.append(f"    if ({a} != {b}) return {abi.ERR_CHECK_BASE + i};")
        return out

    def _run_fn(self) -> list:
        p = self.p
        out = [
            f"int32_t {self.prefix}_run(void *const *data, int64_t *shapes, "
            "const int64_t *strides, int32_t nthreads)",
            "{",
        ]
        out += self._comment_buffers()
        out += [
            "    int32_t status = 0;",
            "    int berr = 0;",
            "#ifdef _OPENMP",
            "    const int symc_nt = nthreads > 0 ? nthreads : omp_get_max_threads();",
            "#else",
            "    const int symc_nt = 1;",
            "    (void)nthreads;",
            "#endif",
            "    (void)symc_nt;",
        ]
        pos = 0
        for k, buf in enumerate(p.inputs + p.outputs):
            const = "const " if buf.role == "input" else ""
            name, ct = self.names[buf], c_type(buf.dtype)
            out.append(f"    {const}{ct} *{name} = ({const}{ct} *)data[{k}];")
            for a in range(buf.ndim):
                out.append(
                    f"    const int64_t {name}_d{a} = shapes[{pos}], {name}_s{a} = strides[{pos}];"
                )
                pos += 1
        known = Equal()
        for buf in p.outputs:  # the caller's output shapes must be the program's
            for a, d in enumerate(buf.shape):
                got, want = f"{self.names[buf]}_d{a}", self.dim(d)
                known.add(got, want)
                out.append(f"    if ({got} != {want}) return {abi.ERR_SHAPE};")
        out += self._checks(known)
        body_lines = []
        table = self.table
        run_time: dict = {}
        for i, stmt in enumerate(p.body):
            comment = f"    /* statement {i}: {type(stmt).__name__} */"
            # the table's Dims are computed before the first statement: a statement with
            # Dims the program computes (a loop's step count) is written inline instead
            inline = _reads_run_time(stmt, run_time)
            body = None
            if isinstance(stmt, Elementwise):
                body = self.loops.elementwise(stmt) if inline else self.elementwise.statement(stmt)
            if isinstance(body, LoopCall):
                table.loop(body)
                body_lines.append(comment)
                continue
            if isinstance(stmt, Gemm) and not inline and table.gemm(stmt):
                body_lines.append(comment)
                continue
            body_lines += ["    " + line for line in table.flush()]
            body_lines.append(comment)
            if body is not None:
                pass
            elif isinstance(stmt, Reduce):
                body = self.loops.reduce(stmt)
            elif isinstance(stmt, Gemm):
                body = self.loops.gemm(stmt)
            elif isinstance(stmt, Guard):
                body = self.loops.guard(stmt)
            elif isinstance(stmt, Repeat):
                body = repeat(self, stmt)
            else:
                raise IRError(f"unknown statement {stmt!r}")
            body_lines += [
                "    " + line if line and not line.startswith("#") else line for line in body
            ]
        body_lines += ["    " + line for line in table.flush()]
        body_lines += self._rows()
        decls = table.run_decls()
        out += self._temps("\n".join(decls + body_lines))
        out += decls + body_lines
        out += ["    goto done;", "done:"]
        if p.temps:
            out.append("    free(symc_arena_base);")
        out += ["    return status;", "}"]
        return out

    def _rows(self) -> list:
        """Report the rows each output of ``Program.rows`` holds (in ``shapes``)."""
        out = []
        pos = sum(b.ndim for b in self.p.inputs)
        first = {}
        for buf in self.p.outputs:
            first[buf] = pos
            pos += buf.ndim
        for buf, count in self.p.rows:
            out.append(f"    shapes[{first[buf]}] = {self.dim(count)};")
        return out

    def _temps(self, body: str) -> list:
        """Every temporary carved from one allocation; names only where the body uses them.

        With a statement table, the buffers' addresses go to ``symc_buf``
        (inputs, outputs, then the temporaries, which the allocation fills in).
        """
        p = self.p
        out = []
        if self.table.used:
            io = [f"(void *){self.names[b]}" for b in p.inputs]
            io += [self.names[b] for b in p.outputs]
            out.append(f"    void *symc_buf[{len(p.buffers)}] = {{{', '.join(io) or '0'}}};")
        if not p.temps:
            return out + [f"    if (berr) return {abi.ERR_BROADCAST};"]
        n = len(p.temps)
        alias = plan_reuse(p)  # temporaries living in a dead one's storage
        sizes = []
        for buf in p.temps:
            count = " * ".join(self.dim(d) for d in buf.shape) or "INT64_C(1)"
            sizes.append("INT64_C(0)" if buf in alias else f"{count} * {DTYPES[buf.dtype][1]}")
        arena = self.printer.need("arena", None)
        parts = f"symc_buf + {len(p.inputs) + len(p.outputs)}" if self.table.used else "symc_tptr"
        out += [f"    const int64_t symc_tbytes[{n}] = {{"]
        out += [f"        {s}," for s in sizes]
        out += ["    };", f"    if (berr) return {abi.ERR_BROADCAST};"]
        if not self.table.used:
            out.append(f"    void *symc_tptr[{n}];")
        out += [
            f"    void *symc_arena_base = {arena}({n}, symc_tbytes, {parts});",
            f"    if (!symc_arena_base) return {abi.ERR_NOMEM};",
        ]
        first = len(p.inputs) + len(p.outputs) if self.table.used else 0
        slots = "symc_buf" if self.table.used else "symc_tptr"
        index = {buf: k for k, buf in enumerate(p.temps)}
        for buf, owner in alias.items():
            out.append(f"    {slots}[{first + index[buf]}] = {slots}[{first + index[owner]}];")
        named = set(re.findall(r"\b(tmp\d+)\b", body))
        used = set(re.findall(r"\b(tmp\d+)_[ds]\d", body))
        for k, buf in enumerate(p.temps):
            name, ct = self.names[buf], c_type(buf.dtype)
            if name in named:
                slot = f"symc_buf[{len(p.inputs) + len(p.outputs) + k}]"
                slot = slot if self.table.used else f"symc_tptr[{k}]"
                out.append(f"    {ct} *{name} = ({ct} *){slot};")
            if name in used:
                nd = buf.ndim
                for a, d in enumerate(buf.shape):
                    out.append(f"    const int64_t {name}_d{a} = {self.dim(d)};")
                for a in reversed(range(nd)):
                    stride = "INT64_C(1)" if a == nd - 1 else f"{name}_s{a + 1} * {name}_d{a + 1}"
                    out.append(f"    const int64_t {name}_s{a} = {stride};")
        return out


def _reads_run_time(obj, memo: dict) -> bool:
    """Whether ``obj`` (a statement, view, expression or Dim) reads a run-time :class:`Value`."""
    if isinstance(obj, Value):
        return obj.buffer.role != "input"
    if isinstance(obj, tuple):
        return any(_reads_run_time(x, memo) for x in obj)
    if not isinstance(obj, _Node) or isinstance(obj, Buffer):
        return False
    hit = memo.get(id(obj))
    if hit is None:
        hit = memo[id(obj)] = any(_reads_run_time(getattr(obj, f.name), memo) for f in fields(obj))
    return hit
