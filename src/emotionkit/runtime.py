"""The model runtime: a Keras classifier run through a compiled forward pass, numpy in and out.

[`KerasRuntime`][emotionkit.runtime.KerasRuntime] is the seam between the recognizer's
pipeline (detect, crop, classify) and whatever executes the network: the
recognizer hands it a preprocessed ``(N, S, S, 1)`` batch and gets ``(N, classes)``
probabilities back. It owns the weights it runs: they are captured when the
runtime is built, and [`keras_model`][emotionkit.runtime.KerasRuntime.keras_model] hands out
copies, so no outside change can make its compiled function silently stale.

Calling a Keras model eagerly costs ~150 ms per face on TensorFlow and
``model.predict`` adds a large per-call overhead; a compiled function
(``tf.function``, ``jax.jit``, or a traced TorchScript graph) serves one face in a
few milliseconds. On TensorFlow the weights are frozen into the graph as
constants, which lets the graph optimiser fold BatchNorm into the
convolutions. On JAX and PyTorch, batches are padded to a few fixed sizes so that only a
handful of shapes are compiled or traced. PyTorch runs a batch size eagerly
(Keras' own layers, ~100 ms per call for the bundled model on a 2-core CPU, most of it
per-layer overhead) for its first two calls and traces it with ``torch.jit.trace`` on the
third, so a one-off call does not pay the seconds a trace costs and a stream gets the
traced graph (measured 8.9x faster for one face, 1.9x for 64, same outputs). Batches of
more than 64 stay eager: there the compute outweighs the overhead, and a trace of 256
faces costs more memory than its measured 1.4x gain was worth.

This module imports Keras; import it only after ``KERAS_BACKEND`` is set. The runtimes that
need no Keras ([`OnnxRuntime`][emotionkit.onnx_runtime.OnnxRuntime],
[`LiteRTRuntime`][emotionkit.litert_runtime.LiteRTRuntime]) and the choice between them live
in [`emotionkit.runtimes`][emotionkit.runtimes].
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotionkit.backend import import_keras
from emotionkit.runtimes import MAX_BATCH, MODEL_FILES, check_batch

if TYPE_CHECKING:
    import keras
else:
    keras = import_keras()  # an ImportError that names the extras to install when no backend is usable

__all__ = ["MAX_BATCH", "KerasRuntime", "compile_forward"]

_Forward = Callable[[np.ndarray], np.ndarray]
_BUCKETS = (1, 4, 16, 64, MAX_BATCH)  # the batch sizes jax.jit compiles
_TORCH_TRACED = (1, 4, 16, 64)  # the batch sizes PyTorch traces; larger batches stay eager, where compute
# outweighs Keras' per-layer overhead
_TORCH_EAGER_CALLS = 2  # calls of one batch size that run eagerly before PyTorch traces that size


def _tensorflow_forward(model: keras.Model) -> tuple[_Forward, tuple[int, ...]]:
    import tensorflow as tf

    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
    fn = tf.function(lambda x: model(x, training=False), input_signature=[spec], jit_compile=False)
    try:
        # Freezing the weights into graph constants lets TensorFlow's graph optimiser fold BatchNorm into the
        # convolutions: measured 1.5x faster on a 2-core CPU (benchmarks/speed.py), same outputs to ~1e-6.
        # The converter is not exported under tf.*; fall back to the plain function if it ever moves.
        from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    except ImportError:  # pragma: no cover - depends on the TensorFlow release
        return (lambda x: fn(tf.constant(x)).numpy()), ()
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
    return (lambda x: frozen(tf.constant(x))[0].numpy()), ()  # a frozen function returns its outputs as a list


def _jax_forward(model: keras.Model) -> tuple[_Forward, tuple[int, ...]]:
    import jax

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    @jax.jit
    def fn(tv: Any, ntv: Any, x: Any) -> Any:
        out, _ = model.stateless_call(tv, ntv, x, training=False)
        return out

    return (lambda x: np.asarray(fn(trainable, non_trainable, x))), _BUCKETS


def _torch_forward(model: keras.Model) -> tuple[_Forward, tuple[int, ...]]:
    import torch

    trainable = [v.value.detach().clone() for v in model.trainable_variables]
    weights = (*trainable, *(v.value.detach().clone() for v in model.non_trainable_variables))

    def run(x: Any, *values: Any) -> Any:
        out, _ = model.stateless_call(list(values[: len(trainable)]), list(values[len(trainable) :]), x, training=False)
        return out

    lock = threading.Lock()
    calls: dict[int, int] = {}
    graphs: dict[int, Callable[..., Any]] = {}  # per batch size: its traced graph, or ``run`` where tracing failed

    def graph_for(x: Any) -> Callable[..., Any]:
        """The traced graph for this batch size, traced on its third call (one-off calls skip the trace cost)."""
        n = int(x.shape[0])
        if n not in _TORCH_TRACED:
            return run
        with lock:
            if n in graphs:
                return graphs[n]
            calls[n] = calls.get(n, 0) + 1
            if calls[n] <= _TORCH_EAGER_CALLS:
                return run
            try:
                with torch.no_grad(), warnings.catch_warnings():
                    # torch.jit.trace warns that it is deprecated and that shapes become constants: each batch
                    # size gets its own trace, so they are.
                    warnings.simplefilter("ignore")
                    graphs[n] = torch.jit.trace(run, (x, *weights), check_trace=False)
            except Exception as exc:  # a torch without TorchScript, or a layer it cannot trace
                graphs[n] = run
                warnings.warn(
                    f"PyTorch could not trace the model for batches of {n} ({type(exc).__name__}: {exc}); "
                    "they run eagerly: slower, same outputs",
                    RuntimeWarning,
                    stacklevel=4,
                )
            return graphs[n]

    def fn(x: np.ndarray) -> np.ndarray:
        tensor = keras.ops.convert_to_tensor(x)  # on Keras' default device
        graph = graph_for(tensor)
        with torch.inference_mode():
            out = graph(tensor, *weights)
        return out.detach().cpu().numpy()

    return fn, _TORCH_TRACED


def compile_forward(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """Return a fast ``f(batch) -> probabilities`` for the active Keras backend.

    The weights are captured when this is called (on TensorFlow they are frozen
    into the graph as constants, on JAX and PyTorch copied): build a new function after
    changing them.

    Args:
        model: A built Keras model with one input and one output.

    Returns:
        A function taking a ``float32`` array ``(N, ...)`` (any ``N >= 1``) and
        returning a ``float32`` numpy array ``(N, classes)``.

    Examples:
        >>> forward = compile_forward(model)  # doctest: +SKIP
        >>> forward(np.zeros((3, 48, 48, 1), np.float32)).shape  # doctest: +SKIP
        (3, 7)
    """
    backend = keras.backend.backend()
    builders = {"tensorflow": _tensorflow_forward, "jax": _jax_forward, "torch": _torch_forward}
    if backend not in builders:
        raise RuntimeError(f"unsupported Keras backend {backend!r}; use tensorflow, jax or torch")
    # Each builder names the batch sizes it compiles (jax.jit) or traces (PyTorch) once per shape; a batch is
    # padded to the smallest of them that holds it, and one larger than all of them runs as it is.
    raw, sizes = builders[backend](model)

    def padded_size(n: int) -> int:
        return next((size for size in sizes if size >= n), n)

    def forward(batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        outputs = []
        for start in range(0, len(batch), MAX_BATCH):
            chunk = batch[start : start + MAX_BATCH]
            n = len(chunk)
            size = padded_size(n)
            if size != n:
                chunk = np.concatenate([chunk, np.zeros((size - n, *chunk.shape[1:]), np.float32)])
            outputs.append(np.asarray(raw(chunk), dtype=np.float32)[:n])
        return np.concatenate(outputs)

    return forward


def _copy(model: keras.Model) -> keras.Model:
    """A new model with the same architecture and a copy of the weights."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


