"""The warm index: a graph compiled by an earlier process loads without optimizing or lowering.

A "fresh process" is simulated in-process by forgetting every in-memory
memo (native._MEMO, load_c._LOADED, Cache._memory); one test runs a real
second interpreter to check what the warm path imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import symc as sc

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _needs_compiler():
    from codegen.toolchain import find_compiler

    try:
        find_compiler()
    except Exception:
        pytest.skip("no C compiler")


def forget() -> None:
    """Drop what this process remembers, as if the next compile ran in a new process."""
    from codegen import load_c
    from codegen.cache import Cache
    from symc.compile import native

    native._MEMO.clear()
    load_c._LOADED.clear()
    Cache._memory.clear()


def compile_fresh(cache, build):
    forget()
    with sc.config.change(cache_dir=str(cache)):
        inputs, outputs, kw = build()
        return sc.function(inputs, outputs, backend="c", **kw)


def index_entries(cache: Path) -> list[Path]:
    return [p.parent for p in cache.glob("??/*/index.json")]


def logreg():
    X, y, w = sc.matrix("X"), sc.vector("y"), sc.vector("w")
    p = sc.sigmoid(sc.dot(X, w) + 0.5)
    loss = -sc.mean(y * sc.log(p) + (1 - y) * sc.log(1 - p))
    return [X, y, w], [loss, *sc.grad(loss, [w])], {}


def with_state():
    """Shared state, an update and a lifted constant array."""
    x = sc.vector("x")
    acc = sc.shared(np.zeros(3), name="acc")
    k = sc.constant(np.array([1.0, 2.0, 3.0]))
    return [x], (x * k + acc).sum(), {"updates": [(acc, acc + x * k)]}


def test_second_process_hits_the_index(tmp_path):
    rng = np.random.default_rng(0)
    X, y, w = rng.standard_normal((5, 3)), (rng.random(5) < 0.5) * 1.0, rng.standard_normal(3)
    cold = compile_fresh(tmp_path, logreg)
    assert "index" not in cold._loaded.timings
    (entry,) = index_entries(tmp_path)
    warm = compile_fresh(tmp_path, logreg)
    assert warm._loaded.timings == {"index": True}
    for a, b in zip(cold(X, y, w), warm(X, y, w), strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype == np.float64
    assert warm.source == cold.source  # read back from the kernel's cache entry


def test_shared_updates_and_constants_through_the_index(tmp_path):
    cold = compile_fresh(tmp_path, with_state)
    assert float(cold(np.ones(3))) == 6.0
    entry = index_entries(tmp_path)[0]
    info = json.loads((entry / "index.json").read_text())
    assert info["shared"] and info["constants"]
    assert all((entry / name).exists() for _, name in info["constants"])
    warm = compile_fresh(tmp_path, with_state)  # a new graph: a new shared variable
    assert warm._loaded.timings == {"index": True}
    assert float(warm(np.ones(3))) == 6.0
    assert float(warm(np.ones(3))) == 12.0  # the update went to this graph's variable
    assert float(cold(np.ones(3))) == 12.0  # and not to the first graph's


def test_structure_decides_the_key(tmp_path):
    from codegen.toolchain import get_toolchain
    from symc.compile import warm

    tc = get_toolchain()

    def key(build):
        inputs, outputs, kw = build()
        outs = outputs if isinstance(outputs, list) else [outputs]
        k = warm.index_key(inputs, outs, kw.get("updates", []), False, None, tc)
        return None if k is None else k.parts

    def scaled(c, name="x"):
        def build():
            x = sc.vector(name)
            return [x], [x * sc.constant(np.array([c, 1.0]))], {}

        return build

    assert key(logreg) == key(logreg)  # built twice: other objects, same structure
    assert key(scaled(2.0)) == key(scaled(2.0))
    assert key(scaled(2.0)) != key(scaled(3.0))  # constant bytes count
    assert key(scaled(2.0)) != key(scaled(2.0, name="y"))  # names reach error messages
    with sc.config.change(trace_rewrites=True):
        assert key(logreg) is None  # a hit would skip the trace


def test_settings_change_the_key():
    from codegen.toolchain import get_toolchain
    from symc.compile import warm

    tc = get_toolchain()
    x = sc.vector("x")
    base = warm.index_key([x], [sc.exp(x)], [], True, None, tc).parts
    with sc.config.change(num_threads=3):
        assert warm.index_key([x], [sc.exp(x)], [], True, None, tc).parts != base
    assert warm.index_key([x], [sc.exp(x)], [], False, None, tc).parts != base
    other = {"enabled": True, "exclude": ("fuse",), "include": ()}
    assert warm.index_key([x], [sc.exp(x)], [], True, other, tc).parts != base


def test_unhashable_parameter_means_no_index():
    from symc.compile.warm import Unhashable, _Hasher

    with pytest.raises(Unhashable):
        _Hasher([]).value(object())
    with pytest.raises(Unhashable):
        _Hasher([]).value(np.array([object()]))
    h = _Hasher([])
    assert h.value(0.1) != h.value(0.1 + 2**-55) and h.value(-0.0) != h.value(0.0)
    big = np.arange(10_000.0)
    changed = big.copy()
    changed[5000] = -1  # NumPy's repr would summarize both identically
    assert h.value(big) != h.value(changed)


@pytest.mark.parametrize("damage", ["index", "constant", "kernel"])
def test_damaged_entries_fall_back_and_are_rewritten(tmp_path, damage):
    cold = compile_fresh(tmp_path, with_state)
    expected = float(cold(np.ones(3)))
    entry = index_entries(tmp_path)[0]
    info = json.loads((entry / "index.json").read_text())
    if damage == "index":
        (entry / "index.json").write_text('{"kernel_key": "0"}')
    elif damage == "constant":
        with open(entry / info["constants"][0][1], "r+b") as f:
            f.truncate(20)
    else:
        kernel = tmp_path / info["kernel_key"][:2] / info["kernel_key"]
        # replaced, not overwritten: this process has the old file mapped
        (kernel / "bad.so").write_bytes(b"not a library")
        os.replace(kernel / "bad.so", kernel / "kernel.so")
    again = compile_fresh(tmp_path, with_state)
    assert "index" not in again._loaded.timings  # the full path ran
    assert float(again(np.ones(3))) == expected
    third = compile_fresh(tmp_path, with_state)  # and repaired what it found
    assert third._loaded.timings == {"index": True}
    assert float(third(np.ones(3))) == expected


def test_errors_from_a_warm_function_match_the_cold_ones(tmp_path):
    def build():
        x, y = sc.vector("x"), sc.vector("y")
        return [x, y], (x + y).sum(), {}

    cold = compile_fresh(tmp_path, build)
    with pytest.raises(sc.errors.SymcError) as first:
        cold(np.ones(3), np.ones(4))
    warm = compile_fresh(tmp_path, build)
    assert warm._loaded.timings == {"index": True}
    with pytest.raises(type(first.value)) as second:
        warm(np.ones(3), np.ones(4))
    assert str(second.value).split("\n")[0] == str(first.value).split("\n")[0]


WARM_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {repo!r})
    import numpy as np
    import symc as sc
    X, y, w = sc.matrix("X"), sc.vector("y"), sc.vector("w")
    p = sc.sigmoid(sc.dot(X, w) + 0.5)
    loss = -sc.mean(y * sc.log(p) + (1 - y) * sc.log(1 - p))
    f = sc.function([X, y, w], [loss, *sc.grad(loss, [w])], backend="c")
    out = f(np.ones((4, 2)), np.ones(4), np.ones(2))
    heavy = {{"cffi", "symc.lower", "symc.rewriting", "codegen.c", "scipy_openblas32",
             "importlib.metadata"}}
    print(sorted(heavy & set(sys.modules)), f._loaded.timings, float(out[0]))
    """
)


