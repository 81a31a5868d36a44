"""The native module `canhgac._native` (native/, Rust, built by scripts/build-native), as
the correlator's modules load it: None on a machine where it was not built, and each
part then runs its Python reference."""

import importlib
from typing import Any

try:
    _native: Any = importlib.import_module("canhgac._native")
except ImportError:
    _native = None


def native_module() -> Any:
    """The native module, or None when it was not built."""
    return _native
