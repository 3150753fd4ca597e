"""Inline loop nests for the C emitter: elementwise, reduction and GEMM statements.

Top-level elementwise statements go through :mod:`codegen.c_elementwise`;
the inline form here serves statements inside loops. It has two paths
chosen at run time: a flat loop the compiler can vectorize when every
operand is C-contiguous (or a compile-time scalar), and a general nest over
arbitrary element strides (zero and negative included). Reductions over
leading axes of row-wise operands fold rows into a block of per-column
accumulators. OpenMP pragmas are guarded by ``_OPENMP`` so the same source
compiles without it; the ``if(parallel: ...)`` clause keeps small loops on
one thread.
"""

from __future__ import annotations

from codegen import abi, templates
from codegen.ir import DTYPES, Elementwise, Gemm, Guard, Index, Reduce, default_acc_dtype
from codegen.layout import c_contiguous, is_scalar, repeats
from codegen.printer import _topo, c_type, literal, store_lines

_LIMITS = {
    "int64": ("INT64_MIN", "INT64_MAX"),
    "int32": ("INT32_MIN", "INT32_MAX"),
    "int16": ("INT16_MIN", "INT16_MAX"),
    "int8": ("INT8_MIN", "INT8_MAX"),
    "uint64": ("0", "UINT64_MAX"),
    "uint32": ("0", "UINT32_MAX"),
    "uint16": ("0", "UINT16_MAX"),
    "uint8": ("0", "UINT8_MAX"),
    "bool": ("0", "1"),
    "float64": ("(-(double)INFINITY)", "((double)INFINITY)"),
    "float32": ("(-INFINITY)", "INFINITY"),
}


def _at(pos) -> object:
    """A ``load(k, off=None)`` callback: ``p{k}[pos(k)]``, moved by ``off`` elements."""

    def at(k: int, off: str | None = None) -> str:
        return f"p{k}[{pos(k)}]" if off is None else f"p{k}[{pos(k)} + ({off})]"

    return at


#: columns per block of accumulators in a reduction over leading axes (on the stack)
_ROW_BLOCK = 256


def _rows_ok(st: Reduce, kept: list, red: list) -> bool:
    """True when ``st`` folds leading axes of operands read row-wise (unit or zero last stride)."""
    nd = len(st.shape)
    if nd < 2 or kept != [nd - 1] or red != list(range(nd - 1)):
        return False
    return all(isinstance(v.strides[-1], int) and v.strides[-1] in (0, 1) for v in st.operands)


