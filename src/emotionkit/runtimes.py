"""Which runtime runs the classifier: Keras, onnxruntime or LiteRT, chosen and loaded in one place.

A model folder can hold the same classifier in several formats, each listed with
its sha256 in ``config.json`` (``files``):

- ``"keras"``: ``model.weights.h5``, run by [`KerasRuntime`][emotionkit.runtime.KerasRuntime];
  needs a Keras backend (``emotionkit[tensorflow]``, ``[torch]`` or ``[jax]``).
- ``"onnx"``: ``model.onnx``, run by [`OnnxRuntime`][emotionkit.onnx_runtime.OnnxRuntime];
  needs ``emotionkit[onnx]`` (onnxruntime, no Keras).
- ``"litert"``: ``model.tflite``, run by [`LiteRTRuntime`][emotionkit.litert_runtime.LiteRTRuntime];
  needs ``emotionkit[litert]`` (ai-edge-litert, no Keras).

``runtime="auto"`` (the default everywhere) takes the first of ``keras``, ``onnx``,
``litert`` that the folder has **and** that is installed: a machine with a Keras
backend keeps today's behaviour, a machine with only onnxruntime runs the ONNX file
without importing Keras. Naming a runtime forces it, and the error says what to
install or how to export the missing file. Only this module and the runtime
modules themselves import the runtime packages.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from emotionkit.backend import KERAS_EXTRAS, backend_name
from emotionkit.config import ModelConfig
from emotionkit.errors import ModelNotFoundError

__all__ = [
    "MAX_BATCH",
    "MODEL_FILES",
    "RUNTIME_NAMES",
    "ClassifierRuntime",
    "RuntimeName",
    "check_batch",
    "copy_model_file",
    "in_chunks",
    "choose_runtime",
    "installed_runtimes",
    "load_runtime",
    "model_formats",
    "open_exported",
]

MAX_BATCH = 256
"""Largest batch a runtime sends to the network at once; larger inputs are split.

Chosen by measurement on a 2-core CPU: chunks of 1,024 ran a 48 px student about 10% faster than 256, but one call
on 2,048 faces with the default model raised the process's peak memory by 2.6 GB instead of 0.8 GB."""
RuntimeName = Literal["auto", "keras", "onnx", "litert"]
RUNTIME_NAMES: tuple[str, ...] = ("auto", "keras", "onnx", "litert")
"""Accepted values of every ``runtime=`` argument."""
MODEL_FILES: dict[str, str] = {"keras": "model.weights.h5", "onnx": "model.onnx", "litert": "model.tflite"}
"""Model file name of each format inside a model folder."""
_PREFERENCE = ("keras", "onnx", "litert")
_INSTALL = {
    "keras": KERAS_EXTRAS,
    "onnx": "pip install 'emotionkit[onnx]'",
    "litert": "pip install 'emotionkit[litert]'",
}


