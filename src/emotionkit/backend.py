"""Import Keras lazily, with an error that names the extras to install when no backend is usable."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

__all__ = ["KERAS_EXTRAS", "import_keras", "backend_name"]

KERAS_EXTRAS = "pip install 'emotionkit[tensorflow]' (or 'emotionkit[torch]', 'emotionkit[jax]')"
"""How to install a Keras backend, as error messages say it."""


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


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null (C++ libraries write there directly, past ``sys.stderr``)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (e.g. some embedded interpreters): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras(quiet: bool = False) -> ModuleType:
    """Import and return ``keras``; raise a helpful ImportError when it or its backend is missing.

    Args:
        quiet: Hide what the backend's native libraries print while they load (TensorFlow's
            oneDNN and CUDA lines); used by the command lines unless ``--verbose``.

    Returns:
        The ``keras`` module.

    Raises:
        ImportError: If Keras or the selected backend package is not installed;
            the message names the extras that install one.

    Examples:
        >>> import_keras().__name__  # doctest: +SKIP
        'keras'
    """
    if quiet:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        if quiet and "keras" not in sys.modules:
            with _native_stderr_silenced():
                import keras
        else:
            import keras
    except ImportError as exc:
        raise ImportError(
            f"emotionkit needs Keras 3 with a backend (KERAS_BACKEND={backend_name()!r}) but the import "
            f"failed: {exc}. Install one with: {KERAS_EXTRAS}"
        ) from exc
    return keras
