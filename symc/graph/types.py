"""``TensorType``: a dtype plus a static shape (``None`` for an unknown length).

Length-1 axes are known statically, so broadcasting is decided when the graph
is built, as NumPy decides it from the shapes it sees.
"""

from __future__ import annotations

from ..errors import SymcShapeError
from .record import record

Shape = tuple  # tuple[int | None, ...]


@record(slots=True)
class TensorType:
    """The type of a graph value: ``dtype`` name and static ``shape``."""

    dtype: str
    shape: tuple[int | None, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __str__(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        if len(self.shape) == 1:
            dims += ","
        return f"{self.dtype}[{dims}]"

    def describe(self) -> str:
        """``shape (3, ?) float64``, as error messages spell it."""
        return f"shape {format_shape(self.shape)} {self.dtype}"


def format_shape(shape: tuple[int | None, ...]) -> str:
    inner = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def same_shape(a: tuple, b: tuple) -> bool:
    """Whether static shapes ``a`` and ``b`` may describe one array (``None`` fits any length)."""
    return len(a) == len(b) and all(
        x is None or y is None or x == y for x, y in zip(a, b, strict=True)
    )


def broadcast_shapes(*shapes: tuple[int | None, ...], op: str = "broadcast") -> tuple:
    """NumPy broadcasting of static shapes; ``None`` lengths are assumed not to be 1.

    Raises ``SymcShapeError`` naming ``op`` and every shape when two static
    lengths differ and neither is 1.
    """
    first = shapes[0] if shapes else ()
    if all(s == first for s in shapes):
        return first
    ndim = max((len(s) for s in shapes), default=0)
    out: list[int | None] = []
    for axis in range(ndim):
        known: int | None = 1
        unknown = False
        for s in shapes:
            k = axis - (ndim - len(s))
            if k < 0:
                continue
            d = s[k]
            if d is None:
                unknown = True
            elif d != 1:
                if known not in (1, d):
                    listed = " and ".join(format_shape(x) for x in shapes)
                    raise SymcShapeError(
                        f"{op}: cannot broadcast shapes {listed}: "
                        f"axis {axis - ndim} has lengths {known} and {d}."
                    )
                known = d
        out.append(None if unknown and known == 1 else known)
    return tuple(out)