class KerasRuntime:
    """Runs a Keras classifier through a compiled forward pass; safe to share between threads.

    The forward pass is compiled on first use (on TensorFlow the weights are frozen
    into the graph). The runtime keeps its own weights: by default it copies the
    model it is given, so changing that model afterwards changes nothing here.

    Args:
        model: A Keras model mapping ``(N, S, S, 1)`` float32 faces to ``(N, classes)`` probabilities.
        copy: Copy the model (default). ``False`` hands the model over: the caller
            promises not to change it afterwards (used by loaders that built it themselves).

    Raises:
        ValueError: If the model does not take ``(S, S, 1)`` inputs.

    Examples:
        >>> from emotionkit.models import build_model
        >>> runtime = KerasRuntime(build_model({"name": "convnet", "input_size": 48, "widths": [4]}, 7))
        >>> runtime.probabilities(np.zeros((2, 48, 48, 1), np.float32)).shape
        (2, 7)
    """

    format = "keras"

    def __init__(self, model: keras.Model, *, copy: bool = True) -> None:
        shape = tuple(model.input_shape[1:])
        if len(shape) != 3 or shape[2] != 1 or shape[0] != shape[1] or shape[0] is None:
            raise ValueError(f"the model must take (S, S, 1) grey faces, its input shape is {model.input_shape}")
        self._model = _copy(model) if copy else model
        self.input_size = int(shape[0])
        self._lock = threading.Lock()
        self._forward: Callable[[np.ndarray], np.ndarray] | None = None
        self._features: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def num_classes(self) -> int:
        """Length of the probability vectors."""
        return int(self._model.output_shape[-1])

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Run the classifier on a preprocessed batch.

        Args:
            batch: ``float32`` ``(N, S, S, 1)`` faces in ``[0, 1]``, as made by
                [`prepare_faces`][emotionkit.preprocessing.prepare_faces].

        Returns:
            ``float32`` ``(N, classes)`` probabilities (a new array).

        Raises:
            ValueError: If the batch has the wrong shape.
        """
        self._check(batch)
        if self._forward is None:
            with self._lock:
                if self._forward is None:
                    self._forward = compile_forward(self._model)
        return self._forward(batch)

    def features(self, batch: np.ndarray) -> np.ndarray:
        """Return the features the classifier head sees (what personalisation compares).

        Args:
            batch: As for [`probabilities`][emotionkit.runtime.KerasRuntime.probabilities].

        Returns:
            ``float32`` ``(N, D)`` features.

        Raises:
            ValueError: If the batch has the wrong shape, or the model was not built by
                [`emotionkit.models.build_model`][emotionkit.models.build_model].
        """
        self._check(batch)
        if self._features is None:
            from emotionkit.models import feature_model

            with self._lock:
                if self._features is None:
                    self._features = compile_forward(feature_model(self._model))
        return self._features(batch)

    def keras_model(self) -> keras.Model:
        """Return a copy of the Keras model (changing it does not change this runtime).

        Returns:
            A new Keras model with a copy of the weights.
        """
        return _copy(self._model)

    def save_weights(self, path: str, overwrite: bool = True) -> None:
        """Write the weights to a Keras ``.weights.h5`` file.

        Args:
            path: The file (its name must end in ``.weights.h5``).
            overwrite: Replace an existing file.
        """
        self._model.save_weights(path, overwrite=overwrite)

    def save(self, folder: Path) -> str:
        """Write ``model.weights.h5`` into ``folder``.

        Args:
            folder: An existing folder.

        Returns:
            The file name written.
        """
        name = MODEL_FILES[self.format]
        self.save_weights(str(folder / name))
        return name

    def _check(self, batch: np.ndarray) -> None:
        check_batch(batch, self.input_size)
