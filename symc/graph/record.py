"""``record``: ``@dataclass`` for symc's own classes, without compiling code at import.

``dataclasses.dataclass`` writes each class's ``__init__``, ``__repr__``,
``__eq__``, ``__hash__`` and (frozen) ``__setattr__``/``__delattr__`` as source
text and compiles it: about a millisecond per class, which made defining the
ops most of what a fresh process spends before its first result. ``record``
gives the same class (``dataclasses.fields``, ``is_dataclass``, ``replace``,
subclassing with ``@dataclass``, pickling all work) with methods that are
closures over the field names, so defining a class compiles nothing.

Only the options symc uses are supported (``frozen``, ``eq``, ``slots``, and
``field(default=..., default_factory=..., init=..., repr=..., compare=...,
hash=...)``); anything else (``InitVar``, ``KW_ONLY``, ``kw_only`` fields)
is handed to ``dataclasses.dataclass`` unchanged. Library authors keep
writing ``@dataclass(frozen=True)``; this is an internal speed-up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, Field, FrozenInstanceError
from operator import attrgetter

_FIELD = getattr(dataclasses, "_FIELD", None)
_PARAMS_CLS = getattr(dataclasses, "_DataclassParams", None)
_PARAMS_ARGS: tuple = ()
if _PARAMS_CLS is not None:
    _code = _PARAMS_CLS.__init__.__code__
    _PARAMS_ARGS = _code.co_varnames[1 : _code.co_argcount]
_KNOWN_PARAMS = {"init", "repr", "eq", "order", "unsafe_hash", "frozen"}
_KNOWN_PARAMS |= {"match_args", "kw_only", "slots", "weakref_slot"}
_SUPPORTED = _FIELD is not None and bool(_PARAMS_ARGS) and set(_PARAMS_ARGS) <= _KNOWN_PARAMS


_FACTORY = object()  # a default made by the field's default_factory, per instance


class _Unsupported(Exception):
    """The class needs a dataclass feature ``record`` does not reimplement."""


def record(cls=None, /, *, frozen: bool = True, eq: bool = True, slots: bool = False):
    """A dataclass decorator (default ``frozen=True``) that compiles no code.

    >>> @record
    ... class Pair:
    ...     a: int
    ...     b: int = 0
    """

    def wrap(c):
        if _SUPPORTED:
            try:
                return _process(c, frozen, eq, slots)
            except _Unsupported:
                pass
        return dataclasses.dataclass(c, frozen=frozen, eq=eq, slots=slots)

    return wrap if cls is None else wrap(cls)


def _is_special(annotation, names: tuple[str, ...]) -> bool:
    if isinstance(annotation, str):
        head = annotation.split("[", 1)[0].strip()
        return head in names or head.rpartition(".")[2] in names
    return getattr(annotation, "__name__", None) in names or type(annotation).__name__ in names


def _own_fields(cls) -> list[Field]:
    out = []
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_special(annotation, ("ClassVar",)):
            continue
        if _is_special(annotation, ("InitVar", "KW_ONLY", "_KW_ONLY_TYPE")):
            raise _Unsupported(name)
        default = cls.__dict__.get(name, MISSING)
        if isinstance(default, Field):
            f = default
            if f.kw_only not in (MISSING, False):
                raise _Unsupported(name)
        else:
            if type(default).__name__ == "member_descriptor":  # a __slots__ entry
                default = MISSING
            f = dataclasses.field(default=default)
        if f.default is not MISSING and f.default.__class__.__hash__ is None:
            raise ValueError(
                f"mutable default {type(f.default)} for field {name} is not allowed: "
                "use default_factory"
            )
        f.name, f.type, f._field_type, f.kw_only = name, annotation, _FIELD, False
        if isinstance(default, Field):
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        out.append(f)
    return out


def _process(cls, frozen: bool, eq: bool, slots: bool):
    fields: dict[str, Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        inherited = getattr(base, "__dataclass_fields__", None)
        if inherited is not None:
            if base.__dataclass_params__.frozen != frozen:
                raise _Unsupported(base)  # dataclass raises its own TypeError
            fields.update((f.name, f) for f in inherited.values() if f._field_type is _FIELD)
    for f in _own_fields(cls):
        fields[f.name] = f
    flist = list(fields.values())
    init_fields = [f for f in flist if f.init]
    seen_default = False
    for f in init_fields:
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        seen_default = seen_default or has_default
    if frozen and ("__setattr__" in cls.__dict__ or "__delattr__" in cls.__dict__):
        raise _Unsupported(cls)  # dataclass raises its own TypeError
    if slots:
        cls = _with_slots(cls, [f.name for f in flist])

    values = {
        "init": True,
        "repr": True,
        "eq": eq,
        "order": False,
        "unsafe_hash": False,
        "frozen": frozen,
        "match_args": True,
        "kw_only": False,
        "slots": slots,
        "weakref_slot": False,
    }
    cls.__dataclass_params__ = _PARAMS_CLS(*(values[a] for a in _PARAMS_ARGS))
    cls.__dataclass_fields__ = fields

    own = cls.__dict__
    if "__init__" not in own:
        cls.__init__ = _init(cls, flist, frozen)
    if "__repr__" not in own:
        cls.__repr__ = _repr(cls, [f.name for f in flist if f.repr])
    compared = [f.name for f in flist if f.compare]
    if eq and "__eq__" not in own:
        cls.__eq__ = _eq(cls, compared)
    class_hash = own.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
    if eq and not explicit_hash:
        if frozen:
            hashed = [f.name for f in flist if (f.compare if f.hash is None else f.hash)]
            cls.__hash__ = _hash(cls, hashed)
        else:
            cls.__hash__ = None
    if frozen:
        cls.__setattr__, cls.__delattr__ = _frozen(cls, {f.name for f in flist})
        if slots:
            cls.__getstate__, cls.__setstate__ = _slot_state(cls, [f.name for f in flist])
    if not cls.__doc__:
        cls.__doc__ = f"{cls.__name__}({', '.join(f.name for f in init_fields)})"
    if "__match_args__" not in own:
        cls.__match_args__ = tuple(f.name for f in init_fields)
    return cls


def _with_slots(cls, names: list[str]):
    """A copy of ``cls`` with ``__slots__`` for its fields (slots are fixed at class creation)."""
    if "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    inherited = set()
    for base in cls.__mro__[1:-1]:
        s = base.__dict__.get("__slots__", ())
        inherited.update((s,) if isinstance(s, str) else s)
    body = dict(cls.__dict__)
    body["__slots__"] = tuple(n for n in names if n not in inherited)
    for n in names:
        body.pop(n, None)
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    qualname = cls.__qualname__
    new = type(cls)(cls.__name__, cls.__bases__, body)
    new.__qualname__ = qualname
    return new


def _set_qualname(cls, fn, name: str):
    fn.__name__ = name
    fn.__qualname__ = f"{cls.__qualname__}.{name}"
    fn.__module__ = cls.__module__
    return fn


def _init(cls, flist: list[Field], frozen: bool):
    names = tuple(f.name for f in flist if f.init)
    index = {k: i for i, k in enumerate(names)}
    n = len(names)
    # per position: the default value, _FACTORY (call the field's factory) or MISSING
    fill = []
    factories = {}
    for i, f in enumerate(f for f in flist if f.init):
        if f.default_factory is not MISSING:
            fill.append(_FACTORY)
            factories[i] = f.default_factory
        else:
            fill.append(f.default)
    # init=False fields with a default are set from it
    later = [f for f in flist if not f.init and _has_default(f)]
    post = hasattr(cls, "__post_init__")
    put = object.__setattr__ if frozen else setattr  # as dataclass: a frozen class skips its guard
    qual = cls.__qualname__
    # nothing intercepts setting a field (no slots, descriptors or own __setattr__):
    # fill __dict__ at once
    direct = (
        "__slots__" not in cls.__dict__
        and (frozen or cls.__setattr__ is object.__setattr__)
        and not any(hasattr(type(getattr(cls, k, None)), "__set__") for k in names)
    )

    def __init__(self, *args, **kwargs):
        if kwargs or len(args) != n:
            given = len(args)
            if given > n:
                raise TypeError(
                    f"{qual}.__init__() takes {n + 1} positional arguments "
                    f"but {given + 1} were given"
                )
            values = [*args, *fill[given:]]
            for k, v in kwargs.items():
                i = index.get(k)
                if i is None:
                    raise TypeError(f"{qual}.__init__() got an unexpected keyword argument {k!r}")
                if i < given:
                    raise TypeError(f"{qual}.__init__() got multiple values for argument {k!r}")
                values[i] = v
            for i, make in factories.items():
                if values[i] is _FACTORY:
                    values[i] = make()
            missing = [repr(names[i]) for i, v in enumerate(values) if v is MISSING]
            if missing:
                listed = ", ".join(missing)
                raise TypeError(f"{qual}.__init__() missing required argument(s): {listed}")
            args = values
        if direct and type(self) is cls:  # a subclass may intercept: set one by one
            self.__dict__.update(zip(names, args, strict=True))
        else:
            for k, v in zip(names, args, strict=True):
                put(self, k, v)
        for f in later:
            put(self, f.name, _default(f))
        if post:
            self.__post_init__()

    return _set_qualname(cls, __init__, "__init__")


def _has_default(f: Field) -> bool:
    return f.default is not MISSING or f.default_factory is not MISSING


def _default(f: Field):
    return f.default_factory() if f.default_factory is not MISSING else f.default


def _key(names: list[str]):
    """A function from an instance to the tuple of these fields."""
    if not names:
        return lambda self: ()
    if len(names) == 1:
        (name,) = names
        return lambda self: (getattr(self, name),)
    return attrgetter(*names)


_REPR_RUNNING: set = set()


def _repr(cls, names: list[str]):
    def __repr__(self):
        key = id(self)
        if key in _REPR_RUNNING:  # a value that contains itself, as dataclass's repr guards
            return "..."
        _REPR_RUNNING.add(key)
        try:
            inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in names)
        finally:
            _REPR_RUNNING.discard(key)
        return f"{self.__class__.__qualname__}({inner})"

    return _set_qualname(cls, __repr__, "__repr__")


def _eq(cls, names: list[str]):
    key = _key(names)

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return _set_qualname(cls, __eq__, "__eq__")


def _hash(cls, names: list[str]):
    key = _key(names)

    def __hash__(self):
        return hash(key(self))

    return _set_qualname(cls, __hash__, "__hash__")


def _frozen(cls, names: set[str]):
    def __setattr__(self, name, value):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self, name):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return _set_qualname(cls, __setattr__, "__setattr__"), _set_qualname(
        cls, __delattr__, "__delattr__"
    )


def _slot_state(cls, names: list[str]):
    def __getstate__(self):
        return [getattr(self, k) for k in names]

    def __setstate__(self, state):
        for k, v in zip(names, state, strict=True):
            object.__setattr__(self, k, v)

    return _set_qualname(cls, __getstate__, "__getstate__"), _set_qualname(
        cls, __setstate__, "__setstate__"
    )
