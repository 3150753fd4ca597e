"""Scalar printing without a compiler: literals, precedence, helpers, validation, labels."""

from __future__ import annotations

import pytest

from codegen.c import render, safe_comment
from codegen.errors import IRError
from codegen.ir import BinOp, Buffer, Call, Cast, Const, Load, Select, UnaryOp
from codegen.printer import ScalarPrinter, literal


def show(expr):
    p = ScalarPrinter()
    lines, (text,) = p.block([expr], lambda k: f"x{k}")
    return lines, text, p


@pytest.mark.parametrize(
    "value,dtype,text",
    [
        (1.5, "float32", "1.5f"),
        (0.1, "float64", "0.1"),
        (-0.0, "float64", "(-0.0)"),
        (float("inf"), "float32", "INFINITY"),
        (float("-inf"), "float64", "(-((double)INFINITY))"),
        (float("nan"), "float64", "((double)NAN)"),
        (1e-300, "float64", "1e-300"),
        (-(2**63), "int64", "((int64_t)(-9223372036854775807LL - 1))"),
        (255, "uint8", "((uint8_t)255ULL)"),
        (True, "bool", "1"),
    ],
)
def test_literals(value, dtype, text):
    assert literal(value, dtype) == text


def test_literal_out_of_range():
    with pytest.raises(IRError, match="does not fit"):
        literal(256, "uint8")


def test_precedence_keeps_meaning():
    x, y, z = (Load(i, "float64") for i in range(3))
    assert show(BinOp("sub", x, BinOp("sub", y, z)))[1] == "x0 - (x1 - x2)"
    assert show(BinOp("sub", BinOp("sub", x, y), z))[1] == "x0 - x1 - x2"
    assert show(BinOp("mul", BinOp("add", x, y), z))[1] == "(x0 + x1) * x2"
    assert show(BinOp("add", x, BinOp("mul", y, z)))[1] == "x0 + x1 * x2"
    assert show(UnaryOp("neg", UnaryOp("neg", x)))[1] == "-(-x0)"
    assert show(BinOp("sub", x, Const(-1.0, "float64")))[1] == "x0 - (-1.0)"
    sel = Select(Call("gt", (x, y)), z, Load(3, "float64"))
    assert show(BinOp("add", sel, Load(4, "float64")))[1] == "(x0 > x1 ? x2 : x3) + x4"
    assert show(Cast(BinOp("add", x, y), "float32"))[1] == "(float)(x0 + x1)"


def test_float32_spellings_and_helpers_only_when_used():
    x = Load(0, "float32")
    _, text, p = show(Call("exp", (x,)))
    assert text == "expf(x0)" and not p.helpers
    _, text, p = show(Call("sigmoid", (x,)))
    assert text == "symc_sigmoid_f32(x0)" and list(p.helpers) == [("sigmoid", "float32")]


def test_shared_subexpressions_are_computed_once():
    x = Load(0, "float64")
    e = Call("exp", (x,))
    lines, text, _ = show(BinOp("add", e, BinOp("mul", e, e)))
    assert lines == ["const double v1 = exp(x0);"] and text == "v1 + v1 * v1"


def test_deep_dag_hashes_fast():
    e = Load(0, "float64")
    for _ in range(200):  # 2**200 paths: hashing and printing must not walk them
        e = BinOp("add", e, e)
    lines, _, _ = show(e)
    assert len(lines) == 200


def test_dtype_errors():
    with pytest.raises(IRError, match="insert a Cast"):
        show(BinOp("add", Load(0, "float64"), Load(1, "float32")))
    with pytest.raises(IRError, match="not defined for int64"):
        show(Call("exp", (Load(0, "int64"),)))
    with pytest.raises(IRError, match="unknown scalar function"):
        show(Call("system", (Load(0, "int64"),)))


def test_labels_cannot_escape_comments():
    evil = 'x); system("touch pwned"); (*/ #include\n'
    clean = safe_comment(evil)
    assert "*/" not in clean and "\n" not in clean and '"' not in clean and "#" not in clean


def test_render_rejects_bad_prefix():
    from codegen.ir import Program

    with pytest.raises(IRError):
        render(Program((), ()), prefix="x; int y")
    b = Buffer("a", "float64", 1)
    with pytest.raises(IRError, match="must not declare a shape"):
        render(Program((Buffer("a", "float64", 1, "input", (1,)),), ()))
    with pytest.raises(IRError, match="two buffers"):
        render(Program((b, b), ()))
