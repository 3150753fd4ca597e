"""Facts about a view's memory layout that hold for every call, proved from its Dims.

The emitter uses them to leave out run-time layout tests and the loop nests
those tests would choose between: a temporary or an output the kernel writes
is C-contiguous by construction, so a statement whose operands all are needs
only a flat loop.
"""

from __future__ import annotations

from collections import Counter

from codegen.ir import IOp, View


def _is_int(d) -> bool:
    return isinstance(d, int) and not isinstance(d, bool)


class Equal:
    """A union-find of values known equal (Dims, or their C text).

    The program's checks run before its body, so in the body every checked
    pair is equal; :meth:`add` returns False for a pair already implied.
    """

    def __init__(self, pairs=()):
        self.parent: dict = {}
        for a, b in pairs:
            self.add(a, b)

    def find(self, x):
        """The representative of ``x``'s class."""
        root = x
        while (up := self.parent.get(root, root)) != root:
            root = up
        while x != root:  # path compression
            self.parent[x], x = root, self.parent.get(x, x)
        return root

    def add(self, a, b) -> bool:
        """Record ``a == b``; False when that was already known."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[ra] = rb
        return True


_NO_EQUAL = Equal()


def _product(d, eq: Equal) -> tuple:
    """``d`` as (integer factor, multiset of the other factors) when it is a product."""
    const, rest = 1, Counter()
    stack = [d]
    while stack:
        x = stack.pop()
        if _is_int(x):
            const *= x
        elif isinstance(x, IOp) and x.op == "mul":
            stack += [x.a, x.b]
        else:
            rest[eq.find(x)] += 1
    return const, rest


def same_dim(a, b, eq: Equal = _NO_EQUAL) -> bool:
    """True when the Dims ``a`` and ``b`` are equal in every call that passes the checks ``eq``."""
    if a == b:
        return True
    ca, ra = _product(a, eq)
    cb, rb = _product(b, eq)
    return ca == cb and (ca == 0 or ra == rb)


def static_zero(d) -> bool:
    """True when the Dim ``d`` is the literal 0 (a broadcast stride)."""
    return _is_int(d) and d == 0


def is_scalar(view: View) -> bool:
    """True when every stride of ``view`` is the literal 0: it reads one element."""
    return all(static_zero(s) for s in view.strides)


def c_contiguous(view: View, shape: tuple, eq: Equal = _NO_EQUAL) -> bool:
    """True when ``view`` walks ``shape`` in C order with unit steps, for every call.

    Axes of static length 1 may have any stride (their index is always 0).
    A False answer means "not proved", not "not contiguous".
    """
    if len(view.strides) != len(shape):
        return False
    expect: object = 1
    for n, s in zip(reversed(shape), reversed(view.strides), strict=True):
        if _is_int(n) and n == 1:
            continue
        if not same_dim(s, expect, eq):
            return False
        expect = n if _is_int(expect) and expect == 1 else IOp("mul", expect, n)
    return True


def repeats(view: View, shape: tuple) -> bool:
    """True when ``view`` has a literal 0 stride on an axis not statically of length <= 1.

    Such a view (a broadcast row or column) is contiguous only in the rare
    calls where that axis has length 1, so testing for it is not worth a loop.
    """
    if is_scalar(view):
        return False
    return any(
        static_zero(s) and not (_is_int(n) and n <= 1)
        for s, n in zip(view.strides, shape, strict=True)
    )
