"""Run an exported ``model.onnx`` classifier with onnxruntime: no Keras, no deep-learning framework.

Install with ``pip install "emotionkit[onnx]"``. Files come from
[`EmotionRecognizer.export`][emotionkit.EmotionRecognizer.export] (or ``emotionkit export``);
[`emotionkit.runtimes`][emotionkit.runtimes] decides when this runtime is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emotionkit.errors import InvalidModelError
from emotionkit.runtimes import check_batch, copy_model_file, in_chunks

__all__ = ["OnnxRuntime", "import_onnxruntime"]


def import_onnxruntime() -> Any:
    """Import and return ``onnxruntime``, or raise an ImportError that says how to install it.

    Returns:
        The ``onnxruntime`` module.

    Raises:
        ImportError: If it is not installed.

    Examples:
        >>> import_onnxruntime().__name__  # doctest: +SKIP
        'onnxruntime'
    """
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError(f"the ONNX runtime needs onnxruntime: pip install 'emotionkit[onnx]' ({exc})") from exc
    return onnxruntime


def session_options(threads: int | None, spinning: bool = True) -> Any:
    """onnxruntime session options: all graph optimisations, ``threads`` intra-op threads (``None``: all cores).

    Args:
        threads: Intra-op threads, or ``None`` for onnxruntime's default (one per physical core).
        spinning: Let idle worker threads spin-wait for the next call (faster back-to-back calls; the face
            detector turns it off so that its threads leave the cores to the classifier between calls).

    Returns:
        An ``onnxruntime.SessionOptions``.

    Raises:
        ValueError: If ``threads`` is below 1.

    Examples:
        >>> session_options(threads=1).intra_op_num_threads
        1
    """
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        options.intra_op_num_threads = int(threads)
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only
    return options


def open_session(path: Path, threads: int | None, spinning: bool = True) -> Any:
    """Open an onnxruntime CPU session on ``path``; a bad file raises an error that names it.

    Args:
        path: The ``.onnx`` file.
        threads: As for [`session_options`][emotionkit.onnx_runtime.session_options].
        spinning: As for [`session_options`][emotionkit.onnx_runtime.session_options].

    Returns:
        An ``onnxruntime.InferenceSession`` (safe to call from several threads).

    Raises:
        FileNotFoundError: If the file is missing.
        emotionkit.errors.InvalidModelError: If onnxruntime cannot load it.

    Examples:
        >>> open_session(Path("emotion-onnx/model.onnx"), threads=None).get_inputs()[0].name  # doctest: +SKIP
        'faces'
    """
    ort = import_onnxruntime()
    if not path.is_file():
        raise FileNotFoundError(f"ONNX model file not found: {path}")
    try:
        options = session_options(threads, spinning)
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
        raise InvalidModelError(f"onnxruntime cannot load {path}: {type(exc).__name__}: {exc}") from None


class OnnxRuntime:
    """Runs a ``model.onnx`` classifier with onnxruntime; safe to share between threads.

    Args:
        path: The ``.onnx`` file: ``(N, S, S, 1)`` float32 faces in, ``(N, classes)`` probabilities out.
        input_size: ``S`` that the model config expects.
        num_classes: Number of labels the model config lists.
        threads: Intra-op threads (``None``: onnxruntime's default, one per physical core).

    Raises:
        FileNotFoundError: If the file is missing.
        emotionkit.errors.InvalidModelError: If the file cannot be loaded or its input or
            output shape does not match ``input_size`` / ``num_classes`` (a file of another model).
        ImportError: If onnxruntime is not installed.

    Examples:
        >>> runtime = OnnxRuntime("model/model.onnx", input_size=48, num_classes=7)  # doctest: +SKIP
        >>> runtime.probabilities(np.zeros((2, 48, 48, 1), np.float32)).shape  # doctest: +SKIP
        (2, 7)
    """

    format = "onnx"
    BATCH = 32
    """Faces per onnxruntime call: larger batches are split. Measured on a 2-core CPU (2026-11-30), the
    bundled MobileNetV2 pair served 3,330 faces/s in batches of 32 against 1,970 in batches of 256
    (activations at 96 px outgrow the cache); a 48 px convnet was within 10% at any size from 16 up."""

    def __init__(self, path: str | Path, *, input_size: int, num_classes: int, threads: int | None = None) -> None:
        self.path = Path(path)
        self._session = open_session(self.path, threads)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        shape = list(inputs[0].shape) if len(inputs) == 1 else None
        out = list(outputs[0].shape) if len(outputs) == 1 else None
        if shape is None or out is None or shape[1:] != [input_size, input_size, 1] or out[-1] != num_classes:
            raise InvalidModelError(
                f"{self.path} takes {[i.shape for i in inputs]} and returns {[o.shape for o in outputs]}, but its "
                f"config says (N, {input_size}, {input_size}, 1) faces and {num_classes} classes: "
                "it belongs to another model"
            )
        self._input = inputs[0].name
        self.input_size = int(input_size)
        self._num_classes = int(num_classes)

    @property
    def num_classes(self) -> int:
        """Length of the probability vectors."""
        return self._num_classes

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities of a preprocessed ``(N, S, S, 1)`` batch in ``[0, 1]``, ``(N, classes)`` float32.

        See [`ClassifierRuntime`][emotionkit.runtimes.ClassifierRuntime].

        Raises:
            ValueError: If the batch is not a ``(N, S, S, 1)`` array.
        """
        check_batch(batch, self.input_size)
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        run = self._session.run
        return in_chunks(batch, lambda chunk: run(None, {self._input: chunk})[0], self._num_classes, self.BATCH)

    def save(self, folder: Path) -> str:
        """Copy the ``.onnx`` file into an existing ``folder`` as ``model.onnx``; return that name."""
        return copy_model_file(self.path, folder, self.format)
