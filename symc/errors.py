"""The ``SymcError`` hierarchy: every user mistake raises one of these.

Each class also derives from the matching builtin so that code written against
NumPy's exceptions (``except ValueError``) keeps working.
"""

from __future__ import annotations


class SymcError(Exception):
    """Base class of every error symc raises for a user mistake."""


class SymcTypeError(SymcError, TypeError):
    """A dtype or kind mismatch (e.g. a float passed where an int is required)."""


class SymcShapeError(SymcError, ValueError):
    """Shapes that cannot be combined (broadcasting, matmul, reshape, ...)."""


class SymcValueError(SymcError, ValueError):
    """A bad parameter value (an axis out of range, an unknown option, ...)."""


class SymcIndexError(SymcError, IndexError):
    """An index out of bounds, found at build time or when evaluating."""


class SymcInputError(SymcError, TypeError):
    """A compiled function called with the wrong arguments, or built with bad inputs."""


class SymcGradError(SymcError, ValueError):
    """``grad``/``jacobian``/``hessian`` asked for something they cannot give."""


class SymcDisconnectedError(SymcGradError):
    """A variable asked for in ``grad`` or ``function`` does not appear in the graph."""


class SymcVerifyGradError(SymcError, AssertionError):
    """``verify_grad`` found an analytic gradient that disagrees with finite differences."""


class SymcCompileError(SymcError, RuntimeError):
    """The native toolchain failed, or a backend is not available."""


class SymcBackendUnavailableError(SymcCompileError, NotImplementedError):
    """The requested backend does not exist (yet) on this installation."""


class SymcRewriteError(SymcError, RuntimeError):
    """A rewrite set did not reach a fixpoint (rules that undo each other)."""
