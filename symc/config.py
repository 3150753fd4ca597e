"""``symc.config``: the few process-wide settings, read from ``SYMC_FLAGS``.

``SYMC_FLAGS="floatX=float32,trace_rewrites=1"`` sets options at import;
``config.change(floatX="float32")`` sets them for a ``with`` block. Nothing
here touches the disk: the cache directory is only computed when asked for.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, fields

from .errors import SymcValueError

_FLOAT_DTYPES = ("float32", "float64")
_BACKENDS = ("python", "c", "cuda")


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise SymcValueError(f"SYMC_FLAGS: cannot read {text!r} as a boolean (use 1/0, true/false).")


@dataclass
class Config:
    """Process-wide settings. Attributes can be set directly or with :meth:`change`."""

    floatX: str = "float64"
    #: backend used by ``function`` when none is given ("python" when no C compiler is found)
    backend: str = "c"
    #: print every rewrite that fires (the rewrite issue uses it)
    trace_rewrites: bool = False
    #: rewrite names or tags excluded everywhere, comma separated in SYMC_FLAGS (``a:b``)
    exclude_rewrites: tuple[str, ...] = ()
    #: threads for parallel native loops (0: let the runtime decide)
    num_threads: int = 1
    #: on-disk cache size limit, bytes
    cache_max_bytes: int = 1 << 30
    _cache_dir: str | None = field(default=None, repr=False)

    def __setattr__(self, name: str, value: object) -> None:
        if name not in _KNOWN:
            # a typo such as ``config.floatx = ...`` would otherwise be silently ignored
            raise SymcValueError(
                f"config: unknown option {name!r}; known: {', '.join(sorted(_PUBLIC))}."
            )
        if name == "floatX" and value not in _FLOAT_DTYPES:
            raise SymcValueError(f"config.floatX must be one of {_FLOAT_DTYPES}, got {value!r}.")
        if name == "backend" and value not in _BACKENDS:
            raise SymcValueError(f"config.backend must be one of {_BACKENDS}, got {value!r}.")
        object.__setattr__(self, name, value)

    @property
    def cache_dir(self) -> str:
        """Where compiled code is cached: ``SYMC_CACHE_DIR`` or the platform user cache dir."""
        if self._cache_dir is not None:
            return self._cache_dir
        env = os.environ.get("SYMC_CACHE_DIR")
        if env:
            return env
        import platformdirs  # deferred: only needed when something is compiled

        return platformdirs.user_cache_dir("symc")

    @cache_dir.setter
    def cache_dir(self, value: str | None) -> None:
        object.__setattr__(self, "_cache_dir", value)

    def set_from_flags(self, flags: str) -> None:
        """Apply ``key=value,key=value`` settings (the ``SYMC_FLAGS`` syntax)."""
        known = {f.name: f for f in fields(self) if not f.name.startswith("_")}
        for item in filter(None, (p.strip() for p in flags.split(","))):
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep:
                raise SymcValueError(f"SYMC_FLAGS: {item!r} is not of the form key=value.")
            if key == "cache_dir":
                self.cache_dir = value
                continue
            if key not in known:
                raise SymcValueError(
                    f"SYMC_FLAGS: unknown option {key!r}; known: {', '.join(sorted(known))}."
                )
            setattr(self, key, _convert(key, known[key].type, value))

    @contextlib.contextmanager
    def change(self, **options: object) -> Iterator[Config]:
        """Temporarily set options: ``with config.change(floatX="float32"): ...``."""
        for k in options:
            if k not in _PUBLIC:
                raise SymcValueError(
                    f"config.change: unknown option {k!r}; known: {', '.join(sorted(_PUBLIC))}."
                )
        # the raw field, so that an unset cache_dir goes back to following SYMC_CACHE_DIR
        old = {("_cache_dir" if k == "cache_dir" else k): None for k in options}
        old = {k: getattr(self, k) for k in old}
        try:
            for k, v in options.items():
                setattr(self, k, v)
            yield self
        finally:
            for k, v in old.items():
                object.__setattr__(self, k, v)


def _convert(key: str, annotation: object, value: str) -> object:
    ann = str(annotation)
    if ann.startswith("bool"):
        return _parse_bool(value)
    if ann.startswith("int"):
        try:
            return int(value)
        except ValueError:
            raise SymcValueError(f"SYMC_FLAGS: {key} needs an integer, got {value!r}.") from None
    if ann.startswith("tuple"):
        return tuple(filter(None, (v.strip() for v in value.split(":"))))
    return value.strip()


_KNOWN = frozenset(f.name for f in fields(Config)) | {"cache_dir"}
_PUBLIC = frozenset(k for k in _KNOWN if not k.startswith("_"))

config = Config()
if os.environ.get("SYMC_FLAGS"):
    config.set_from_flags(os.environ["SYMC_FLAGS"])
