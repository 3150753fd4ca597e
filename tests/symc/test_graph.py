"""Graph utilities: ``dprint``, ``inputs_of``, ``replace``, interning, user locations."""

from __future__ import annotations

import inspect
import io

import numpy as np
import pytest

import symc as sc
from symc.graph.location import user_location
from symc.graph.printing import dprint_text


def printed(outputs, **kw) -> str:
    buf = io.StringIO()
    sc.dprint(outputs, file=buf, **kw)
    return buf.getvalue()


# ---------------------------------------------------------------- dprint


def test_dprint_is_readable():
    x = sc.vector("x")
    text = printed(sc.sum(x * 2))
    assert text.splitlines() == [
        "sum{axes=(0,)} : float64[]",
        "└─ mul : float64[?,]",
        "   ├─ x : float64[?,]",
        "   └─ const 2.0 : float64[]",
    ]


def test_dprint_shows_names_shapes_and_shared():
    w = sc.shared(np.zeros((1, 3)), name="w")
    T = sc.tensor("T", shape=(None, 3), dtype="float32")
    text = printed(T * w)
    assert "T : float32[?, 3]" in text
    assert "shared w : float64[1, ?]" in text


def test_dprint_tags_shared_subexpressions_once():
    x = sc.vector("x")
    e = sc.exp(x)
    text = printed(e * e + sc.sin(e))
    assert text.count("exp : float64[?,] [id A]") == 1  # printed in full once
    assert text.count("[id A] exp ...") == 2  # then referred to
    assert text.count("x : float64[?,]") == 1


def test_dprint_several_outputs_refer_to_each_other():
    x = sc.vector("x")
    inner = sc.exp(x)
    outer = sc.sum(inner)
    lines = printed([outer, inner]).splitlines()
    assert lines[-1] == "[id A] exp ..."


def test_dprint_of_a_gradient_mentions_the_pullbacks():
    x = sc.vector("x")
    g = sc.grad(sc.sum(sc.sin(x)), x)
    assert "cos" in printed(g)


def test_dprint_deep_chain_does_not_recurse():
    x = sc.vector("x")
    y = x
    for k in range(10_000):
        y = sc.sin(y) if k % 2 else y + 1.0
    text = dprint_text(y)
    lines = text.splitlines()
    # every op of the chain appears once, and no line grows with the depth
    assert sum(1 for line in lines if ": float64[?,]" in line) == 10_001
    assert max(len(line) for line in lines) < 200
    assert "(continued below)" in text


def test_dprint_max_depth_blocks():
    x = sc.scalar("x")
    y = x
    for _ in range(5):
        y = sc.exp(y)
    lines = dprint_text(y, max_depth=2).splitlines()
    assert lines[:3] == [
        "exp : float64[]",
        "└─ exp : float64[]",
        "   └─ [id A] exp ... (continued below)",
    ]
    assert "exp : float64[] [id A]" in lines


# ---------------------------------------------------------------- interning


def test_same_expression_is_same_object():
    x, y = sc.vector("x"), sc.vector("y")
    assert (x + y) is (x + y)
    assert sc.sum(sc.exp(x), axis=0) is sc.sum(sc.exp(x), axis=0)
    assert sc.constant(np.arange(3.0)) is sc.constant(np.arange(3.0))
    assert (x + y) is not (y + x)
    assert sc.vector("x") is not x  # inputs are distinct even with the same name


def test_interned_nodes_keep_the_first_location():
    x = sc.vector("x")
    first = inspect.currentframe().f_lineno + 1
    a = sc.exp(x)
    b = sc.exp(x)
    assert a is b and a.loc[1] == first


# ---------------------------------------------------------------- inputs_of and replace


def test_inputs_of_lists_free_inputs_and_shared():
    x, y, z = sc.vector("x"), sc.scalar("y"), sc.scalar("z")
    w = sc.shared(np.ones(2), name="w")
    cost = sc.sum(x * w) + y * 2
    found = sc.inputs_of([cost, sc.grad(cost, y)])
    assert {id(n) for n in found} == {id(x), id(y), id(w)}
    assert id(z) not in {id(n) for n in found}
    (only,) = sc.inputs_of(x)
    assert only is x
    assert sc.inputs_of(sc.constant(1.0) * 2) == []


def test_replace_substitutes_and_reinfers(backend):
    v = sc.vector("v")
    cost = sc.sum(v**2)
    (new,) = sc.replace([cost], {v: 2 * v})
    assert new is not cost
    f = sc.function([v], [cost, new], backend=backend)
    old_val, new_val = f(np.array([1.0, 2.0]))
    assert old_val == 5.0 and new_val == 20.0


def test_replace_with_another_input_and_dtype(backend):
    v = sc.vector("v")
    u = sc.vector("u", dtype="float32")
    (out,) = sc.replace(sc.exp(v) * v, {v: u})
    assert out.dtype == "float32"
    (only,) = sc.inputs_of(out)
    assert only is u
    result = sc.function([u], out, backend=backend)(np.ones(2, "float32"))
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, [np.e, np.e], rtol=1e-6)


def test_replace_leaves_untouched_parts_shared():
    x, y = sc.vector("x"), sc.vector("y")
    left = sc.exp(x)
    a, b = sc.replace([left, left + y], {y: sc.sin(y)})
    assert a is left  # nothing to replace below it: the same object
    assert b.inputs[0] is left


def test_replace_checks_dimensions():
    x = sc.vector("x")
    with pytest.raises(sc.SymcShapeError, match="number of dimensions"):
        sc.replace([x * 2], {x: sc.matrix("m")})


def test_replace_deep_chain():
    x = sc.vector("x")
    y = x
    for _ in range(3000):  # deeper than the default recursion limit
        y = y * 1.5
    (out,) = sc.replace([y], {x: sc.vector("z")})
    assert out is not y and out.dtype == "float64"


def test_toposort_deep_chain_orders_inputs_first():
    x = sc.scalar("x")
    y = x
    for _ in range(10_000):
        y = sc.cos(y)
    order = sc.toposort([y])
    assert order[0] is x and order[-1] is y and len(order) == 10_001


# ---------------------------------------------------------------- locations


def helper_building_a_node(x):
    return sc.exp(x)


def test_location_is_the_users_line_not_symc():
    x = sc.vector("x")
    line = inspect.currentframe().f_lineno + 1
    y = sc.mean(sc.var(x) + x)  # several symc frames deep
    assert y.loc == (__file__, line)
    assert y.inputs[0].loc[0] == __file__  # the intermediate sum/div nodes too


def test_location_in_user_helper_is_the_helper():
    x = sc.scalar("x")
    y = helper_building_a_node(x)
    _, line = y.loc
    assert line == inspect.getsourcelines(helper_building_a_node)[1] + 1


def test_user_location_skips_symc_frames():
    loc = user_location()
    assert loc == (__file__, inspect.currentframe().f_lineno - 1)


def test_grad_nodes_record_a_location():
    x = sc.vector("x")
    line = inspect.currentframe().f_lineno + 1
    g = sc.grad(sc.sum(sc.sin(x)), x)
    assert g.loc[0] == __file__
    assert g.loc[1] == line
