"""The C loop of a :class:`~codegen.ir.Repeat` statement: one ``for`` over the steps.

The body's statements are rendered inline, inside the loop, by the same
loop writer as top-level statements except that they never open an OpenMP
parallel region (a region per step costs more than a small body runs).
Matrix products inside a loop are usually small (a recurrent matrix times a
state vector), where a CBLAS call's fixed cost dominates: below
:data:`SMALL_GEMM` multiply-adds they run as plain loops, chosen at run time.
"""

from __future__ import annotations

from codegen import templates
from codegen.c_loops import LoopWriter, gemm_batch_args, gemm_operands
from codegen.errors import IRError
from codegen.ir import DTYPES, Elementwise, Gemm, Guard, Reduce, Repeat
from codegen.printer import c_type, literal

#: a Gemm with at most this many multiply-adds (m * n * k per batch) skips BLAS in a loop
SMALL_GEMM = 1 << 13


class _StepLoops(LoopWriter):
    """A :class:`LoopWriter` for statements run once per step: serial, SIMD only."""

    def _omp(self, cond: str, simd: bool = False) -> list:
        return ["#pragma omp simd"] if simd else []


def _indent(lines: list, by: str = "    ") -> list:
    return [by + ln if ln and not ln.startswith("#") else ln for ln in lines]


def repeat(em, st: Repeat) -> list:
    """The C block running ``st``; ``em`` is the program emitter (names, Dims, helpers)."""
    loops = getattr(em, "_step_loops", None)
    if loops is None:
        loops = _StepLoops(em, 1 << 62, simd=em.loops.simd)
        em._step_loops = loops
    v = st.var
    step = f"rep{v}_i"
    row = f"rep{v}_n - 1 - {step}" if st.reverse else step
    out = ["{", f"    const int64_t rep{v}_n = {em.dim(st.count)};"]
    if st.stop is None and st.steps is None:
        out.append(f"    for (int64_t {step} = 0; {step} < rep{v}_n; ++{step}) {{")
    else:  # the counter outlives the loop: it is the number of steps that ran
        out += [f"    int64_t {step} = 0;", f"    for (; {step} < rep{v}_n;) {{"]
    out.append(f"        const int64_t rep{v}_t = {row};")
    for j, sub in enumerate(st.body):
        # not "statement k": those comments map compiler errors to top-level statements
        out.append(f"        /* loop {v} step part {j}: {type(sub).__name__} */")
        out += _indent(_statement(em, loops, sub), "        ")
    if st.stop is not None or st.steps is not None:
        out.append(f"        ++{step};")
    if st.stop is not None:
        out.append(f"        if ({_scalar(em, st.stop)}) break;")
    out.append("    }")
    if st.steps is not None:
        out.append(f"    {em.names[st.steps]}[0] = {step};")
    return out + ["}"]


def _scalar(em, view) -> str:
    """The C lvalue of the 0-d ``view``."""
    off = "" if view.offset == 0 else f" + {em.dim(view.offset)}"
    return f"({em.names[view.buffer]}{off})[0]"


def _statement(em, loops: LoopWriter, st) -> list:
    if isinstance(st, Elementwise):
        return loops.elementwise(st)
    if isinstance(st, Reduce):
        return loops.reduce(st)
    if isinstance(st, Gemm):
        return _gemm(em, loops, st)
    if isinstance(st, Guard):
        return loops.guard(st)
    if isinstance(st, Repeat):
        return repeat(em, st)
    raise IRError(f"unknown statement {st!r}")


def _gemm(em, loops: LoopWriter, st: Gemm) -> list:
    """A Gemm that runs small products through :func:`_small_gemm` and large ones through BLAS."""
    dtype = st.c.buffer.dtype
    if DTYPES[dtype][2] != "f":
        return loops.gemm(st)  # integer products are plain loops already
    em.printer.need("gemm", dtype)
    fn = templates.helper_name("gemm", dtype)
    small = _small_gemm(em, dtype)
    out = gemm_operands(em, st)
    args = gemm_batch_args(literal(st.alpha, dtype), literal(st.beta, dtype))
    out += [
        "    for (int64_t bi = 0; bi < nb; ++bi) {",
        f"        if (m * n * k <= {SMALL_GEMM}) {small}({args});",
        f"        else if ((status = {fn}({args}))) goto done;",
        "    }",
        "}",
    ]
    return out


def _small_gemm(em, dtype: str) -> str:
    """The name of a static plain-loop product for ``dtype``, defined once per program.

    Three loop orders, picked by shape and strides so that the innermost loop
    is a unit-stride SIMD loop in the common cases: a dot product per row of
    ``a`` (matrix-vector, rows contiguous), a sum of scaled columns of ``a``
    (matrix-vector, transposed ``a``), rows of ``c`` updated from rows of ``b``.
    """
    name = f"symc_small_gemm_{templates.TAGS[dtype]}"
    helpers = em.__dict__.setdefault("step_helpers", {})
    if name in helpers:
        return name
    t = c_type(dtype)
    z = literal(0, dtype)
    scale = f"(beta == {z} ? {z} : beta * *cp)"
    helpers[name] = f"""
static void {name}(int64_t m, int64_t n, int64_t k, const {t} *a, int64_t a_s1, int64_t a_s2,
                   const {t} *b, int64_t b_s1, int64_t b_s2, {t} *c, int64_t c_s1,
                   int64_t c_s2, {t} alpha, {t} beta)
{{
    /* c = alpha * a @ b + beta * c for small operands (no BLAS call overhead) */
    if (n == 1 && (a_s2 == 1 || k <= 1)) {{
        for (int64_t i = 0; i < m; ++i) {{
            const {t} *ar = a + i * a_s1;
            {t} acc = {z};
            if (b_s1 == 1) {{
#pragma omp simd reduction(+:acc)
                for (int64_t p = 0; p < k; ++p) acc += ar[p] * b[p];
            }} else {{
                for (int64_t p = 0; p < k; ++p) acc += ar[p] * b[p * b_s1];
            }}
            {t} *cp = c + i * c_s1;
            *cp = alpha * acc + {scale};
        }}
    }} else if (n == 1) {{
        for (int64_t i = 0; i < m; ++i) {{
            {t} *cp = c + i * c_s1;
            *cp = {scale};
        }}
        for (int64_t p = 0; p < k; ++p) {{
            const {t} w = alpha * b[p * b_s1];
            const {t} *ac = a + p * a_s2;
            if (a_s1 == 1 && c_s1 == 1) {{
#pragma omp simd
                for (int64_t i = 0; i < m; ++i) c[i] += ac[i] * w;
            }} else {{
                for (int64_t i = 0; i < m; ++i) c[i * c_s1] += ac[i * a_s1] * w;
            }}
        }}
    }} else {{
        for (int64_t i = 0; i < m; ++i) {{
            {t} *cr = c + i * c_s1;
            for (int64_t j = 0; j < n; ++j) {{
                {t} *cp = cr + j * c_s2;
                *cp = {scale};
            }}
            for (int64_t p = 0; p < k; ++p) {{
                const {t} w = alpha * a[i * a_s1 + p * a_s2];
                const {t} *br = b + p * b_s1;
                if (b_s2 == 1 && c_s2 == 1) {{
#pragma omp simd
                    for (int64_t j = 0; j < n; ++j) cr[j] += w * br[j];
                }} else {{
                    for (int64_t j = 0; j < n; ++j) cr[j * c_s2] += w * br[j * b_s2];
                }}
            }}
        }}
    }}
}}
"""
    return name
