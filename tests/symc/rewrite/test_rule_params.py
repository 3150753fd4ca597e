"""A rule's ``rewrite``/``when`` get the bindings their parameters name, read without inspect."""

from __future__ import annotations

import functools
import inspect

import pytest

from symc.rewriting.registry import _wanted


def _by_inspect(f):
    params = inspect.signature(f).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params)


def _positional(x, y, *rest, z, w=1):
    scratch = x  # a local variable is not a parameter
    return scratch


def _posonly(x, /, node):
    return x


def _kwargs(x, **rest):
    return x


def _kwonly(*, x, node):
    return x


@functools.wraps(_posonly)
def _wrapped(*args, **kwargs):
    return _posonly(*args, **kwargs)


@pytest.mark.parametrize(
    "fn",
    [
        _positional,
        _posonly,
        _kwargs,
        _kwonly,
        _wrapped,
        lambda: None,
        lambda x, node: x,
        lambda *xs: xs,
        functools.partial(_positional, 1),
    ],
)
def test_parameter_names_match_inspect(fn):
    assert _wanted(fn) == _by_inspect(fn)


def test_every_symc_rule_builds():
    from symc.rewriting import all_rules

    assert len({r.name for r in all_rules()}) > 20
