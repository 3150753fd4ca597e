"""The warm index: a user's graph, hashed as written, straight to its compiled kernel.

A process that compiles a graph some earlier process compiled already can
skip the optimizer, the lowering and the C renderer: an index entry in the
compile cache, keyed by a structural hash of the graph *before* rewriting
(plus everything else that decides the program), names the kernel's cache
entry and holds what a call needs:

* the kernel's signature (dtype and ndim of each input and output, the
  messages of its checks) and whether it returns a lone output bare;
* the constants the lowering lifted into extra inputs, as ``.npy`` files
  (loaded with ``allow_pickle=False``);
* which shared variables the kernel takes, by their order of first
  appearance in the graph.

The key covers the graph's structure (op classes and their parameters,
static types, names, constant bytes; never object identities), the
function's options, the settings in :mod:`symc.config`, the Python and
NumPy versions, the toolchain, and a fingerprint of symc's own source files
(so editing a rewrite or a lowering invalidates every entry). Rewrite rules
or lowerings registered from outside symc add a hash of their code. A
parameter the hash cannot describe faithfully (an arbitrary object) means:
no index for this graph, the full path every time; a parameter class can
opt in with a method ``index_fields(self) -> tuple`` returning the values
(nodes, numbers, strings, arrays...) that decide what it means.

Entries are ordinary cache entries (staged, renamed, checksummed, owner
checked), and nothing in one is trusted blindly: any mismatch, a missing or
corrupt kernel entry, or a failed load falls back to the full path, which
rewrites the entry. The lowering's error tables are rebuilt (by optimizing
and lowering again) only when a call fails and an error must be explained.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from ..config import config

INDEX_VERSION = "2"
_INDEX_FILE = "index.json"
_FINGERPRINT: list = []


class Unhashable(Exception):
    """A graph holds something the structural hash cannot describe."""


# --- the structural hash ------------------------------------------------------


class _Hasher:
    """Serializes a graph (and graphs inside op parameters) to text; identity never leaks in."""

    def __init__(self, inputs: list):
        self.args = {id(v): k for k, v in enumerate(inputs)}
        self.ids: dict[int, int] = {}
        self.lines: list[str] = []
        self.nodes: list = []  # the nodes, by line
        self.op_text: dict[int, str] = {}  # id(op) -> its text: graphs share few op objects
        self.shared: list = []  # shared leaves, in order of first appearance
        self.free = 0

    def digest(self, tail: str) -> str:
        """The SHA-256 of the lines so far and ``tail`` (what the graph's roots are)."""
        return hashlib.sha256(("\n".join(self.lines) + tail).encode()).hexdigest()

    def node(self, root) -> int:
        """The number of ``root``'s line, serializing its graph first (iteratively)."""
        stack = [(root, False)]
        while stack:
            n, ready = stack.pop()
            if id(n) in self.ids:
                continue
            if not ready:
                stack.append((n, True))
                stack.extend((i, False) for i in reversed(n.inputs) if id(i) not in self.ids)
                continue
            self.ids[id(n)] = len(self.lines)
            self.lines.append(self._line(n))
            self.nodes.append(n)
        return self.ids[id(root)]

    def _line(self, n) -> str:
        op = n.op
        t = n.type
        head = f"{t.dtype}{list(t.shape)!r} name={n.name!r} "
        kind = _leaf_kind(op) if n.is_leaf else None
        if kind == "input":
            k = self.args.get(id(n))
            if k is None:  # an input of an inner graph (a loop body)
                self.free += 1
                return head + f"free {self.free}"
            return head + f"arg {k}"
        if kind == "shared":
            self.shared.append(n)
            return head + f"shared {len(self.shared) - 1}"
        if kind == "const":
            return head + "const " + self.value(op.value)
        ins = ",".join([str(self.ids[id(i)]) for i in n.inputs])
        text = self.op_text.get(id(op))
        if text is None:
            text = self.op_text[id(op)] = self.value(op)
        return head + f"{text} ({ins})"

    def value(self, v) -> str:
        """A parameter's text: exact for the types listed here, Unhashable otherwise."""
        cls = type(v)
        how = _HOW.get(cls)
        if how is None:
            how = _HOW[cls] = _how(cls)
        if how is repr:
            return repr(v)
        if how == "seq":
            inner = ",".join([self.value(x) for x in v])
            return f"{cls.__name__}({inner})"
        if how == "fields":
            names = _FIELDS.get(cls)
            if names is None:
                names = _FIELDS[cls] = _field_names(cls)
            inner = ",".join([f"{k}={self.value(getattr(v, k))}" for k in names])
            return f"{_qualname(cls)}({inner})"
        return how(self, v)


_LEAVES: dict = {}  # leaf op class -> "input" | "shared" | "const"


def _leaf_kind(op) -> str | None:
    if not _LEAVES:  # filled on first use: the ops load after this module
        from ..ops.leaves import Constant, Input, Shared

        _LEAVES.update({Input: "input", Shared: "shared", Constant: "const"})
    for cls in type(op).__mro__:
        kind = _LEAVES.get(cls)
        if kind is not None:
            return kind
    return None


_HOW: dict = {}  # parameter class -> how to spell it (see _how)
_FIELDS: dict = {}  # record class -> its field names


def _field_names(cls) -> tuple:
    return tuple(f.name for f in dataclasses.fields(cls))


def _how(cls):
    """How the hasher spells a value of ``cls``: repr, "seq", "fields", or a function."""
    from ..graph.node import Node

    if issubclass(cls, (type(None), bool, int, str, bytes)):
        return repr
    if issubclass(cls, float):
        return lambda h, v: v.hex() if v == v else "nan"
    if issubclass(cls, (tuple, list)):
        return "seq"
    if issubclass(cls, (frozenset, set)):
        return lambda h, v: "set(" + ",".join(sorted(h.value(x) for x in v)) + ")"
    if issubclass(cls, dict):
        return lambda h, v: (
            "dict(" + ",".join(sorted(f"{h.value(k)}:{h.value(x)}" for k, x in v.items())) + ")"
        )
    if issubclass(cls, np.ndarray):
        return _array_text
    if issubclass(cls, np.generic):
        return lambda h, v: h.value(np.asarray(v))
    if issubclass(cls, np.dtype):
        return lambda h, v: f"dtype({v.str})"
    if issubclass(cls, enum.Enum):
        return lambda h, v: f"{_qualname(type(v))}.{v.name}"
    if issubclass(cls, Node):
        return lambda h, v: f"node({h.node(v)})"
    if issubclass(cls, type):
        return lambda h, v: f"class({_qualname(v)})"
    fields_of = getattr(cls, "index_fields", None)
    if fields_of is not None:  # a parameter class saying what decides its meaning
        return lambda h, v: f"{_qualname(type(v))}{h.value(tuple(fields_of(v)))}"
    if dataclasses.is_dataclass(cls):
        return "fields"
    return _unhashable


def _array_text(h, v) -> str:
    if v.dtype.hasobject:
        raise Unhashable("an object array")
    digest = hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()
    return f"array({v.dtype.str},{v.shape},{digest})"


def _unhashable(h, v):
    raise Unhashable(f"a parameter of type {type(v).__name__}")


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _with_closure(fn) -> list:
    """``fn`` and the callables its closure holds (one level)."""
    cells = getattr(fn, "__closure__", None) or ()
    return [fn] + [c.cell_contents for c in cells if callable(getattr(c, "cell_contents", None))]


def _code_digest(fn) -> str:
    """A hash of a function's code and of the functions its closure holds (one level)."""
    import marshal

    h = hashlib.sha256()
    fns = _with_closure(fn)
    for f in fns:
        code = getattr(f, "__code__", None)
        if code is None:
            h.update(repr(type(f)).encode())
            continue
        h.update(code.co_filename.encode())
        h.update(marshal.dumps(code))
    return h.hexdigest()


_OURS: dict = {}  # code filename -> whether it lies inside the symc package


def _is_ours(fn) -> bool:
    """Whether ``fn`` and the functions its closure holds are all symc's own code."""
    if not _OURS:
        _OURS[None] = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    fns = _with_closure(fn)
    for f in fns:
        code = getattr(f, "__code__", None)
        if code is None:
            return False
        ours = _OURS.get(code.co_filename)
        if ours is None:
            ours = _OURS[code.co_filename] = os.path.abspath(code.co_filename).startswith(
                _OURS[None]
            )
        if not ours:
            return False
    return True


def _extensions() -> str:
    """Rewrite rules and lowerings registered from outside symc: their names and code."""
    out = []
    rewriting = sys.modules.get("symc.rewriting.pipeline")
    if rewriting is not None:
        for phase, rules in rewriting.phase_rules().items():
            for r in rules:
                if not _is_ours(r.fn):
                    out.append(f"rule {phase} {r.name} {_code_digest(r.fn)}")
    lowering = sys.modules.get("symc.lower.registry")
    if lowering is not None:  # nothing is registered unless the registry was imported
        for cls, fn in lowering._TABLE.items():
            if not _is_ours(fn):
                out.append(f"lowering {_qualname(cls)} {_code_digest(fn)}")
    return "\n".join(sorted(out))


def source_fingerprint() -> str:
    """A hash of the name, size and mtime of every source file of symc and codegen."""
    if _FINGERPRINT:
        return _FINGERPRINT[0]
    import codegen

    h = hashlib.sha256()
    here = os.path.dirname(os.path.abspath(__file__))
    for top in (os.path.dirname(here), os.path.dirname(os.path.abspath(codegen.__file__))):
        stack = [os.path.realpath(top)]
        while stack:  # plain strings and scandir: this runs once per process, on the warm path
            d = stack.pop()
            try:
                with os.scandir(d) as it:
                    entries = sorted(it, key=_entry_name)
            except OSError:
                continue
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    if e.name != "__pycache__":
                        stack.append(e.path)
                elif e.name.endswith((".py", ".c", ".h")):
                    st = e.stat()
                    h.update(f"{e.path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    _FINGERPRINT.append(h.hexdigest())
    return _FINGERPRINT[0]


def _entry_name(e) -> str:
    return e.name


# --- looking up and recording -------------------------------------------------


class Key:
    """An index key: its parts, and the graph's shared leaves in order of first appearance."""

    __slots__ = ("parts", "shared")

    def __init__(self, parts: dict, shared: list):
        self.parts, self.shared = parts, shared


def environment_parts() -> dict:
    """What besides a graph decides what symc makes of it: settings, extensions, sources, versions.

    Raises :class:`Unhashable` when a registered extension cannot be described.
    """
    settings = {
        f.name: repr(getattr(config, f.name))
        for f in dataclasses.fields(config)
        if not f.name.startswith("_")
    }
    return {
        "config": json.dumps(settings, sort_keys=True),
        "extensions": hashlib.sha256(_extensions().encode()).hexdigest(),
        "symc_sources": source_fingerprint(),
        "python": sys.version,
        "numpy": np.__version__,
    }


def index_key(inputs, outputs, updates, single, rewrites, toolchain) -> Key | None:
    """The index key of a function, or None when this graph cannot be indexed."""
    if config.trace_rewrites:
        return None  # a warm hit would skip the trace the user asked for
    hasher = _Hasher(list(inputs))
    try:
        for v in inputs:
            hasher.node(v)
        outs = [hasher.node(o) for o in outputs]
        upd = [(hasher.node(var), hasher.node(e)) for var, e in updates]
        env = environment_parts()
    except Unhashable:
        return None
    parts = {
        "kind": "index",
        "index_version": INDEX_VERSION,
        "graph_sha256": hasher.digest(f"\nout {outs}\nupdates {upd}\nsingle {bool(single)}"),
        "rewrites": repr(sorted((rewrites or {}).items())),
        **env,
        **toolchain.key_parts(with_blas=True),
    }
    return Key(parts, hasher.shared)


class WarmLowered:
    """What :class:`~symc.compile.native.NativeFunction` reads of a lowering, from the index.

    ``constants`` and ``shared`` come from the entry; ``ctx`` and ``program``
    (the error tables and the IR) are rebuilt on first use by ``relower()``.
    """

    def __init__(self, constants: list, shared: list, relower):
        self.constants, self.shared = constants, shared
        self._relower, self._full = relower, None

    def _lowered(self):
        if self._full is None:
            self._full = self._relower()
        return self._full

    @property
    def ctx(self):
        """The lowering context (error tables), rebuilt on first use."""
        return self._lowered().ctx

    @property
    def program(self):
        """The kernel program, rebuilt on first use."""
        return self._lowered().program


def lookup(cache, key: Key, *, nthreads: int, relower):
    """``(lowered, loaded)`` from the index entry for ``key``, or None on any mismatch."""
    from codegen.cache import key_of
    from codegen.load_c import Loaded, Signature, load

    entry = cache.lookup(key.parts)
    if entry is None:
        return None
    try:
        info = json.loads((entry / _INDEX_FILE).read_text())
        if key_of(info["kernel_parts"]) != info["kernel_key"]:
            return None  # a kernel is named by the hash of its parts
        kernel = cache.entry_for_key(info["kernel_key"])
        if kernel is None:
            return None
        sig = info["signature"]
        signature = Signature(
            tuple((d, int(n)) for d, n in sig["inputs"]),
            tuple((d, int(n)) for d, n in sig["outputs"]),
            tuple(sig["check_messages"]),
        )
        constants = [
            (int(pos), np.load(entry / name, allow_pickle=False)) for pos, name in info["constants"]
        ]
        shared = [(int(pos), key.shared[int(k)]) for pos, k in info["shared"]]
        fn = load(
            kernel / "kernel.so",
            signature,
            prefix=info["prefix"],
            nthreads=nthreads,
            single=bool(info["single"]),
            fast=True,
            cache_dir=cache.root,
            link_first=info["link_first"],
        )
    except Exception:  # noqa: BLE001 - an index entry is a shortcut; any doubt: the full path
        return None
    lowered = WarmLowered(constants, shared, relower)
    loaded = Loaded(
        fn, None, kernel / "kernel.so", info["kernel_parts"], {"index": True}, info["link_first"]
    )
    return lowered, loaded


def record(cache, key: Key, lowered, loaded, *, single: bool, prefix: str = "symc") -> None:
    """Write the index entry for ``key`` (best effort: a failure only costs the next process)."""
    try:
        shared_at = {id(n): k for k, n in enumerate(key.shared)}
        shared = [(pos, shared_at[id(n)]) for pos, n in lowered.shared]
        constants = [(pos, np.asarray(a)) for pos, a in lowered.constants]
        if any(a.dtype.hasobject for _, a in constants):
            return
        program = lowered.program
        kernel_key = loaded.path.parent.name
        info = {
            "kernel_key": kernel_key,
            "kernel_parts": loaded.key_parts,
            "signature": {
                "inputs": [[b.dtype, b.ndim] for b in program.inputs],
                "outputs": [[b.dtype, b.ndim] for b in program.outputs],
                "check_messages": [c.message for c in program.checks],
            },
            "single": bool(single),
            "prefix": prefix,
            "constants": [[pos, f"const{k}.npy"] for k, (pos, _) in enumerate(constants)],
            "shared": shared,
            "link_first": list(loaded.link_first),
        }
    except (KeyError, AttributeError, TypeError):
        return  # a shared variable the graph does not show, or an unexpected lowering

    def build(d: Path) -> None:
        for k, (_, a) in enumerate(constants):
            np.save(d / f"const{k}.npy", a, allow_pickle=False)
        (d / _INDEX_FILE).write_text(json.dumps(info, sort_keys=True))

    if loaded.path.parent.parent.parent != Path(cache.root):
        return  # the kernel lives in a private temporary directory: nothing to point at
    try:
        cache.discard(key.parts)  # a stale entry (its kernel vanished) is replaced
        cache.get(key.parts, build, label="index: " + kernel_key[:12])
    except OSError:
        pass
