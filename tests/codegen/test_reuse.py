"""Temporaries share storage only when their lifetimes cannot overlap."""

from __future__ import annotations

from codegen.ir import (
    BinOp,
    Buffer,
    Const,
    Elementwise,
    Load,
    Program,
    Repeat,
    Shape,
    Store,
    contiguous_view,
)
from codegen.reuse import plan_reuse


def _chain(n_temps: int, shapes=None, dtypes=None):
    """``t0 = a; t_{i+1} = t_i + 1; out = t_last * a``: each temp dies at the next statement."""
    a = Buffer("a", "float64", 2)
    shape = (Shape(a, 0), Shape(a, 1))
    temps = tuple(
        Buffer(
            f"t{i}",
            (dtypes or {}).get(i, "float64"),
            2,
            "temp",
            (shapes or {}).get(i, shape),
        )
        for i in range(n_temps)
    )
    out = Buffer("out", "float64", 2, "output", shape)
    x = Load(0, "float64")
    body = [Elementwise(shape, (contiguous_view(a),), (Store(contiguous_view(temps[0]), x),))]
    for i in range(1, n_temps):
        body.append(
            Elementwise(
                shape,
                (contiguous_view(temps[i - 1]),),
                (Store(contiguous_view(temps[i]), BinOp("add", x, Const(1.0, "float64"))),),
            )
        )
    body.append(
        Elementwise(
            shape,
            (contiguous_view(temps[-1]), contiguous_view(a)),
            (Store(contiguous_view(out), BinOp("mul", x, Load(1, "float64"))),),
        )
    )
    return Program((a,), (out,), temps, tuple(body)), temps


def test_a_chain_alternates_between_two_allocations():
    prog, t = _chain(5)
    alias = plan_reuse(prog)
    # t1 reads t0 while it is written, so it needs its own storage; t2 may take t0's
    assert alias == {t[2]: t[0], t[3]: t[1], t[4]: t[0]}


def test_transposed_shapes_share_but_other_sizes_and_dtypes_do_not():
    a = Buffer("a", "float64", 2)
    n, m = Shape(a, 0), Shape(a, 1)
    prog, t = _chain(4, shapes={2: (m, n), 3: (n, n)}, dtypes={})
    assert plan_reuse(prog) == {t[2]: t[0]}
    prog, t = _chain(3, dtypes={2: "int64"})
    assert plan_reuse(prog) == {}


def test_a_temporary_used_inside_a_loop_lives_for_the_whole_loop():
    prog, t = _chain(3)
    loop = Repeat(0, 4, (prog.body[1],))  # reads t0, writes t1 on every step
    body = (prog.body[0], loop, prog.body[2], prog.body[3])
    alias = plan_reuse(Program(prog.inputs, prog.outputs, prog.temps, body))
    assert t[1] not in alias and t[2] in alias and alias[t[2]] == t[0]


def test_compiled_chain_with_shared_storage_computes_the_chain(build):
    import numpy as np

    from codegen.c import render

    prog, t = _chain(6)
    assert len(plan_reuse(prog)) == 4
    src = render(prog)
    # two allocations serve six temporaries: four slots point at earlier ones
    assert src.count("INT64_C(0),") >= 4
    a = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(build(prog)(a), (a + 5) * a)
