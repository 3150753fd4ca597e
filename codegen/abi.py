"""The plain C ABI of a generated translation unit (shared by the JIT and export).

Every program renders to one C99 file that exports, for a prefix ``P``
(default ``symc``)::

    int32_t P_abi_version(void);                       /* == ABI_VERSION */
    int32_t P_shapes(void *const *data, const int64_t *in_shapes,
                     int64_t *out_shapes);
    int32_t P_run(void *const *data, int64_t *shapes,
                  const int64_t *strides, int32_t nthreads);

``P_shapes`` computes every output's shape from the inputs' shapes (the
inputs' ``ndim`` values concatenated in input order) and, for extents that
depend on data (:class:`codegen.ir.Value`), the input pointers ``data``
(inputs only, as in ``P_run``), and writes them,
concatenated in output order, to ``out_shapes``. It returns a status.

``P_run`` evaluates the program. ``data`` holds one pointer per input, then
one per output (pointers to the first element of each array: offsets are
already applied). ``shapes`` and ``strides`` hold, for inputs then outputs,
each array's ``ndim`` extents and strides; strides count **elements**, not
bytes, and may be zero or negative. Outputs must have the shapes that
``P_shapes`` returns (``P_run`` checks and returns ``ERR_SHAPE`` otherwise)
and must not overlap the inputs. ``nthreads <= 0`` lets OpenMP decide.
An output's axis 0 may be only an upper bound (the rows of a loop that stops
early, :attr:`codegen.ir.Program.rows`): on success ``P_run`` overwrites that
output's first extent in ``shapes`` with the rows it filled (at most the
bound), and the caller keeps only those rows. Every other entry of
``shapes`` is left as it was, so a caller compares each output's first
extent with the one it allocated.
Temporaries are allocated and freed inside ``P_run``. Both functions are
thread-safe and do not touch global state.

Statuses: 0 success; the positive codes below; a :class:`codegen.ir.Guard`'s
``code`` when it fails (by convention ``ERR_GUARD_BASE + j``); ``ERR_CHECK_BASE + i`` when
``Program.checks[i]`` failed.
"""

from __future__ import annotations

ABI_VERSION = 3

OK = 0
ERR_NOMEM = 1
ERR_BROADCAST = 2
ERR_SHAPE = 3
ERR_EMPTY_REDUCTION = 4
ERR_BLAS_SIZE = 5
ERR_CHECK_BASE = 100
ERR_GUARD_BASE = 1 << 20

MESSAGES = {
    ERR_NOMEM: "out of memory while allocating a temporary array",
    ERR_BROADCAST: "input shapes cannot be broadcast together",
    ERR_SHAPE: "an output array has the wrong shape",
    ERR_EMPTY_REDUCTION: "zero-size array to a reduction operation that has no identity",
    ERR_BLAS_SIZE: "matrix dimension too large for 32-bit BLAS",
}


def message(code: int, checks: tuple = ()) -> str:
    """Return a sentence describing status ``code`` (``checks`` are the program's messages)."""
    if code >= ERR_CHECK_BASE and code - ERR_CHECK_BASE < len(checks):
        return str(checks[code - ERR_CHECK_BASE])
    return MESSAGES.get(code, f"compiled program failed with status {code}")
