"""Evaluating a graph exactly as built, whatever rewrites ``function()`` applies."""

from __future__ import annotations

import numpy as np

from symc.compile.reference import Plan


class AsWritten:
    """The reference plan of ``outs`` (a node or a list): no optimizer runs on it."""

    def __init__(self, ins, outs):
        self.single = not isinstance(outs, (list, tuple))
        self.plan = Plan(list(ins), [outs] if self.single else list(outs))
        self.ins = list(ins)

    def __call__(self, *vals):
        vals = [np.asarray(v, i.type.dtype) for v, i in zip(vals, self.ins, strict=True)]
        got = self.plan.run(vals)
        return got[0] if self.single else got
