"""Elementwise statements as shared ``static`` C functions, one per distinct loop.

Deep programs (a network and its gradient) repeat the same few loop bodies
dozens of times. Each distinct loop is written once as a function of its
extents, pointers and strides, and every statement becomes one call, so the
C compiler optimizes (and vectorizes) each body once.

Two kinds of function:

* a *flat* loop over ``size`` elements, for operands that are C-contiguous
  (or single elements); statements whose operands are all contiguous by
  construction (temporaries, outputs: see :mod:`codegen.layout`) call it
  directly, with no run-time test;
* a *general* function for the others. At run time it calls the flat loop
  when every operand happens to be contiguous; else, when each operand's
  innermost axis has unit or zero stride (a broadcast bias, a row), it runs
  the outer axes with strides and the innermost as a vectorized unit-stride
  loop; else a plain nest over arbitrary strides (zero and negative
  included).

Every function has the signature ``(pointers, integers, lo, hi)`` and runs
the part ``[lo, hi)`` of its outermost range, so one OpenMP region
(``symc_par`` in ``runtime/symc_rt.h``) splits any of them among threads,
and the loops themselves carry only ``omp simd``: no outlined region per
loop for the compiler to build.
"""

from __future__ import annotations

from dataclasses import dataclass

from codegen.ir import Call, Cast, Elementwise, Index, IOp, Load, Select
from codegen.layout import c_contiguous, is_scalar, repeats, static_zero
from codegen.printer import _children, _topo, c_type, store_lines

_NAME = "@NAME@"  # stands for the function's name while its text is the dedup key