class LoopWriter:
    """Writes the C block of one statement; ``em`` is the program emitter (names, dims)."""

    def __init__(self, em, threshold: int, simd: bool):
        self.em = em
        self.threshold = threshold
        self.simd = simd

    def _omp(self, cond: str, simd: bool = False) -> list:
        kind = "parallel for simd" if simd else "parallel for"
        out = [
            "#ifdef _OPENMP",
            f"#pragma omp {kind} schedule(static) num_threads(symc_nt) if(parallel: {cond})",
        ]
        if simd:
            out += ["#else", "#pragma omp simd"]
        return out + ["#endif"]

    def _prologue(self, shape: tuple, views: list) -> list:
        em = self.em
        out = [f"    const int64_t n{j} = {em.dim(d)};" for j, d in enumerate(shape)]
        size = " * ".join(f"n{j}" for j in range(len(shape))) or "INT64_C(1)"
        out.append(f"    const int64_t size = {size};")
        out.append("    (void)size;")
        for k, v in enumerate(views):
            out += view_decls(em, f"p{k}", v)
        return out

    def _offsets(self, views: list, axis: int, level: int, var: str) -> list:
        """Offsets of every view at loop ``level`` (walking array ``axis``)."""
        out = []
        for k in range(len(views)):
            base = f"o{k}_{level - 1} + " if level else ""
            out.append(f"const int64_t o{k}_{level} = {base}{var} * p{k}_s{axis};")
        return out

    # -- elementwise --------------------------------------------------------

    def elementwise(self, st: Elementwise) -> list:
        nd = len(st.shape)
        nops = len(st.operands)
        views = list(st.operands) + [s.dest for s in st.stores]
        out = ["{"] + self._prologue(st.shape, views)
        roots = [s.value for s in st.stores]
        moved = [s for s in st.stores if s.offset is not None]
        roots += [s.offset for s in moved]
        # a scatter-add may hit one element from several points: no threads, no SIMD
        serial = any(s.accumulate and s.offset is not None for s in st.stores)

        def body(at) -> list:
            lines, exprs = self.em.printer.block(roots, at, lambda axis: f"i{axis}")
            return lines + store_lines(st.stores, exprs, moved, nops, at)

        if nd == 0:
            return out + ["    " + line for line in body(_at(lambda k: "0"))] + ["}"]
        uses_index = any(isinstance(n, Index) for n in _topo(roots)[0])
        if uses_index or serial or any(repeats(v, st.shape) for v in views):
            # a broadcast view is (almost) never flat: the strided nest alone
            return out + self._strided(st.shape, views, body, serial) + ["}"]
        scalar = [k < nops and is_scalar(v) for k, v in enumerate(views)]
        flat = self._omp(f"size > {self.threshold}", simd=True)
        flat.append("    for (int64_t i = 0; i < size; ++i) {")
        flat += ["        " + line for line in body(_at(lambda k: "0" if scalar[k] else "i"))]
        flat.append("    }")
        if all(scalar[k] or c_contiguous(v, st.shape, self.em.equal) for k, v in enumerate(views)):
            return out + flat + ["}"]  # flat for every call: no test, no strided nest
        conds = []
        if nd > 1:
            out.append(
                f"    const int64_t shp[{nd}] = {{{', '.join(f'n{j}' for j in range(nd))}}};"
            )
        for k in range(len(views)):
            if scalar[k]:
                continue
            if nd == 1:
                conds.append(f"(n0 <= 1 || p{k}_s0 == 1)")
            else:
                st_arr = ", ".join(f"p{k}_s{j}" for j in range(nd))
                out.append(f"    const int64_t p{k}_st[{nd}] = {{{st_arr}}};")
                conds.append(f"{self.em.printer.need('is_contig', None)}({nd}, shp, p{k}_st)")
        out.append(f"    if ({' && '.join(conds) or '1'}) {{")
        out += [line if line.startswith("#") else "    " + line for line in flat]
        out.append("    } else {")
        strided = self._strided(st.shape, views, body, serial)
        out += ["    " + line if not line.startswith("#") else line for line in strided]
        return out + ["    }", "}"]

    def _strided(self, shape: tuple, views: list, body, serial: bool = False) -> list:
        nd = len(shape)
        out = [] if serial else self._omp(f"size > {self.threshold}")
        for j in range(nd):
            ind = "    " * (j + 1)
            out.append(f"{ind}for (int64_t i{j} = 0; i{j} < n{j}; ++i{j}) {{")
            out += [ind + "    " + line for line in self._offsets(views, j, j, f"i{j}")]
        ind = "    " * (nd + 1)
        out += [ind + line for line in body(_at(lambda k: f"o{k}_{nd - 1}"))]
        for j in reversed(range(nd)):
            out.append("    " * (j + 1) + "}")
        return out

    # -- reductions ---------------------------------------------------------

    def reduce(self, st: Reduce) -> list:
        nd = len(st.shape)
        kept = [a for a in range(nd) if a not in st.axes]
        red = sorted(st.axes)
        order = kept + red
        views = list(st.operands) + [st.dest]
        nops = len(st.operands)
        acc_t = st.acc_dtype or default_acc_dtype(st.op, st.value.dtype)
        out_t = st.dest.buffer.dtype
        is_float = DTYPES[acc_t][2] == "f"
        arg = st.op.startswith("arg")
        out = ["{"] + self._prologue(st.shape, views)
        rsize = " * ".join(f"n{a}" for a in red) or "INT64_C(1)"
        ksize = " * ".join(f"n{a}" for a in kept) or "INT64_C(1)"
        if st.op not in ("sum", "prod") and not st.empty_ok:
            out.append(
                f"    if ({rsize} == 0 && {ksize} > 0) "
                f"{{ status = {abi.ERR_EMPTY_REDUCTION}; goto done; }}"
            )
        init = {"sum": literal(0, acc_t), "prod": literal(1, acc_t)}.get(st.op)
        if init is None:
            lo, hi = _LIMITS[acc_t]
            init = lo if st.op in ("max", "argmax") else hi
        if st.op in ("max", "argmax"):
            # a NaN, once met, sticks: NumPy's max and argmax propagate the first NaN
            better = "!(v <= acc) && acc == acc" if is_float else "v > acc"
        else:
            better = "!(v >= acc) && acc == acc" if is_float else "v < acc"
        update = {"sum": "acc += v;", "prod": "acc *= v;"}.get(st.op)
        if update is None:
            update = f"if ({better}) {{ acc = v;{' best = pos;' if arg else ''} }}"
        if arg:
            update += " ++pos;"
        if not arg and _rows_ok(st, kept, red):
            return out + self._rows(st, views, acc_t, init, update) + ["}"]
        if kept:
            out += self._omp(f"size > {self.threshold}")
        load = _at((lambda k: f"o{k}_{nd - 1}") if nd else (lambda k: "0"))
        lines, (expr,) = self.em.printer.block([st.value], load, lambda axis: f"i{axis}")
        start = [f"{c_type(acc_t)} acc = {init};"] + (["int64_t best = 0, pos = 0;"] if arg else [])
        value = "best" if arg else f"({c_type(out_t)})acc"
        store = f"p{nops}[{f'o{nops}_{len(kept) - 1}' if kept else '0'}] = {value};"
        body = []
        for level, axis in enumerate(order):
            ind = "    " * (level + 1)
            if level == len(kept):  # entering the reduced loops: start an accumulator
                body += [ind + ln for ln in start]
                if self.simd and is_float and st.op in ("sum", "prod") and len(red) == 1:
                    body.append(f"#pragma omp simd reduction({'+' if st.op == 'sum' else '*'}:acc)")
            body.append(f"{ind}for (int64_t i{axis} = 0; i{axis} < n{axis}; ++i{axis}) {{")
            body += [ind + "    " + ln for ln in self._offsets(views, axis, level, f"i{axis}")]
        ind = "    " * (nd + 1)
        if not red:
            body += [ind + ln for ln in start]
        body += [ind + ln for ln in lines]
        body.append(f"{ind}const {c_type(acc_t)} v = ({c_type(acc_t)})({expr});")
        body.append(ind + update)
        if not red:
            body.append(ind + store)
        for level in reversed(range(nd)):
            body.append("    " * (level + 1) + "}")
            if red and level == len(kept):
                body.append("    " * (level + 1) + store)
        return out + body + ["}"]

    def _rows(self, st: Reduce, views: list, acc_t: str, init: str, update: str) -> list:
        """Fold the leading axes row by row into a block of accumulators, one per column.

        A column sum (a bias gradient) walks memory in order and vectorizes
        across columns, where one accumulator per column would stride down
        each column. Each column still folds its rows in order. The block
        lives on the stack, so this is safe inside loops too.
        """
        nd = len(st.shape)
        last = nd - 1
        nops = len(st.operands)
        at_t = c_type(acc_t)
        cols = _ROW_BLOCK
        load = _at(lambda k: f"o{k}_{last}")
        lines, (expr,) = self.em.printer.block([st.value], load, lambda axis: f"i{axis}")
        out = self._omp(f"size > {self.threshold}")
        out += [
            f"    for (int64_t c0 = 0; c0 < n{last}; c0 += {cols}) {{",
            f"        const int64_t cn = n{last} - c0 < {cols} ? n{last} - c0 : {cols};",
            f"        {at_t} accs[{cols}];",
            f"        for (int64_t j = 0; j < cn; ++j) accs[j] = {init};",
        ]
        for level in range(last):
            ind = "    " * (level + 2)
            out.append(f"{ind}for (int64_t i{level} = 0; i{level} < n{level}; ++i{level}) {{")
            out += [ind + "    " + ln for ln in self._offsets(views, level, level, f"i{level}")]
        ind = "    " * (last + 2)
        base = (lambda k: f"o{k}_{last - 1} + ") if last else (lambda k: "")
        out += [
            "#pragma omp simd",
            f"{ind}for (int64_t j = 0; j < cn; ++j) {{",
            f"{ind}    const int64_t i{last} = c0 + j;",
        ]
        out += [
            f"{ind}    const int64_t o{k}_{last} = {base(k)}i{last} * p{k}_s{last};"
            for k in range(nops)
        ]
        out += [ind + "    " + ln for ln in lines]
        out += [
            f"{ind}    const {at_t} v = ({at_t})({expr});",
            f"{ind}    {at_t} acc = accs[j];",
            f"{ind}    {update}",
            f"{ind}    accs[j] = acc;",
            f"{ind}}}",
        ]
        for level in reversed(range(last)):
            out.append("    " * (level + 2) + "}")
        out_t = c_type(st.dest.buffer.dtype)
        out += [
            "        for (int64_t j = 0; j < cn; ++j) "
            f"p{nops}[(c0 + j) * p{nops}_s{last}] = ({out_t})accs[j];",
            "    }",
        ]
        return out

    # -- guards -------------------------------------------------------------

    def guard(self, st: Guard) -> list:
        nd = len(st.shape)
        views = list(st.operands)
        out = ["{"] + self._prologue(st.shape, views) + ["    int bad = 0;"]

        def body(at) -> list:
            lines, (e,) = self.em.printer.block([st.cond], at, lambda axis: f"i{axis}")
            return lines + [f"if ({e}) bad = 1;"]

        if nd == 0:
            out += ["    " + line for line in body(_at(lambda k: "0"))]
        else:
            out += self._strided(st.shape, views, body, serial=True)
        return out + [f"    if (bad) {{ status = {int(st.code)}; goto done; }}", "}"]

    # -- GEMM ---------------------------------------------------------------

    def gemm(self, st: Gemm) -> list:
        em = self.em
        dtype = st.c.buffer.dtype
        section = "gemm" if DTYPES[dtype][2] == "f" else "igemm"
        em.printer.need(section, dtype)
        fn = templates.helper_name("gemm", dtype)  # both sections define symc_gemm_<tag>
        alpha, beta = literal(st.alpha, dtype), literal(st.beta, dtype)
        if st.batch == 1:  # the usual case: one call, no batch loop
            args = [em.dim(d) for d in (st.m, st.n, st.k)]
            for v in (st.a, st.b, st.c):
                off = "" if v.offset == 0 else f" + {em.dim(v.offset)}"
                args += [f"{em.names[v.buffer]}{off}", em.dim(v.strides[1]), em.dim(v.strides[2])]
            return [f"if ((status = {fn}({', '.join(args)}, {alpha}, {beta}))) goto done;"]
        return [
            *gemm_operands(em, st),
            "    for (int64_t bi = 0; bi < nb; ++bi) {",
            f"        if ((status = {fn}({gemm_batch_args(alpha, beta)}))) goto done;",
            "    }",
            "}",
        ]


