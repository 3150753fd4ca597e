"""The gradient index: a cost graph, hashed as written, straight to its gradient graph.

``sc.grad`` first runs the canonicalize and stabilize rewrites over the cost,
then walks it backwards; in a fresh process that means loading and running
the whole rewriter, the biggest part of building a warm-cache function. This
index lets a process that differentiates a cost some earlier process
differentiated rebuild the gradient graph from a compile-cache entry instead.

The key is the warm index's structural hash of the cost graph (see
:mod:`symc.compile.warm`), the positions of the ``wrt`` nodes in it, the
``disconnected`` mode, symc's settings, rewrite rules registered from
outside symc, and the fingerprint of symc's own sources (so editing a
gradient or a rewrite invalidates every entry). Only graphs made entirely of
symc's own op classes are indexed: an op from outside could change its
``pullback`` without changing the hash.

An entry lists the gradient's new nodes, each as its op (pickled, loaded
back only as symc classes and NumPy arrays), its inputs and where its
location comes from. They are rebuilt through ``apply`` in order, so
interning holds: rebuilding in the process that recorded an entry returns
the very nodes it recorded. Nodes keep the locations a fresh gradient would
give them (the forward node's, or the ``grad`` call's); the one exception is
a node that existed before ``grad`` ran (a constant-only piece such as
``-1.0`` another expression built first), which a process that lacks it
gets with the ``grad`` call's line. Anything unexpected
(an op that holds a graph, a named constant, a corrupt entry) means: no
index, the gradient is computed.
"""

from __future__ import annotations

import io
import pickle

import numpy as np

from ..config import config
from ..graph.node import Node, apply
from . import warm

GRAD_INDEX_VERSION = "2"
_FILE = "grad.pickle"


class _NotIndexable(Exception):
    """The gradient holds something an entry cannot describe."""


class Key:
    """An index key, and the cost graph's nodes by their line in the hash."""

    __slots__ = ("cache", "parts", "nodes")

    def __init__(self, cache, parts: dict, nodes: list):
        self.cache, self.parts, self.nodes = cache, parts, nodes


def key(cost: Node, wrts: list[Node], disconnected: str) -> Key | None:
    """The index key for ``grad(cost, wrts)``, or None when it cannot be indexed."""
    if config.trace_rewrites:
        return None  # a hit would skip the trace the user asked for
    from codegen.cache import Cache
    from codegen.errors import CodegenError

    hasher = warm._Hasher([])
    try:
        hasher.node(cost)
        at = [hasher.node(w) for w in wrts]
        if not all(_ours(type(n.op)) for n in hasher.nodes):
            return None
        env = warm.environment_parts()
    except warm.Unhashable:
        return None
    try:
        cache = Cache(config.cache_dir)
        if cache._usable_root() is None:
            return None
    except (CodegenError, OSError):
        return None
    parts = {
        "kind": "grad",
        "grad_index_version": GRAD_INDEX_VERSION,
        "graph_sha256": hasher.digest(f"\ncost {hasher.ids[id(cost)]}\nwrt {at}\n{disconnected}"),
        **env,
    }
    return Key(cache, parts, hasher.nodes)


def lookup(k: Key, here) -> list[Node] | None:
    """The gradients recorded under ``k``, rebuilt; None on a miss or any doubt."""
    entry = k.cache.lookup(k.parts)
    if entry is None:
        return None
    try:
        return decode(_load((entry / _FILE).read_bytes()), k.nodes, here)
    except Exception:  # noqa: BLE001 - an entry is a shortcut; any doubt: compute the gradient
        try:
            k.cache.discard(k.parts)  # so that the computed gradient replaces it
        except OSError:
            pass
        return None


def record(k: Key, outs: list[Node], here) -> None:
    """Write the entry for ``k`` (best effort: a failure only costs the next process)."""
    try:
        data = encode(outs, k.nodes, here)
    except _NotIndexable:
        return

    def build(d) -> None:
        (d / _FILE).write_bytes(data)

    try:
        k.cache.get(k.parts, build, label="grad")
    except OSError:
        pass


# --- the entry's contents --------------------------------------------------------


