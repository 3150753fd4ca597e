"""Where the user built a node: the first stack frame outside symc itself."""

from __future__ import annotations

import linecache
import os
import sys

_SYMC_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

Location = tuple  # (filename, lineno)


def user_location(depth: int = 1) -> Location | None:
    """``(file, line)`` of the innermost caller frame that is not symc's own code."""
    frame = sys._getframe(depth)
    while frame is not None and frame.f_code.co_filename.startswith(_SYMC_DIR):
        frame = frame.f_back
    if frame is None:
        return None
    return (frame.f_code.co_filename, frame.f_lineno)


def format_location(loc: Location | None) -> str:
    """``  built at train.py:42   h = X @ W1`` (empty when unknown)."""
    if loc is None:
        return ""
    filename, lineno = loc
    code = linecache.getline(filename, lineno).strip()
    short = os.path.relpath(filename) if not filename.startswith("<") else filename
    if short.startswith(".." + os.sep + ".."):
        short = filename
    text = f"{short}:{lineno}"
    return f"{text}   {code}" if code else text


def with_location(err: Exception, loc: Location | None, verb: str = "built at") -> Exception:
    """A copy of ``err`` (same class) whose message ends with where the user was."""
    where = format_location(loc)
    if not where:
        return err
    msg = f"{err.args[0] if err.args else ''}\n  {verb} {where}"
    try:
        new = type(err)(msg)
    except Exception:  # an exception class with an unusual constructor
        return err
    new.location = loc  # type: ignore[attr-defined]
    return new
