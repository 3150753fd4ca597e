"""Exceptions raised by codegen; symc wraps them in its own error hierarchy."""

from __future__ import annotations


class CodegenError(Exception):
    """Base class of every error raised by the codegen package."""


class IRError(CodegenError, ValueError):
    """A kernel IR program is malformed (dtype mismatch, unknown function, bad reference)."""


class CompileError(CodegenError):
    """The C compiler is missing or rejected the generated source.

    Attributes:
        output: the compiler's combined stdout/stderr ("" when it could not be run).
        excerpt: the generated source lines around the first reported error line.
        command: the command line that was run.
    """

    def __init__(self, message: str, output: str = "", excerpt: str = "", command=()):
        self.output = output
        self.excerpt = excerpt
        self.command = tuple(command)
        full = message
        if output:
            full += "\n--- compiler output ---\n" + output.rstrip()
        if excerpt:
            full += "\n--- generated source ---\n" + excerpt.rstrip()
        super().__init__(full)


class KernelError(CodegenError, RuntimeError):
    """A compiled program returned a nonzero status (see :mod:`codegen.abi`).

    Attributes:
        code: the status the entry function returned.
    """

    def __init__(self, code: int, message: str = ""):
        self.code = code
        super().__init__(message or f"compiled program failed with status {code}")
