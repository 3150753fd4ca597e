"""The table of scalar functions the kernel IR knows, and how each is spelled in C.

A row says a function's arity, its result dtype rule and, per dtype kind
(``f`` float, ``i`` signed int, ``u`` unsigned int, ``b`` bool), one
spelling. Spellings are tuples:

* ``("infix", token, precedence)`` and ``("prefix", token, precedence)``:
  C operators, with C's precedence numbers (lower binds tighter);
* ``("libm", name)``: a ``<math.h>`` function, ``f``-suffixed for float32;
* ``("generic", name)``: a type-generic ``<math.h>`` macro (``isnan``);
* ``("helper", template)``: a ``static inline`` function instantiated per
  dtype from ``codegen/runtime/symc_math.h`` (only when used);
* ``("identity",)``: the argument itself; ``("const", value)``: a literal.

Adding a function is adding a row (and, if C lacks it, a helper template).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = {
    "float64": "f",
    "float32": "f",
    "int64": "i",
    "int32": "i",
    "int16": "i",
    "int8": "i",
    "uint64": "u",
    "uint32": "u",
    "uint16": "u",
    "uint8": "u",
    "bool": "b",
}


@dataclass(frozen=True)
class Fn:
    """One row: arity, result rule ("same" or "bool") and spelling per dtype kind."""

    arity: int
    result: str
    spell: dict


def _f(spelling, result="same", arity=1):
    return Fn(arity, result, {"f": spelling})


def _all(spelling, result="same", arity=2, kinds="fiub"):
    return Fn(arity, result, {k: spelling for k in kinds})


_LIBM1 = {
    "exp": "exp",
    "log": "log",
    "log1p": "log1p",
    "expm1": "expm1",
    "log2": "log2",
    "log10": "log10",
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "erf": "erf",
    "erfc": "erfc",
    "cbrt": "cbrt",
    "exp2": "exp2",
}

FUNCTIONS: dict[str, Fn] = {name: _f(("libm", c)) for name, c in _LIBM1.items()}
FUNCTIONS.update(
    {
        "arctan2": _f(("libm", "atan2"), arity=2),
        "hypot": _f(("libm", "hypot"), arity=2),
        "truediv": _f(("infix", "/", 3), arity=2),
        "sigmoid": _f(("helper", "sigmoid")),
        "softplus": _f(("helper", "softplus")),
        "log1mexp": _f(("helper", "log1mexp")),
        "logaddexp": _f(("helper", "logaddexp"), arity=2),
        "log_erfc": _f(("helper", "log_erfc")),
        "add": _all(("infix", "+", 4), kinds="fiu"),
        "sub": _all(("infix", "-", 4), kinds="fiu"),
        "mul": _all(("infix", "*", 3), kinds="fiu"),
        "neg": _all(("prefix", "-", 2), arity=1, kinds="fiu"),
        "square": _all(("helper", "square"), arity=1, kinds="fiu"),
        "floordiv": Fn(
            2,
            "same",
            {
                "f": ("helper", "floordiv"),
                "i": ("helper", "ifloordiv"),
                "u": ("helper", "ufloordiv"),
            },
        ),
        "mod": Fn(
            2, "same", {"f": ("helper", "mod"), "i": ("helper", "imod"), "u": ("helper", "umod")}
        ),
        "pow": Fn(
            2, "same", {"f": ("libm", "pow"), "i": ("helper", "ipow"), "u": ("helper", "ipow")}
        ),
        "maximum": Fn(
            2,
            "same",
            {
                "f": ("helper", "maximum"),
                "i": ("helper", "imaximum"),
                "u": ("helper", "imaximum"),
                "b": ("helper", "imaximum"),
            },
        ),
        "minimum": Fn(
            2,
            "same",
            {
                "f": ("helper", "minimum"),
                "i": ("helper", "iminimum"),
                "u": ("helper", "iminimum"),
                "b": ("helper", "iminimum"),
            },
        ),
        "abs": Fn(
            1,
            "same",
            {
                "f": ("libm", "fabs"),
                "i": ("helper", "iabs"),
                "u": ("identity",),
                "b": ("identity",),
            },
        ),
        "sign": Fn(
            1, "same", {"f": ("helper", "sign"), "i": ("helper", "isign"), "u": ("helper", "usign")}
        ),
        "floor": Fn(1, "same", {"f": ("libm", "floor"), "i": ("identity",), "u": ("identity",)}),
        "ceil": Fn(1, "same", {"f": ("libm", "ceil"), "i": ("identity",), "u": ("identity",)}),
        "trunc": Fn(1, "same", {"f": ("libm", "trunc"), "i": ("identity",), "u": ("identity",)}),
        # np.round rounds half to even: nearbyint does so under the default rounding mode.
        "round": Fn(
            1, "same", {"f": ("libm", "nearbyint"), "i": ("identity",), "u": ("identity",)}
        ),
        "isnan": Fn(
            1,
            "bool",
            {"f": ("generic", "isnan"), "i": ("const", 0), "u": ("const", 0), "b": ("const", 0)},
        ),
        "isinf": Fn(
            1,
            "bool",
            {"f": ("generic", "isinf"), "i": ("const", 0), "u": ("const", 0), "b": ("const", 0)},
        ),
        "isfinite": Fn(
            1,
            "bool",
            {"f": ("generic", "isfinite"), "i": ("const", 1), "u": ("const", 1), "b": ("const", 1)},
        ),
        "eq": _all(("infix", "==", 7), "bool"),
        "ne": _all(("infix", "!=", 7), "bool"),
        "lt": _all(("infix", "<", 6), "bool"),
        "le": _all(("infix", "<=", 6), "bool"),
        "gt": _all(("infix", ">", 6), "bool"),
        "ge": _all(("infix", ">=", 6), "bool"),
        "logical_and": _all(("infix", "&&", 11), "bool", kinds="b"),
        "logical_or": _all(("infix", "||", 12), "bool", kinds="b"),
        "logical_xor": _all(("infix", "!=", 7), "bool", kinds="b"),
        "logical_not": _all(("prefix", "!", 2), "bool", arity=1, kinds="b"),
        "bitwise_and": _all(("infix", "&", 8), kinds="iub"),
        "bitwise_or": _all(("infix", "|", 10), kinds="iub"),
        "bitwise_xor": _all(("infix", "^", 9), kinds="iub"),
        "invert": Fn(
            1, "same", {"i": ("prefix", "~", 2), "u": ("prefix", "~", 2), "b": ("prefix", "!", 2)}
        ),
    }
)


def lookup(fn: str, dtype: str) -> tuple:
    """Return the spelling of ``fn`` for arguments of ``dtype``; raise IRError if none."""
    from codegen.errors import IRError

    row = FUNCTIONS.get(fn)
    if row is None:
        raise IRError(f"unknown scalar function {fn!r}.")
    kind = KINDS.get(dtype)
    if kind is None:
        raise IRError(f"unknown dtype {dtype!r} in a call to {fn!r}.")
    spelling = row.spell.get(kind)
    if spelling is None:
        raise IRError(
            f"scalar function {fn!r} is not defined for {dtype} arguments; insert a Cast."
        )
    return spelling


def result_dtype(fn: str, arg_dtypes: list) -> str:
    """The dtype of ``fn`` applied to arguments of ``arg_dtypes`` (which must all agree)."""
    from codegen.errors import IRError

    row = FUNCTIONS.get(fn)
    if row is None:
        raise IRError(f"unknown scalar function {fn!r}.")
    if len(arg_dtypes) != row.arity:
        raise IRError(f"{fn} takes {row.arity} arguments, got {len(arg_dtypes)}.")
    if len(set(arg_dtypes)) != 1:
        raise IRError(f"{fn} got arguments of different dtypes {arg_dtypes}; insert a Cast.")
    lookup(fn, arg_dtypes[0])
    return "bool" if row.result == "bool" else arg_dtypes[0]
