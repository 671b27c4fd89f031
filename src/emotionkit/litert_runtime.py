"""Run an exported ``model.tflite`` classifier with LiteRT (``ai-edge-litert``): no Keras, no TensorFlow.

Install with ``pip install "emotionkit[litert]"``. Files come from
[`EmotionRecognizer.export`][emotionkit.EmotionRecognizer.export] with ``format="litert"``;
[`emotionkit.runtimes`][emotionkit.runtimes] decides when this runtime is used.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from emotionkit.errors import InvalidModelError
from emotionkit.runtimes import MAX_BATCH, check_batch, copy_model_file, in_chunks

__all__ = ["LiteRTRuntime"]

_BUCKETS = (1, 4, 16, 64, MAX_BATCH)  # batches are padded to these sizes: one interpreter allocation each


def _interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise ImportError(f"the LiteRT runtime needs ai-edge-litert: pip install 'emotionkit[litert]' ({exc})") from exc
    return Interpreter


class LiteRTRuntime:
    """Runs a ``model.tflite`` classifier with the LiteRT interpreter; safe to share between threads.

    A LiteRT interpreter must not be used from two threads at once, so each thread
    gets its own, one per padded batch size (1, 4, 16, 64 or 256 faces).

    Args:
        path: The ``.tflite`` file: ``(N, S, S, 1)`` float32 faces in, ``(N, classes)`` probabilities out.
        input_size: ``S`` that the model config expects.
        num_classes: Number of labels the model config lists.
        threads: Interpreter threads (``None``: LiteRT's default).

    Raises:
        FileNotFoundError: If the file is missing.
        emotionkit.errors.InvalidModelError: If the file cannot be loaded or does not fit
            ``input_size`` / ``num_classes`` (a file of another model).
        ImportError: If ai-edge-litert is not installed.

    Examples:
        >>> runtime = LiteRTRuntime("model/model.tflite", input_size=48, num_classes=7)  # doctest: +SKIP
    """

    format = "litert"

    def __init__(self, path: str | Path, *, input_size: int, num_classes: int, threads: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"LiteRT model file not found: {self.path}")
        self._interpreter = _interpreter_class()
        self._threads = threads
        self.input_size = int(input_size)
        self._num_classes = int(num_classes)
        self._local = threading.local()
        first = self._get(1)  # load now, so that a bad file fails here and not in the first prediction
        details_in, details_out = first.get_input_details(), first.get_output_details()
        shape = [int(d) for d in details_in[0]["shape"][1:]] if len(details_in) == 1 else None
        out = int(details_out[0]["shape"][-1]) if len(details_out) == 1 else None
        if shape != [input_size, input_size, 1] or out != num_classes:
            raise InvalidModelError(
                f"{self.path} takes {[list(d['shape']) for d in details_in]} and returns "
                f"{[list(d['shape']) for d in details_out]}, but its config says (N, {input_size}, {input_size}, 1) "
                f"faces and {num_classes} classes: it belongs to another model"
            )

    @property
    def num_classes(self) -> int:
        """Length of the probability vectors."""
        return self._num_classes

    def _get(self, size: int) -> Any:
        """This thread's interpreter for batches of ``size`` faces."""
        cache = getattr(self._local, "interpreters", None)
        if cache is None:
            cache = self._local.interpreters = {}
        interpreter = cache.get(size)
        if interpreter is None:
            try:
                interpreter = self._interpreter(model_path=str(self.path), num_threads=self._threads)
                index = interpreter.get_input_details()[0]["index"]
                interpreter.resize_tensor_input(index, [size, self.input_size, self.input_size, 1])
                interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as exc:
                raise InvalidModelError(f"LiteRT cannot load {self.path}: {exc}") from None
            cache[size] = interpreter
        return interpreter

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        n = len(chunk)
        size = next(b for b in _BUCKETS if b >= n)
        if size != n:
            chunk = np.concatenate([chunk, np.zeros((size - n, *chunk.shape[1:]), np.float32)])
        interpreter = self._get(size)
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], chunk)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[:n])

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities of a preprocessed ``(N, S, S, 1)`` batch in ``[0, 1]``, ``(N, classes)`` float32.

        See [`ClassifierRuntime`][emotionkit.runtimes.ClassifierRuntime].

        Raises:
            ValueError: If the batch is not a ``(N, S, S, 1)`` array.
        """
        check_batch(batch, self.input_size)
        return in_chunks(np.ascontiguousarray(batch, dtype=np.float32), self._run, self._num_classes)

    def save(self, folder: Path) -> str:
        """Copy the ``.tflite`` file into an existing ``folder`` as ``model.tflite``; return that name."""
        return copy_model_file(self.path, folder, self.format)
