"""Run loop-function calls and matrix products from constant tables, not from code.

A deep program makes a hundred calls with a dozen arguments each. Written as
C calls, they make the run function one of the most expensive things in the
translation unit to optimize; as rows of a ``static const`` table read by a
small interpreter (:func:`TableWriter.definitions`), they cost the compiler
almost nothing, and the interpreter's overhead is a few nanoseconds a row.

A row holds indices: into the loop-function table, into the program's
buffers (``symc_buf``), into ``symc_dim`` (every distinct extent, stride,
offset and count of the rows, computed once per call) and into
``symc_cst`` (GEMM scale factors). Consecutive rows form one segment; other
statements (reductions, guards, loops) stay inline code between segments.
"""

from __future__ import annotations

import math

from codegen import templates
from codegen.c_elementwise import LoopCall
from codegen.ir import DTYPES, Gemm

_LOOP, _GEMM64, _GEMM32 = 0, 1, 2
_GEMM_OPS = {"float64": _GEMM64, "float32": _GEMM32}


class TableWriter:
    """Collects table rows for the emitter ``em``; ``threshold`` is the parallel cut-off."""

    def __init__(self, em, threshold: int):
        self.em = em
        self.threshold = threshold
        self.dims: dict = {}  # C text of a Dim -> index in symc_dim
        self.consts: dict = {}  # float -> index in symc_cst
        self.rows: list = []  # the segment being filled
        self.segments: list = []  # finished segments (lists of ints)
        self.ops: set = set()
        self.max_ptrs = 1
        self.max_ints = 1
        self.nloops = 0  # loop functions the table refers to
        self._bufs: dict | None = None

    @property
    def used(self) -> bool:
        return bool(self.segments)

    def _dim(self, d) -> int:
        return self.dims.setdefault(self.em.dim(d), len(self.dims))

    def _buf(self, buf) -> int:
        if self._bufs is None:  # identity, not equality: equal buffers may be distinct
            self._bufs = {id(b): k for k, b in enumerate(self.em.p.buffers)}
        return self._bufs[id(buf)]

    def loop(self, call: LoopCall) -> None:
        """Queue a call of a loop function."""
        self.ops.add(_LOOP)
        self.em.printer.need("par", None)
        self.nloops = max(self.nloops, call.fn + 1)
        self.max_ptrs = max(self.max_ptrs, len(call.ptrs))
        self.max_ints = max(self.max_ints, len(call.ints))
        row = [_LOOP, call.fn, self._dim(call.count), self._dim(call.work), int(call.serial)]
        row += [len(call.ptrs), len(call.ints)]
        for buf, off in call.ptrs:
            row += [self._buf(buf), self._dim(off)]
        row += [self._dim(d) for d in call.ints]
        self.rows.append(row)

    def gemm(self, st: Gemm) -> bool:
        """Queue a matrix product if a row can describe it (a float one, batch 1)."""
        dtype = st.c.buffer.dtype
        if dtype not in _GEMM_OPS or not (isinstance(st.batch, int) and st.batch == 1):
            return False
        if not all(math.isfinite(x) for x in (st.alpha, st.beta)):
            return False
        self.em.printer.need("gemm", dtype)
        op = _GEMM_OPS[dtype]
        self.ops.add(op)
        row = [op] + [self._dim(d) for d in (st.m, st.n, st.k)]
        for v in (st.a, st.b, st.c):
            row += [self._buf(v.buffer), self._dim(v.offset)]
            row += [self._dim(v.strides[1]), self._dim(v.strides[2])]
        for x in (st.alpha, st.beta):
            row.append(self.consts.setdefault(float(x), len(self.consts)))
        self.rows.append(row)
        return True

    def flush(self) -> list:
        """Run-function lines executing the queued rows (none if none are queued)."""
        if not self.rows:
            return []
        k = len(self.segments)
        self.segments.append([x for row in self.rows for x in row])
        self.rows = []
        n = len(self.segments[-1])
        return [
            f"if ((status = symc_exec(symc_seg{k}, symc_seg{k} + {n}, symc_buf, symc_dim, "
            "symc_nt))) goto done;"
        ]

    # -- the text ------------------------------------------------------------

    def run_decls(self) -> list:
        """Declarations the run function needs before the first segment."""
        if not self.used:
            return []
        # symc_buf itself is declared with the temporaries (they are allocated into it)
        return [
            "    const int64_t symc_dim[] = {",
            *(f"        {text}," for text in self.dims),
            "    };",
        ]

    def definitions(self) -> str:
        """The tables and the interpreter (after the loop functions and helpers)."""
        if not self.used:
            return ""
        em = self.em
        sizes = ", ".join(str(DTYPES[b.dtype][1]) for b in em.p.buffers)
        out = [f"static const int8_t symc_isz[] = {{{sizes}}};"]
        if self.consts:
            out.append(f"static const double symc_cst[] = {{{', '.join(map(repr, self.consts))}}};")
        if _LOOP in self.ops:
            loops = ", ".join(f"symc_loop{i}" for i in range(self.nloops))
            out.append(f"static const symc_loop_fn symc_loops[] = {{{loops}}};")
        for k, seg in enumerate(self.segments):
            out.append(f"static const int32_t symc_seg{k}[] = {{")
            out += [
                "    " + ", ".join(map(str, seg[i : i + 24])) + "," for i in range(0, len(seg), 24)
            ]
            out.append("};")
        out += [
            "#define SYMC_AT(b, o) ((char *)B[b] + D[o] * symc_isz[b])",
            "static int symc_exec(const int32_t *t, const int32_t *end, void *const *B, "
            "const int64_t *D, int nt)",
            "{",
            "    (void)nt;",
            "    while (t < end) {",
            "        const int32_t op = *t++;",
        ]
        if _LOOP in self.ops:
            out += [
                f"        if (op == {_LOOP}) {{",
                f"            void *p[{self.max_ptrs}];",
                f"            int64_t v[{self.max_ints}];",
                "            const symc_loop_fn fn = symc_loops[t[0]];",
                "            const int64_t count = D[t[1]], work = D[t[2]];",
                "            const int serial = t[3], np = t[4], ni = t[5];",
                "            t += 6;",
                "            for (int i = 0; i < np; ++i, t += 2) p[i] = SYMC_AT(t[0], t[1]);",
                "            for (int i = 0; i < ni; ++i) v[i] = D[*t++];",
                "            if (serial) fn(p, v, 0, count);",
                f"            else symc_par(fn, p, v, count, work, nt, {self.threshold});",
                "            continue;",
                "        }",
            ]
        for dtype, op in _GEMM_OPS.items():
            if op not in self.ops:
                continue
            fn = templates.helper_name("gemm", dtype)
            ct = DTYPES[dtype][0]
            mat = []
            for j, c in enumerate("abc"):
                q = 3 + 4 * j
                const = "const " if c != "c" else ""
                mat.append(
                    f"({const}{ct} *)SYMC_AT(t[{q}], t[{q + 1}]), D[t[{q + 2}]], D[t[{q + 3}]]"
                )
            out += [
                f"        if (op == {op}) {{",
                f"            const int st = {fn}(D[t[0]], D[t[1]], D[t[2]], {', '.join(mat)}, "
                f"({ct})symc_cst[t[15]], ({ct})symc_cst[t[16]]);",
                "            if (st) return st;",
                "            t += 17;",
                "            continue;",
                "        }",
            ]
        out += ["        return -1; /* a corrupt table: cannot happen */", "    }", "    return 0;"]
        out += ["}", "#undef SYMC_AT", ""]
        return "\n".join(out)
