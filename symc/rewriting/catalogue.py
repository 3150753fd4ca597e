"""The rewrite catalogue as Markdown, with accuracy measured against mpmath.

``python -m symc.rewriting.catalogue`` prints the tables pasted into
``docs/rewrites.md``: every rule's pattern, replacement and reason, and for
stability rules the worst error at their witnesses before and after the
rewrite, in float64 ulp (mpmath at 50 digits is the reference).
"""

from __future__ import annotations

import math

import numpy as np

from .pipeline import all_rules, optimize
from .registry import Rule


def _ulps(got: np.ndarray, exact: list, dtype: str) -> float:
    import mpmath

    worst = 0.0
    for g, e in zip(np.atleast_1d(got), exact, strict=True):
        ef = np.asarray(float(e), dtype=dtype)
        if not np.isfinite(ef):
            worst = max(worst, 0.0 if g == ef else math.inf)
            continue
        if not np.isfinite(g):
            return math.inf
        err = abs(mpmath.mpf(float(g)) - e) / mpmath.mpf(float(np.spacing(np.abs(ef))))
        worst = max(worst, float(err))
    return worst


def measure(rule: Rule, dtype: str = "float64") -> tuple[float, float]:
    """Worst error (ulp of ``dtype``) over the witnesses: (naive graph, rewritten graph)."""
    import mpmath

    import symc as sc

    mpmath.mp.dps = 50
    vector = rule.arg_kinds == ("vector",)
    ins = (
        [sc.vector("v", dtype=dtype)]
        if vector
        else [sc.scalar(f"a{k}", dtype=dtype) for k in range(len(rule.domain))]
    )
    naive = rule.naive(*ins)
    (fixed,) = optimize([naive])
    f_naive = sc.function(ins, naive, backend="python")
    f_fixed = sc.function(ins, fixed, backend="python")
    ws = rule.witnesses32 if dtype == "float32" and rule.witnesses32 else rule.witnesses
    before = after = 0.0
    for w in ws:
        args = w if isinstance(w, tuple) else (w,)
        vals = [np.asarray(a, dtype) for a in args]
        if any(
            np.any(~np.isfinite(v)) or np.any((v == 0) & (np.asarray(a) != 0))
            for v, a in zip(vals, args, strict=True)
        ):
            continue
        mp_args = [
            [mpmath.mpf(float(t)) for t in v] if vector else mpmath.mpf(float(v)) for v in vals
        ]
        exact = rule.exact(mpmath, *mp_args)
        exact = exact if isinstance(exact, list) else [exact]
        with np.errstate(all="ignore"):
            before = max(before, _ulps(f_naive(*vals), exact, dtype))
            after = max(after, _ulps(f_fixed(*vals), exact, dtype))
    return before, after


def _fmt_ulp(u: float) -> str:
    if math.isinf(u):
        return "inf/NaN"
    if u >= 1e6:
        return f"{u:.1e}"
    return f"{u:.2g}"


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def markdown() -> str:
    """Both catalogue tables (exact rules; stability rules with measured errors)."""
    lines = [
        "| rule | tags | pattern | replacement | why |",
        "|---|---|---|---|---|",
    ]
    stability = []
    for r in all_rules():
        if r.naive is not None:
            stability.append(r)
            continue
        tags = ", ".join(sorted(r.tags))
        lines.append(
            f"| `{r.name}` | {tags} | `{_cell(r.pattern)}` | `{_cell(r.replacement)}` | "
            f"{_cell(r.why)} |"
        )
    lines += [
        "",
        "| rule | pattern | replacement | why | witnesses | f64 ulp before | f64 ulp after "
        "| f32 ulp after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in stability:
        b64, a64 = measure(r, "float64")
        _, a32 = measure(r, "float32")
        ws = ", ".join(str(w) for w in r.witnesses)
        lines.append(
            f"| `{r.name}` | `{_cell(r.pattern)}` | `{_cell(r.replacement)}` | {_cell(r.why)} | "
            f"{_cell(ws)} | {_fmt_ulp(b64)} | {_fmt_ulp(a64)} | {_fmt_ulp(a32)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