def encode(outs: list[Node], cost_nodes: list[Node], here) -> bytes:
    """The gradient graphs ``outs`` as bytes: their nodes outside ``cost_nodes``, in order.

    Each item is ``("ref", line)`` (a node of the cost graph), ``("const",
    array)`` or ``("apply", op number, input items, name, loc)``, where the op
    number indexes a table of the distinct op objects (graphs share a few)
    and ``loc`` is ``("line", k)`` (the location of cost node ``k``),
    ``("here",)`` (the ``grad`` call's) or None.
    """
    line_of = {id(n): k for k, n in enumerate(cost_nodes)}
    loc_line: dict = {}
    for k, n in enumerate(cost_nodes):
        loc_line.setdefault(id(n.loc), k)
        loc_line.setdefault(n.loc, k)
    items: list = []
    at: dict[int, int] = {}
    ops: list = []
    op_at: dict[int, int] = {}

    def loc_of(n: Node):
        k = loc_line.get(id(n.loc))
        if k is None and n.loc is not None:
            k = loc_line.get(n.loc)
        if k is not None:
            return ("line", k)
        # the grad call's, or a node built before it (interned, a constant-only
        # piece like -1.0): a process that lacks that node gets the call's line
        return None if n.loc is None else ("here",)

    def item_of(n: Node):
        if n.is_leaf:
            if warm._leaf_kind(n.op) != "const" or n.name is not None:
                raise _NotIndexable("a new leaf that is not a plain constant")
            return ("const", np.asarray(n.op.value))
        k = op_at.get(id(n.op))
        if k is None:
            if not _plain_op(n.op):
                raise _NotIndexable("an op from outside symc, or with state beyond its fields")
            k = op_at[id(n.op)] = len(ops)
            ops.append(n.op)
        return ("apply", k, tuple([at[id(i)] for i in n.inputs]), n.name, loc_of(n))

    # depth first, each node after its inputs; the cost graph's nodes are leaves here
    for root in outs:
        if id(root) in at:
            continue
        stack = [(root, iter(root.inputs))]
        while stack:
            n, it = stack[-1]
            for child in it:
                if id(child) in at:
                    continue
                line = line_of.get(id(child))
                if line is None:
                    stack.append((child, iter(child.inputs)))
                    break
                at[id(child)] = len(items)
                items.append(("ref", line))
            else:
                stack.pop()
                line = line_of.get(id(n))
                at[id(n)] = len(items)
                items.append(("ref", line) if line is not None else item_of(n))
    # only the op table can hide a graph: it alone goes through the (slower) check
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = _no_nodes
    try:
        pickler.dump(ops)
        return pickle.dumps(
            (buf.getvalue(), items, [at[id(o)] for o in outs]), protocol=pickle.HIGHEST_PROTOCOL
        )
    except (pickle.PicklingError, TypeError, AttributeError) as err:
        raise _NotIndexable(str(err)) from None


def decode(data: tuple, cost_nodes: list[Node], here) -> list[Node]:
    """The gradient graphs of an entry (as unpickled), rebuilt over the cost graph's own nodes."""
    from ..api.convert import constant

    op_bytes, items, outs = data
    ops = _load(op_bytes)
    built: list[Node] = []
    for item in items:
        tag = item[0]
        if tag == "ref":
            built.append(cost_nodes[item[1]])
        elif tag == "const":
            arr = item[1]
            built.append(constant(arr, dtype=str(arr.dtype)))
        else:
            _, k, ins, name, loc = item
            if loc is not None:
                loc = here if loc[0] == "here" else cost_nodes[loc[1]].loc
            node = apply(ops[k], tuple(built[i] for i in ins), loc=loc)
            if name is not None and node.name is None:
                node.name = name
            built.append(node)
    return [built[i] for i in outs]


def _load(data: bytes):
    """Unpickle an entry's bytes, allowing only what an entry may name (see ``_Unpickler``)."""
    return _Unpickler(io.BytesIO(data)).load()


def _no_nodes(obj):
    if isinstance(obj, Node):
        raise _NotIndexable("an op holding a graph")
    return None


def _ours(cls: type) -> bool:
    return cls.__module__.startswith("symc.")


_FIELD_SETS: dict = {}  # op class -> its field names (a set), or None when not symc's


def _plain_op(op) -> bool:
    """Whether ``op`` is a symc op whose state is its fields and nothing more."""
    cls = type(op)
    names = _FIELD_SETS.get(cls, False)
    if names is False:
        names = _FIELD_SETS[cls] = set(warm._field_names(cls)) if _ours(cls) else None
    return names is not None and vars(op).keys() == names


# what an entry may name: symc's classes, NumPy's array and dtype rebuilding, plain builtins
_BUILTINS = frozenset(
    "tuple list dict set frozenset slice complex int float bool str bytes bytearray".split()
)
_NUMPY = frozenset(
    [
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
    ]
)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module == "builtins" and name in _BUILTINS:
            return super().find_class(module, name)
        if (module, name) in _NUMPY or (module.startswith("numpy.dtypes") and "DType" in name):
            return super().find_class(module, name)
        if module.startswith("symc."):
            obj = super().find_class(module, name)
            if isinstance(obj, type):
                return obj
        raise pickle.UnpicklingError(f"grad index: {module}.{name} is not allowed")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("grad index: no persistent ids")
