"""``symc.graph.record`` builds the same classes as ``dataclasses.dataclass``."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest

from symc.graph.record import record


def _pair(deco):
    """The same class body under ``deco``: a base with no fields and a subclass with three."""

    @deco
    class Base:
        """Base."""

        tag = "base"

    @deco
    class Thing(Base):
        """Thing."""

        a: int
        b: tuple = ()
        c: list = field(default_factory=list, compare=False, repr=False)

        def total(self) -> int:
            return self.a + len(self.b)

    return Base, Thing


FROZEN = [dataclass(frozen=True), record]


@pytest.mark.parametrize("deco", FROZEN, ids=["dataclass", "record"])
def test_frozen_behaviour(deco):
    _, Thing = _pair(deco)
    t = Thing(1, (2, 3))
    assert t.total() == 3
    assert t == Thing(a=1, b=(2, 3), c=[9])  # c is not compared
    assert t != Thing(1)
    assert hash(t) == hash(Thing(1, (2, 3)))
    assert repr(t) == "test_frozen_behaviour.<locals>._pair.<locals>.Thing(a=1, b=(2, 3))" or (
        repr(t).endswith("Thing(a=1, b=(2, 3))")
    )
    assert t.c == [] and t.c is not Thing(1).c
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.a = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del t.a
    with pytest.raises(TypeError):
        Thing()
    with pytest.raises(TypeError):
        Thing(1, 2, 3, 4)
    with pytest.raises(TypeError):
        Thing(1, a=2)
    with pytest.raises(TypeError):
        Thing(1, d=2)
    assert [f.name for f in dataclasses.fields(t)] == ["a", "b", "c"]
    assert dataclasses.is_dataclass(Thing)
    assert dataclasses.replace(t, a=5) == Thing(5, (2, 3))
    assert dataclasses.asdict(t) == {"a": 1, "b": (2, 3), "c": []}
    assert Thing.__match_args__ == ("a", "b", "c")
    assert Thing.__eq__(t, 1) is NotImplemented


def test_same_methods_as_dataclass():
    """Both decorators agree on equality, hashing and repr for the same values."""
    (_, real), (_, fast) = _pair(dataclass(frozen=True)), _pair(record)
    for args in [(1,), (1, (2,)), (0, (), [1])]:
        r, f = real(*args), fast(*args)
        assert repr(r).rsplit(".", 1)[1] == repr(f).rsplit(".", 1)[1]
        assert (r == real(*args)) == (f == fast(*args))
        assert dataclasses.astuple(r) == dataclasses.astuple(f)


def test_library_subclass_with_dataclass():
    """A user's ``@dataclass(frozen=True)`` subclass of a ``record`` class behaves as usual."""
    Base, Thing = _pair(record)

    @dataclass(frozen=True)
    class Sub(Thing):
        d: str = "x"

    s = Sub(1, (), [], "y")
    assert [f.name for f in dataclasses.fields(s)] == ["a", "b", "c", "d"]
    assert s == Sub(1, (), [5], "y") and s != Sub(1, (), [], "z")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.d = "z"
    with pytest.raises(TypeError):  # as with dataclass: no non-frozen subclass of a frozen one

        @dataclass
        class Loose(Base):
            e: int = 0


def test_explicit_eq_and_hash_are_kept():
    @record
    class Ident:
        v: int

        def __eq__(self, other):
            return self is other

        __hash__ = object.__hash__

    a = Ident(1)
    assert a != Ident(1) and a == a
    assert hash(a) == object.__hash__(a)

    @record
    class EqOnly:
        v: int

        def __eq__(self, other):
            return isinstance(other, EqOnly)

    assert EqOnly(1) == EqOnly(2) and hash(EqOnly(1)) == hash((1,))


def test_eq_false_keeps_identity():
    @record(eq=False)
    class Box:
        v: list = field(repr=False)

    b = Box([1])
    assert b != Box([1]) and hash(b) == object.__hash__(b)
    assert repr(b).endswith("Box()")


def test_slots_and_pickle():
    @record(slots=True)
    class Typed:
        dtype: str
        shape: tuple

    t = Typed("float64", (2, None))
    assert not hasattr(t, "__dict__") and Typed.__slots__ == ("dtype", "shape")
    assert copy.deepcopy(t) == t and copy.copy(t) == t
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.dtype = "int64"
    with pytest.raises((AttributeError, TypeError, dataclasses.FrozenInstanceError)):
        t.other = 1


def test_not_frozen():
    @record(frozen=False)
    class Bag:
        name: str
        items: list = field(default_factory=list)

    b = Bag("x")
    b.items.append(1)
    b.name = "y"
    assert b == Bag("y", [1]) and Bag.__hash__ is None


def test_mutable_default_refused():
    with pytest.raises(ValueError):

        @record
        class Bad:
            v: list = []  # noqa: RUF012 - the mistake under test


def test_non_default_after_default_refused():
    with pytest.raises(TypeError):

        @record
        class Bad:
            a: int = 0
            b: int


def test_unsupported_features_fall_back_to_dataclass():
    @record
    class WithInitVar:
        a: int
        scale: dataclasses.InitVar[int] = 1

        def __post_init__(self, scale):
            object.__setattr__(self, "a", self.a * scale)

    assert WithInitVar(2, 3).a == 6


def test_post_init_runs():
    @record
    class Checked:
        a: int

        def __post_init__(self):
            if self.a < 0:
                raise ValueError("negative")

    assert Checked(1).a == 1
    with pytest.raises(ValueError):
        Checked(-1)


def test_symc_classes_pickle_and_compare():
    """symc's own records: types and ops round-trip through pickle and intern by value."""
    from symc.graph.types import TensorType
    from symc.ops.elemwise import Elemwise
    from symc.ops.reduce import Reduce

    t = TensorType("float64", (3, None))
    assert pickle.loads(pickle.dumps(t)) == t and not hasattr(t, "__dict__")
    assert hash(t) == hash(TensorType("float64", (3, None)))
    op = Elemwise("exp")
    assert pickle.loads(pickle.dumps(op)) == op and hash(op) == hash(Elemwise("exp"))
    assert op != Elemwise("log") and repr(op) == "Elemwise(fn='exp')"
    assert dataclasses.is_dataclass(Reduce) and dataclasses.fields(Reduce)


def test_a_subclass_setter_still_sees_every_field():
    seen = []

    @record(frozen=False)
    class Base:
        a: int
        b: int = 2

    class Watched(Base):
        def __setattr__(self, name, value):
            seen.append(name)
            super().__setattr__(name, value)

    w = Watched(1, b=3)
    assert (w.a, w.b) == (1, 3) and seen == ["a", "b"]
    assert Base(1).__dict__ == {"a": 1, "b": 2}
