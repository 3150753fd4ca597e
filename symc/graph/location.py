"""Where the user built a node: the first stack frame outside symc itself."""

from __future__ import annotations

import linecache
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: frames from these directories are symc's own (the code generator included)
_INTERNAL = tuple(os.path.join(_ROOT, d) + os.sep for d in ("symc", "codegen"))

Location = tuple  # (filename, lineno)

# code object -> "is symc's own"; decided once per code object, since this runs
# for every node built and a prefix test on every frame adds up
_internal_code: dict = {}


def user_location(depth: int = 1) -> Location | None:
    """``(file, line)`` of the innermost caller frame that is not symc's own code.

    ``depth`` says where to start looking (1: the caller of this function);
    symc's frames are skipped from there, so it only needs to be roughly right.
    """
    frame = sys._getframe(depth)
    known = _internal_code.get
    while frame is not None:
        code = frame.f_code
        internal = known(code)
        if internal is None:
            internal = _internal_code[code] = code.co_filename.startswith(_INTERNAL)
        if not internal:
            return (code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return None


def format_location(loc: Location | None) -> str:
    """``train.py:42   h = X @ W1`` (empty when unknown)."""
    if loc is None:
        return ""
    filename, lineno = loc
    code = linecache.getline(filename, lineno).strip()
    short = filename
    if not filename.startswith("<"):
        try:
            rel = os.path.relpath(filename)
        except ValueError:  # another drive on Windows
            rel = filename
        if not rel.startswith(".." + os.sep + ".."):
            short = rel
    text = f"{short}:{lineno}"
    return f"{text}   {code}" if code else text


def with_location(err: Exception, loc: Location | None, verb: str = "built at") -> Exception:
    """A copy of ``err`` (same class) whose message ends with where the user was.

    The copy carries ``location`` (the ``(file, line)`` pair) for tools.
    """
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
