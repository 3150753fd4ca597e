"""User labels never reach the C source as code."""

from __future__ import annotations

import os

import numpy as np

from codegen.ir import BinOp, Buffer, Elementwise, Load, Program, Shape, Store, contiguous_view
from codegen.load_c import compile_and_load

EVIL = 'x); system("touch pwned"); ('


def test_label_injection(cache_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = Buffer(EVIL, "float64", 1)
    out = Buffer(EVIL + "*/ int boom;\n#error no", "float64", 1, "output", (Shape(a, 0),))
    expr = BinOp("add", Load(0, "float64"), Load(0, "float64"))
    prog = Program(
        (a,),
        (out,),
        (),
        (Elementwise((Shape(a, 0),), (contiguous_view(a),), (Store(contiguous_view(out), expr),)),),
    )
    loaded = compile_and_load(prog, cache_dir=cache_dir)
    np.testing.assert_array_equal(loaded.fn(np.arange(3.0)), [0.0, 2.0, 4.0])
    for line in loaded.source.splitlines():  # labels survive only inside one-line comments
        if "system" in line or "boom" in line:
            text = line.strip()
            assert text.startswith("/*") and text.endswith("*/") and text.count("*/") == 1
    assert "#error" not in loaded.source
    assert not os.path.exists(tmp_path / "pwned")