@runtime_checkable
class ClassifierRuntime(Protocol):
    """What the recognizer needs from whatever runs the classifier network.

    Implementations: [`KerasRuntime`][emotionkit.runtime.KerasRuntime],
    [`OnnxRuntime`][emotionkit.onnx_runtime.OnnxRuntime],
    [`LiteRTRuntime`][emotionkit.litert_runtime.LiteRTRuntime]. All are safe to share between threads.
    """

    format: str
    """The model format it runs (a key of [`MODEL_FILES`][emotionkit.runtimes.MODEL_FILES])."""
    input_size: int
    """Side in pixels of the faces it reads."""

    @property
    def num_classes(self) -> int:
        """Length of the probability vectors."""
        ...

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Return ``float32`` ``(N, classes)`` probabilities of a ``float32`` ``(N, S, S, 1)`` batch in ``[0, 1]``."""
        ...

    def save(self, folder: Path) -> str:
        """Write the model file into ``folder`` and return its name (the folder's ``config.json`` is not touched)."""
        ...


def check_batch(batch: object, input_size: int) -> None:
    """Check that ``batch`` is a ``(N, S, S, 1)`` numpy array, the input every runtime takes.

    Args:
        batch: What was passed to a runtime.
        input_size: The runtime's ``S``.

    Raises:
        ValueError: Saying what was received and what is accepted.

    Examples:
        >>> check_batch(np.zeros((2, 48, 48, 1), np.float32), 48)
        >>> check_batch(np.zeros((48, 48)), 48)
        Traceback (most recent call last):
        ...
        ValueError: expected a batch of shape (N, 48, 48, 1), got (48, 48)
    """
    expected = (input_size, input_size, 1)
    if not isinstance(batch, np.ndarray) or batch.ndim != 4 or batch.shape[1:] != expected:
        got = batch.shape if isinstance(batch, np.ndarray) else type(batch).__name__
        raise ValueError(f"expected a batch of shape (N, {input_size}, {input_size}, 1), got {got}")


def in_chunks(
    batch: np.ndarray, run: Callable[[np.ndarray], np.ndarray], num_classes: int, size: int = MAX_BATCH
) -> np.ndarray:
    """Run ``run`` on slices of at most ``size`` rows and join the results.

    Args:
        batch: The whole batch (may be empty).
        run: Maps a non-empty slice to ``(n, num_classes)`` outputs.
        num_classes: Width of the outputs (for an empty batch).
        size: Rows per slice (default [`MAX_BATCH`][emotionkit.runtimes.MAX_BATCH]).

    Returns:
        ``float32`` ``(len(batch), num_classes)`` outputs, in order.

    Examples:
        >>> in_chunks(np.zeros((600, 2), np.float32), lambda x: x[:, :1] + len(x), 1).ravel()[[0, 300, 599]]
        array([256., 256.,  88.], dtype=float32)
    """
    if len(batch) == 0:
        return np.zeros((0, num_classes), np.float32)
    outputs = [np.asarray(run(batch[i : i + size]), np.float32) for i in range(0, len(batch), size)]
    return np.concatenate(outputs)


def copy_model_file(source: Path, folder: Path, format: str) -> str:
    """Copy an exported model file into ``folder`` under its format's name (the ``save`` of file runtimes).

    Args:
        source: The file a runtime loaded.
        folder: An existing folder.
        format: ``"onnx"`` or ``"litert"``.

    Returns:
        The file name in ``folder`` (a key of the config's ``files``).

    Examples:
        >>> copy_model_file(Path("emotion-onnx/model.onnx"), Path("copy"), "onnx")  # doctest: +SKIP
        'model.onnx'
    """
    import shutil

    name = MODEL_FILES[format]
    if (folder / name).resolve() != source.resolve():
        shutil.copyfile(source, folder / name)
    return name


def installed_runtimes() -> tuple[str, ...]:
    """Return the runtimes whose packages are installed, without importing any of them.

    ``"keras"`` counts when Keras and the selected backend (``$KERAS_BACKEND``,
    default TensorFlow) are both installed.

    Returns:
        A subset of ``("keras", "onnx", "litert")``, in preference order.

    Examples:
        >>> set(installed_runtimes()) <= {"keras", "onnx", "litert"}
        True
    """
    backend_package = {"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}.get(backend_name(), "keras")
    found = {
        "keras": _installed("keras") and _installed(backend_package),
        "onnx": _installed("onnxruntime"),
        "litert": _installed("ai_edge_litert"),
    }
    return tuple(name for name in _PREFERENCE if found[name])


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed package
        return False


def model_formats(folder: str | Path, config: ModelConfig) -> tuple[str, ...]:
    """Return the formats a model folder holds, in preference order.

    A format counts when its file is listed in ``config.files`` (folders written
    before sums were recorded list nothing: then the files present count).

    Args:
        folder: The model folder.
        config: Its config.

    Returns:
        A subset of ``("keras", "onnx", "litert")``.

    Examples:
        >>> model_formats("my-model", config)  # doctest: +SKIP
        ('keras', 'onnx')
    """
    folder = Path(folder)
    if config.files:
        return tuple(f for f in _PREFERENCE if MODEL_FILES[f] in config.files)
    return tuple(f for f in _PREFERENCE if (folder / MODEL_FILES[f]).is_file())


def choose_runtime(
    requested: str, formats: tuple[str, ...], installed: tuple[str, ...], where: str = "the model"
) -> str:
    """Pick the runtime for a model (the rule in the module docs).

    Args:
        requested: One of [`RUNTIME_NAMES`][emotionkit.runtimes.RUNTIME_NAMES].
        formats: What the model folder holds ([`model_formats`][emotionkit.runtimes.model_formats]).
        installed: What is installed ([`installed_runtimes`][emotionkit.runtimes.installed_runtimes]).
        where: How to name the model in errors.

    Returns:
        ``"keras"``, ``"onnx"`` or ``"litert"``.

    Raises:
        ValueError: If ``requested`` is not a runtime name.
        emotionkit.errors.ModelNotFoundError: If the folder lacks the requested format.
        ImportError: If no usable runtime is installed (the message says what to install).

    Examples:
        >>> choose_runtime("auto", ("keras", "onnx"), ("onnx",))
        'onnx'
        >>> choose_runtime("auto", ("keras", "onnx"), ("keras", "onnx"))
        'keras'
    """
    if requested not in RUNTIME_NAMES:
        raise ValueError(f"unknown runtime {requested!r}; accepted: {', '.join(RUNTIME_NAMES)}")
    if requested != "auto":
        if requested not in formats:
            raise ModelNotFoundError(
                f"{where} has no {MODEL_FILES[requested]} (it holds: {', '.join(formats) or 'no model file'}); "
                f"make one with `emotionkit export MODEL OUTPUT --format {requested}`"
                if requested != "keras"
                else f"{where} holds only exported files ({', '.join(formats)}), not Keras weights; "
                "use runtime='auto' or the original model folder"
            )
        if requested not in installed:
            raise ImportError(f"runtime {requested!r} is not installed: {_INSTALL[requested]}")
        return requested
    usable = [f for f in formats if f in installed]
    if usable:
        return usable[0]
    if not formats:
        raise ModelNotFoundError(f"{where} holds no model file (expected one of {', '.join(MODEL_FILES.values())})")
    hints = "; or ".join(_INSTALL[f] for f in formats)
    raise ImportError(f"{where} holds {', '.join(formats)} but no runtime for it is installed: {hints}")


_LOADED: OrderedDict[tuple[object, ...], ClassifierRuntime] = OrderedDict()  # folder, runtime, file stamps
_LOADED_LOCK = threading.Lock()
_LOADED_MAX = 4


def load_runtime(folder: str | Path, config: ModelConfig, runtime: str = "auto") -> ClassifierRuntime:
    """Load the runtime of a model folder, once per process while its files are unchanged.

    Runtimes never change after loading (they hand out only copies), so
    recognizers can share one; this makes a second ``from_pretrained`` of the
    same model nearly free. The model file is checked against its sha256 first.

    Args:
        folder: The model folder.
        config: Its config.
        runtime: One of [`RUNTIME_NAMES`][emotionkit.runtimes.RUNTIME_NAMES] (see the module docs).

    Returns:
        The runtime.

    Raises:
        ValueError: If ``runtime`` is unknown.
        ImportError: If the runtime's package is not installed.
        emotionkit.errors.ModelNotFoundError: If the folder lacks the model file.
        emotionkit.errors.InvalidModelError: If the file fails its sha256 check or cannot be loaded.

    Examples:
        >>> load_runtime("my-model", read_config("my-model"), "onnx")  # doctest: +SKIP
    """
    from emotionkit.model_files import CONFIG_NAME, check_files

    folder = Path(folder)
    chosen = choose_runtime(runtime, model_formats(folder, config), installed_runtimes(), str(folder))
    name = MODEL_FILES[chosen]
    paths = [folder / CONFIG_NAME, folder / name]
    try:
        stamps = tuple((st.st_mtime_ns, st.st_size) for st in (p.stat() for p in paths))
    except FileNotFoundError as exc:
        raise ModelNotFoundError(f"model file missing: {exc.filename}") from None
    key = (str(folder.resolve()), chosen, stamps)
    with _LOADED_LOCK:
        loaded = _LOADED.get(key)
        if loaded is None:
            if name in config.files:
                check_files(folder, {name: config.files[name]}, str(folder / CONFIG_NAME))
            loaded = _load(chosen, folder / name, folder, config)
            _LOADED[key] = loaded
            while len(_LOADED) > _LOADED_MAX:
                _LOADED.popitem(last=False)
        _LOADED.move_to_end(key)
    return loaded


def _load(chosen: str, path: Path, folder: Path, config: ModelConfig) -> ClassifierRuntime:
    if chosen in ("onnx", "litert"):
        return open_exported(path, chosen, config)
    from emotionkit.model_files import load_model
    from emotionkit.runtime import KerasRuntime

    return KerasRuntime(load_model(folder, config, verified=True), copy=False)  # nobody else holds this model


def open_exported(path: Path, format: str, config: ModelConfig) -> ClassifierRuntime:
    """Open an exported ``.onnx`` or ``.tflite`` file with its runtime (no sha256 check, no cache).

    Args:
        path: The file.
        format: ``"onnx"`` or ``"litert"``.
        config: The model's config (input size and number of labels are checked against the file).

    Returns:
        An [`OnnxRuntime`][emotionkit.onnx_runtime.OnnxRuntime] or a
        [`LiteRTRuntime`][emotionkit.litert_runtime.LiteRTRuntime].

    Raises:
        ValueError: If ``format`` is neither.
        emotionkit.errors.InvalidModelError: If the file cannot be loaded or belongs to another model.

    Examples:
        >>> open_exported(Path("emotion-onnx/model.onnx"), "onnx", config)  # doctest: +SKIP
    """
    if format == "onnx":
        from emotionkit.onnx_runtime import OnnxRuntime

        return OnnxRuntime(path, input_size=config.input_size, num_classes=len(config.labels))
    if format == "litert":
        from emotionkit.litert_runtime import LiteRTRuntime

        return LiteRTRuntime(path, input_size=config.input_size, num_classes=len(config.labels))
    raise ValueError(f"no exported-file runtime for format {format!r}; accepted: onnx, litert")