class ElementwiseWriter:
    """Writes elementwise statements for the emitter ``em`` (names, Dims, printer, checks)."""

    def __init__(self, em):
        self.em = em
        self.names: dict = {}  # function text (with _NAME) -> C name
        self.definitions: list = []  # C text of each function, in definition order
        self.nops = 0  # operands of the statement being written

    # -- shared functions ----------------------------------------------------

    def _define(self, text: str) -> tuple[str, int]:
        got = self.names.get(text)
        if got is None:
            got = (f"symc_loop{len(self.names)}", len(self.names))
            self.names[text] = got
            self.definitions.append(text.replace(_NAME, got[0]))
        return got

    def _block(self, roots, at, index=None, fixed=None) -> tuple[list, list, list]:
        """(lines before the innermost loop, lines inside it, one expression per root).

        ``fixed(node)``, when given, says a ``Load`` or ``Index`` leaf is the
        same all along the innermost loop: costly expressions of such leaves
        only (a log-softmax's ``log1p`` of its row sums) are computed once per
        row, before the loop, instead of once per element.
        """
        # local value names restart in every function, so equal loops render equal text
        printer = self.em.printer
        printer._count = 0
        given: dict = {}
        pre: list = []
        if fixed is not None:
            hoist = _invariant_roots(roots, fixed)
            if hoist:
                pre, exprs = printer.block(hoist, at, index)
                for node, expr in zip(hoist, exprs, strict=True):
                    printer._count += 1
                    name = f"v{printer._count}"
                    pre.append(f"const {c_type(node.dtype)} {name} = {expr};")
                    given[node] = name
        lines, exprs = printer.block(roots, at, index, given)
        return pre, lines, exprs

    # -- one statement -------------------------------------------------------

    def statement(self, st: Elementwise) -> list | LoopCall:
        """How the run function executes ``st``: C lines, or a call of a loop function."""
        em = self.em
        nd = len(st.shape)
        nops = self.nops = len(st.operands)
        views = list(st.operands) + [s.dest for s in st.stores]
        moved = [s for s in st.stores if s.offset is not None]
        roots = [s.value for s in st.stores] + [s.offset for s in moved]
        # a scatter-add may hit one element from several points: no threads, no SIMD
        serial = any(s.accumulate and s.offset is not None for s in st.stores)
        uses_index = any(isinstance(n, Index) for n in _topo(roots)[0])
        scalar = [k < nops and is_scalar(v) for k, v in enumerate(views)]
        contig = [
            not scalar[k] and c_contiguous(v, st.shape, em.equal) for k, v in enumerate(views)
        ]
        extents: dict = {}  # Dim -> parameter name, for Extent nodes in the body

        def body(at, index=None, fixed=None, pre=None) -> list:
            # with ``fixed``, the loop-invariant lines go to the list ``pre``
            saved = em.printer.dim_text

            def ext(d) -> str:
                return extents.setdefault(d, f"e{len(extents)}")

            em.printer.dim_text = ext
            try:
                hoisted, lines, exprs = self._block(roots, at, index, fixed)
            finally:
                em.printer.dim_text = saved
            if pre is not None:
                pre += hoisted
            else:
                lines = hoisted + lines
            return lines + store_lines(st.stores, exprs, moved, nops, at)

        if nd == 0:  # one element: no loop, no function
            lines = body(_at(lambda k: "0"))
            decls = []
            for k, v in enumerate(views):
                off = "" if v.offset == 0 else f" + {em.dim(v.offset)}"
                ptr = f"{em.names[v.buffer]}{off}"
                decls.append(f"{_const(v)}{c_type(v.buffer.dtype)} *p{k} = {ptr};")
            ext_defs = [f"const int64_t {p} = {em.dim(d)};" for d, p in extents.items()]
            return ["{"] + ["    " + ln for ln in decls + ext_defs + lines] + ["}"]

        flat_ok = not serial and not uses_index
        size = _product(st.shape)
        if flat_ok and all(s or c for s, c in zip(scalar, contig, strict=True)):
            fn = self._flat(views, scalar, body, extents)
            count, strides = size, []
        else:
            flat_ok = flat_ok and not any(repeats(v, st.shape) for v in views)
            fn, strides = self._general(st, views, scalar, contig, body, extents, flat_ok, serial)
            count = st.shape[0]
        ints = list(extents)
        if fn.general:
            ints += list(st.shape) + strides
        ptrs = [(v.buffer, v.offset) for v in views]
        return LoopCall(fn.index, ptrs, ints, count, size, serial)

    # -- function texts --------------------------------------------------------

    def _head(self, views, extents, more: tuple = ()) -> list:
        """The start of a loop function: its signature and its unpacked arguments."""
        out = [
            "static __attribute__((noinline)) void "
            f"{_NAME}(void *const *pp, const int64_t *nn, int64_t lo, int64_t hi)",
            "{",
        ]
        for k, v in enumerate(views):
            # operands are only read: const whatever their buffer, so loops over
            # inputs and over temporaries share one function
            t = f"{'const ' if k < self.nops else ''}{c_type(v.buffer.dtype)}"
            out.append(f"    {t} *p{k} = ({t} *)pp[{k}];")
        names = list(extents.values()) + list(more)
        out += [f"    const int64_t {x} = nn[{j}];" for j, x in enumerate(names)]
        return out

    def _flat(self, views, scalar, body, extents) -> _Fn:
        at = _at(lambda k: "0" if scalar[k] else "i")
        pre: list = []
        lines = body(at, None, lambda n: isinstance(n, Load) and scalar[n.operand], pre)
        text = self._head(views, extents)
        if pre:  # the hoisted loads must not run when there is no element
            text += ["    if (hi <= lo) return;"] + ["    " + ln for ln in pre]
        text += ["#pragma omp simd", "    for (int64_t i = lo; i < hi; ++i) {"]
        text += ["        " + ln for ln in lines]
        text += ["    }", "}", ""]
        return _Fn(*self._define("\n".join(text)), False)

    def _general(self, st, views, scalar, contig, body, extents, flat_ok, serial):
        em = self.em
        nd = len(st.shape)
        last = nd - 1
        more = [f"n{j}" for j in range(nd)]
        stride_args: list = []
        local = []  # strides known when generating: literal zeros, C order of contiguous views
        dynamic = []  # views whose layout is only known at run time
        for k, v in enumerate(views):
            if scalar[k]:
                local += [f"const int64_t p{k}_s{j} = 0;" for j in range(nd)]
            elif contig[k]:
                for j in reversed(range(nd)):
                    s = "1" if j == last else f"p{k}_s{j + 1} * n{j + 1}"
                    local.append(f"const int64_t p{k}_s{j} = {s};")
            else:
                dynamic.append(k)
                for j, s in enumerate(v.strides):
                    if static_zero(s):
                        local.append(f"const int64_t p{k}_s{j} = 0;")
                    else:
                        more.append(f"p{k}_s{j}")
                        stride_args.append(s)
        inner_ok = nd >= 2 and not serial
        # the bodies register Extent parameters: render them before the head
        flat_fn = self._flat(views, scalar, body, extents) if flat_ok else None
        inner = self._inner(st, views, scalar, body) if inner_ok else []
        strided = self._strided(nd, len(views), scalar, body)
        text = self._head(views, extents, tuple(more))
        text += ["    " + ln for ln in local]
        if flat_fn is not None:
            if nd == 1:
                conds = [f"(n0 <= 1 || p{k}_s0 == 1)" for k in dynamic]
            else:
                dims = ", ".join(f"n{j}" for j in range(nd))
                text.append(f"    const int64_t shp[{nd}] = {{{dims}}};")
                conds = []
                for k in dynamic:
                    st_arr = ", ".join(f"p{k}_s{j}" for j in range(nd))
                    text.append(f"    const int64_t p{k}_st[{nd}] = {{{st_arr}}};")
                    conds.append(f"{em.printer.need('is_contig', None)}({nd}, shp, p{k}_st)")
            row = " * ".join(f"n{j}" for j in range(1, nd)) or "1"
            text += [
                f"    if ({' && '.join(conds) or '1'}) {{",
                f"        const int64_t row = {row};",
                f"        {flat_fn.name}(pp, nn, lo * row, hi * row);",
                "        return;",
                "    }",
            ]
        if inner_ok:
            conds = [
                f"(n{last} <= 1 || p{k}_s{last} == 1)"
                for k in dynamic
                if not static_zero(views[k].strides[last])
            ]
            if conds:
                text.append(f"    if ({' && '.join(conds)}) {{")
                text += ["    " + ln if not ln.startswith("#") else ln for ln in inner]
                text += ["        return;", "    }"]
            else:
                text += inner
                strided = []
        text += strided
        text += ["}", ""]
        return _Fn(*self._define("\n".join(text)), True), stride_args

    def _inner(self, st, views, scalar, body) -> list:
        """Outer axes by strides, the innermost axis unit-stride (or zero) and vectorized."""
        nd = len(st.shape)
        last = nd - 1
        out = _outer_loops(last, len(views), scalar)
        ind = "    " * nd

        def fixed(node) -> bool:
            if isinstance(node, Index):
                return node.axis < last
            k = node.operand
            return scalar[k] or static_zero(views[k].strides[last])

        def pos(k: int) -> str:
            if scalar[k]:
                return "0"
            if static_zero(views[k].strides[last]):
                return f"o{k}_{last - 1}"
            return f"o{k}_{last - 1} + i{last}"

        pre: list = []
        lines = body(_at(pos), lambda a: f"i{a}", fixed, pre)
        if pre:  # the hoisted loads must not run when there is no element
            out += [f"{ind}if (n{last} <= 0) return;"] + [ind + ln for ln in pre]
        out.append("#pragma omp simd")
        out.append(f"{ind}for (int64_t i{last} = 0; i{last} < n{last}; ++i{last}) {{")
        out += [ind + "    " + ln for ln in lines]
        for j in reversed(range(nd)):
            out.append("    " * (j + 1) + "}")
        return out

    def _strided(self, nd: int, nviews: int, scalar, body) -> list:
        out = _outer_loops(nd, nviews, scalar)
        ind = "    " * (nd + 1)
        pos = _at(lambda k: "0" if scalar[k] else f"o{k}_{nd - 1}")
        out += [ind + ln for ln in body(pos, lambda a: f"i{a}")]
        for j in reversed(range(nd)):
            out.append("    " * (j + 1) + "}")
        return out


