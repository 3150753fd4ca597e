"""Graph nodes: immutable values ``Node(op, inputs, type)``, interned.

Building the same expression twice returns the same object, so common
subexpressions merge as they are written and identity-keyed caches are safe.
A node's name and the user's file:line are annotations, not identity.
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING

from ..api.variable import TensorOperators
from ..errors import SymcError
from .location import user_location, with_location
from .types import TensorType

if TYPE_CHECKING:
    from ..ops.base import Op

# key -> KeyedRef(node): a plain dict of weak references, cheaper than a
# WeakValueDictionary on this hot path; a dead node's entry removes itself.
_interned: dict = {}


def _forget(ref: weakref.KeyedRef) -> None:
    if _interned.get(ref.key) is ref:
        del _interned[ref.key]


def _lookup(key) -> Node | None:
    ref = _interned.get(key)
    return None if ref is None else ref()


def _remember(key, node: Node) -> None:
    _interned[key] = weakref.KeyedRef(node, _forget, key)


_uids = itertools.count()


class Node(TensorOperators):
    """One value of a graph: the result of ``op`` applied to ``inputs``.

    Leaves (inputs, constants, shared variables) are nodes whose op is a leaf op
    and whose ``inputs`` are empty. Never construct directly: use :func:`apply`
    or the leaf constructors in ``symc.api.creation``.
    """

    __slots__ = ("op", "inputs", "type", "name", "loc", "__weakref__")

    op: Op
    inputs: tuple[Node, ...]
    type: TensorType

    def __init__(self, op: Op, inputs: tuple[Node, ...], type: TensorType, name=None, loc=None):
        self.op = op
        self.inputs = inputs
        self.type = type
        self.name = name
        self.loc = loc

    # ``==`` builds a graph (NumPy style), so nodes hash and compare by identity.
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        label = self.name or self.op.label()
        return f"<{label}: {self.type}>"

    def __str__(self) -> str:
        return self.name or self.op.label()

    @property
    def is_leaf(self) -> bool:
        return not self.inputs and self.op.is_leaf


#: while a gradient is built, the forward node's location: the new nodes get it
#: (an error in a gradient graph points at the user's forward expression) and
#: no stack walk is needed per node
building_at: list = [None]


def apply(op: Op, inputs: tuple[Node, ...] | list[Node], loc=None) -> Node:
    """The node for ``op(*inputs)``: the existing one if already built, else a new one.

    Type inference runs here; a ``SymcError`` it raises gets the user's line
    appended. ``loc`` overrides the recorded location (rewrites keep the user's).
    """
    inputs = tuple(inputs)
    key = (op, *map(id, inputs))
    ref = _interned.get(key)
    if ref is not None:
        node = ref()
        if node is not None:
            return node
    if loc is None:
        loc = building_at[0] or user_location(2)
    try:
        out_type = op.infer(*(i.type for i in inputs))
    except SymcError as err:
        raise with_location(err, loc) from None
    node = Node(op, inputs, out_type, loc=loc)
    _interned[key] = weakref.KeyedRef(node, _forget, key)
    return node


def leaf(op: Op, type: TensorType, name: str | None = None, intern_key=None) -> Node:
    """A leaf node; interned under ``intern_key`` when given (constants)."""
    if intern_key is not None:
        node = _lookup(intern_key)
        if node is not None:
            return node
    node = Node(op, (), type, name=name, loc=user_location(2))
    if intern_key is not None:
        _remember(intern_key, node)
    return node


def new_uid() -> int:
    return next(_uids)