def gemm_operands(em, st: Gemm) -> list:
    """The opening of a batched product's block: its sizes, and each operand's base and strides.

    Declares ``m, n, k, nb`` and, for ``a``, ``b``, ``c``, a pointer and
    ``<tag>_s0..2``; :func:`gemm_batch_args` spells one batch entry's call.
    """
    out = ["{"]
    for name, d in (("m", st.m), ("n", st.n), ("k", st.k), ("nb", st.batch)):
        out.append(f"    const int64_t {name} = {em.dim(d)};")
    for tag, view in (("a", st.a), ("b", st.b), ("c", st.c)):
        out += view_decls(em, tag, view)
    return out


def view_decls(em, tag: str, view) -> list:
    """``tag``: a pointer to ``view``'s first element; ``tag_s<j>``: its strides (elements)."""
    const = "const " if view.buffer.role == "input" else ""
    off = "" if view.offset == 0 else f" + {em.dim(view.offset)}"
    ct = c_type(view.buffer.dtype)
    out = [f"    {const}{ct} *{tag} = {em.names[view.buffer]}{off};"]
    out += [f"    const int64_t {tag}_s{j} = {em.dim(s)};" for j, s in enumerate(view.strides)]
    return out


def gemm_batch_args(alpha: str, beta: str) -> str:
    """A gemm helper call's arguments for batch entry ``bi`` (names from :func:`gemm_operands`)."""
    return (
        f"m, n, k, a + bi * a_s0, a_s1, a_s2, b + bi * b_s0, b_s1, b_s2, c + bi * c_s0, "
        f"c_s1, c_s2, {alpha}, {beta}"
    )
