"""Instantiate helper sections of ``codegen/runtime/*.h`` for the dtypes a program uses.

A section starts at a line ``//@@ NAME [DEP ...]`` and runs to the next one.
Its text may use ``$T`` (C type), ``$S`` (dtype tag), ``$F`` (libm suffix),
``$U`` (an unsigned type at least as wide) and ``$B`` (BLAS letter). A
section without placeholders is emitted once whatever the dtype.
"""

from __future__ import annotations

import functools
from pathlib import Path

RUNTIME_DIR = Path(__file__).parent / "runtime"
FILES = ("symc_math.h", "symc_rt.h")

TAGS = {
    "float64": "f64",
    "float32": "f32",
    "int64": "i64",
    "int32": "i32",
    "int16": "i16",
    "int8": "i8",
    "uint64": "u64",
    "uint32": "u32",
    "uint16": "u16",
    "uint8": "u8",
    "bool": "b",
}

_UNSIGNED = {"int64": "uint64_t", "uint64": "uint64_t"}


@functools.cache
def sections() -> dict:
    """Map section name -> (dependencies, text), read once from the runtime headers."""
    out: dict = {}
    for fname in FILES:
        name = None
        for line in (RUNTIME_DIR / fname).read_text().splitlines(keepends=True):
            if line.startswith("//@@ "):
                name, *deps = line[5:].split()
                out[name] = (tuple(deps), [])
            elif name is not None:
                out[name][1].append(line)
    return {k: (deps, "".join(lines).strip() + "\n") for k, (deps, lines) in out.items()}


def helper_name(section: str, dtype: str) -> str:
    """The C name of ``section`` instantiated for ``dtype`` (e.g. ``symc_sigmoid_f32``)."""
    return f"symc_{section}_{TAGS[dtype]}"


def instantiate(section: str, dtype: str | None) -> str:
    """The text of ``section`` with placeholders filled in for ``dtype``."""
    from codegen.ir import DTYPES

    _, text = sections()[section]
    if "$" not in text:
        return text
    ctype = DTYPES[dtype][0]
    subs = {
        "$T": ctype,
        "$S": TAGS[dtype],
        "$F": "f" if dtype == "float32" else "",
        "$U": _UNSIGNED.get(dtype, "uint32_t"),
        "$B": "s" if dtype == "float32" else "d",
    }
    for key, value in subs.items():
        text = text.replace(key, value)
    return text


def render(requests: list) -> str:
    """Emit every requested ``(section, dtype)`` once, each after its dependencies."""
    done: set = set()
    parts: list = []

    def visit(section: str, dtype: str | None) -> None:
        deps, text = sections()[section]
        key = (section, dtype if "$" in text else None)
        if key in done:
            return
        done.add(key)
        for dep in deps:
            visit(dep, dtype)
        parts.append(instantiate(section, dtype))

    for section, dtype in requests:
        visit(section, dtype)
    return "\n".join(parts)
