"""Import Keras lazily, with an error that names the extras to install when no backend is usable."""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["import_keras", "backend_name"]

_EXTRAS = "pip install 'emotionkit[tensorflow]' (or 'emotionkit[torch]', 'emotionkit[jax]')"


def backend_name() -> str:
    """Return the Keras backend that will be (or was) selected, without importing Keras.

    Returns:
        ``$KERAS_BACKEND`` if set, else ``"tensorflow"`` (Keras's default when
        no ``keras.json`` says otherwise).

    Examples:
        >>> backend_name() in {"tensorflow", "jax", "torch", "numpy", "openvino"}
        True
    """
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def import_keras() -> ModuleType:
    """Import and return ``keras``; raise a helpful ImportError when it or its backend is missing.

    Returns:
        The ``keras`` module.

    Raises:
        ImportError: If Keras or the selected backend package is not installed;
            the message names the extras that install one.

    Examples:
        >>> import_keras().__name__  # doctest: +SKIP
        'keras'
    """
    try:
        import keras
    except ImportError as exc:
        raise ImportError(
            f"emotionkit needs Keras 3 with a backend (KERAS_BACKEND={backend_name()!r}) but the import "
            f"failed: {exc}. Install one with: {_EXTRAS}"
        ) from exc
    return keras