def test_a_warm_process_imports_no_compiler_or_rewriter(tmp_path):
    script = WARM_SCRIPT.format(repo=str(REPO))
    env = {"SYMC_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    run = [sys.executable, "-c", script]
    first = subprocess.run(run, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(run, env=env, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("[] {'index': True}"), second.stdout
    assert second.stdout.split()[-1] == first.stdout.split()[-1]


def test_parameter_classes_opt_in_with_index_fields():
    from symc.compile.warm import _Hasher

    class Opaque:
        def __init__(self, n):
            self.n = n

    class Described(Opaque):
        def index_fields(self):
            return (self.n,)

    with pytest.raises(Exception, match="Opaque"):
        _Hasher([]).value(Opaque(1))
    h = _Hasher([])
    assert h.value(Described(1)) == h.value(Described(1)) != h.value(Described(2))


def rnn(step=sc.tanh):
    """A loop: its body is part of the structure the index hashes."""

    def build():
        X, W, h0 = sc.matrix("X"), sc.matrix("W"), sc.vector("h0")
        hs, _ = sc.scan(lambda x, h: step(W @ h + x), sequences=X, outputs_info=h0)
        cost = sc.sum(hs[-1])
        return [X, W, h0], [hs, sc.grad(cost, W)], {}

    return build


def test_a_loop_goes_through_the_index(tmp_path):
    rng = np.random.default_rng(3)
    x, w, h = rng.standard_normal((6, 4)), rng.standard_normal((4, 4)) / 2, rng.standard_normal(4)
    cold = compile_fresh(tmp_path, rnn())
    warm = compile_fresh(tmp_path, rnn())
    assert warm._loaded.timings == {"index": True}
    for a, b in zip(cold(x, w, h), warm(x, w, h), strict=True):
        np.testing.assert_array_equal(a, b)
    other = compile_fresh(tmp_path, rnn(sc.sin))  # another body: another entry
    assert "index" not in other._loaded.timings
    np.testing.assert_allclose(other(x, w, h)[0][0], np.sin(w @ h + x[0]), rtol=1e-13)


def test_a_loop_that_stops_early_goes_through_the_index(tmp_path):
    def build():
        x0 = sc.scalar("x0")
        xs, _ = sc.scan(lambda x: (x * 2.0, sc.until(x * 2.0 > 100.0)), outputs_info=x0, n_steps=50)
        return [x0], xs, {}

    cold = compile_fresh(tmp_path, build)
    warm = compile_fresh(tmp_path, build)
    assert warm._loaded.timings == {"index": True}
    want = 1.5 * 2.0 ** np.arange(1, 8)  # 3 ... 192: the step past 100 is the last one
    for f in (cold, warm):
        np.testing.assert_array_equal(f(1.5), want)


def test_a_kernel_that_links_blas_opens_it_lazily_first(tmp_path):
    from codegen import load_c
    from codegen.toolchain import blas_library

    blas = blas_library()
    if blas is None:
        pytest.skip("no scipy-openblas32")

    def gemv():
        X, w = sc.matrix("X"), sc.vector("w")
        return [X, w], [sc.tanh(X @ w)], {}

    def elementwise():
        x = sc.vector("x")
        return [x], [sc.exp(x) * 2.0], {}

    cold = compile_fresh(tmp_path, gemv)
    assert cold._loaded.link_first == (blas,)
    assert load_c._OPENED[blas] is not None
    (entry,) = index_entries(tmp_path)
    assert json.loads((entry / "index.json").read_text())["link_first"] == [blas]
    warm = compile_fresh(tmp_path, gemv)
    assert warm._loaded.timings == {"index": True} and warm._loaded.link_first == (blas,)
    X, w = np.arange(6.0).reshape(3, 2) / 10, np.array([0.5, -1.0])
    np.testing.assert_allclose(warm(X, w)[0], np.tanh(X @ w))
    assert compile_fresh(tmp_path, elementwise)._loaded.link_first == ()


def test_a_library_that_will_not_open_is_left_to_the_kernels_own_load():
    from codegen import load_c

    missing = "/nonexistent/libsymc-missing.so"
    load_c._open_lazily(missing)
    assert load_c._OPENED.pop(missing) is None