@dataclass(frozen=True)
class _Fn:
    name: str
    index: int  # position among the definitions
    general: bool  # takes extents, then the statement's lengths and strides


@dataclass(frozen=True)
class LoopCall:
    """A call of loop function number ``fn``, for the run function to make.

    ``ptrs``: (buffer, offset Dim) per pointer argument; ``ints``: the Dims
    of its integer arguments; it runs over ``[0, count)``, chunked among
    threads unless ``serial`` when ``work`` (the element count) is large.
    """

    fn: int
    ptrs: list
    ints: list
    count: object
    work: object
    serial: bool


def _invariant_roots(roots: list, fixed) -> list:
    """The largest costly subexpressions of ``roots`` that do not change along the loop.

    A ``fixed`` load (without an offset) or index, a constant and an extent
    are invariant, and so is any expression of invariant nodes only. Loads,
    constants and the like are cheap as they are; a call, cast or select is
    worth computing once. Scalar expressions are pure and never trap (integer
    division is a helper), so one evaluation before the loop is always safe.
    """
    order, _ = _topo(roots)
    inv: dict = {}
    for node in order:  # children first
        if isinstance(node, Load):
            inv[node] = node.offset is None and fixed(node)
        elif isinstance(node, Index):
            inv[node] = fixed(node)
        elif isinstance(node, (Call, Cast, Select)):
            inv[node] = all(inv[c] for c in _children(node))
        else:  # Const, Extent
            inv[node] = True
    costly = {n for n in order if inv[n] and isinstance(n, (Call, Cast, Select))}
    out = [r for r in roots if r in costly]
    for node in order:
        if not inv[node]:
            out += [c for c in _children(node) if c in costly]
    return list(dict.fromkeys(out))


def _product(dims) -> object:
    out = dims[0]
    for d in dims[1:]:
        out = IOp("mul", out, d)
    return out


def _at(pos):
    """A ``load(k, off=None)`` callback: ``p{k}[pos(k)]``, moved by ``off`` elements."""

    def at(k: int, off: str | None = None) -> str:
        return f"p{k}[{pos(k)}]" if off is None else f"p{k}[{pos(k)} + ({off})]"

    return at


def _const(view) -> str:
    return "const " if view.buffer.role == "input" else ""


def _outer_loops(depth: int, nviews: int, scalar) -> list:
    """Open ``depth`` loops over ``i0..`` (axis 0 over this thread's ``lo..hi``) with offsets."""
    out = []
    for j in range(depth):
        ind = "    " * (j + 1)
        lo = "lo" if j == 0 else "0"
        hi = "hi" if j == 0 else f"n{j}"
        out.append(f"{ind}for (int64_t i{j} = {lo}; i{j} < {hi}; ++i{j}) {{")
        out += [ind + "    " + ln for ln in _offsets(nviews, scalar, j)]
    return out


def _offsets(nviews: int, scalar, level: int) -> list:
    out = []
    for k in range(nviews):
        if scalar[k]:
            continue
        base = f"o{k}_{level - 1} + " if level else ""
        out.append(f"const int64_t o{k}_{level} = {base}i{level} * p{k}_s{level};")
    return out
