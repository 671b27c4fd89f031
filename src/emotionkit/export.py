"""Export a Keras classifier to ONNX or LiteRT, as a model folder that needs no Keras to run.

[`export_model`][emotionkit.export.export_model] (behind
[`EmotionRecognizer.export`][emotionkit.EmotionRecognizer.export] and ``emotionkit export``)
writes a folder with ``model.onnx`` or ``model.tflite``, ``config.json`` (labels,
input size, face framing, flip TTA, the file's sha256) and a model card. It needs
``pip install "emotionkit[export]"`` (TensorFlow, tf2onnx, onnxruntime, ai-edge-litert).

How: the classifier is traced once as a TensorFlow function, its weights are
frozen into the graph as constants, and that graph goes to tf2onnx
(``from_graph_def``) or to TensorFlow's LiteRT converter. Under the PyTorch or JAX
backend, the weights (backend-agnostic) are written to a temporary folder and a
TensorFlow subprocess converts them. Each exported file is then run on a fixed
batch and must match the recognizer's own Keras outputs within 1e-4, or the export
fails and leaves nothing behind.

Why not Keras's own ``model.export(path, format="onnx" | "litert")``: measured on
Keras 3.15 with the bundled default (two MobileNetV2 members in one functional model),
on TensorFlow its ONNX file ran but its probabilities differed from the model's by up
to 0.42 (tf2onnx's freezing step failed and its fallback dropped BatchNorm updates),
and its LiteRT file by up to 0.009; under PyTorch the ONNX export failed inside
``Conv2D.call`` and LiteRT needs the separate ``litert-torch`` package; under JAX ONNX
needs ``jax2onnx`` and LiteRT is not supported. It does work for the small
``convnet`` architecture on TensorFlow and PyTorch, but one path that is checked for
every model is better than two.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotionkit.config import ModelConfig
from emotionkit.runtimes import MODEL_FILES, open_exported

if TYPE_CHECKING:
    from emotionkit.runtime import KerasRuntime

__all__ = ["EXPORT_FORMATS", "TOLERANCE", "convert_keras_model", "export_model", "probe_batch"]

EXPORT_FORMATS: tuple[str, ...] = ("onnx", "litert")
"""Formats [`export_model`][emotionkit.export.export_model] writes."""
TOLERANCE = 1e-4
"""Largest difference in any probability allowed between an exported file and the Keras model."""
_TOOLS = {"onnx": ("tensorflow", "tf2onnx", "onnx", "onnxruntime"), "litert": ("tensorflow", "ai_edge_litert")}
_INSTALL = "pip install 'emotionkit[export]'"


def probe_batch(input_size: int, count: int = 16) -> np.ndarray:
    """The fixed batch every export is checked on: smooth random faces, a ramp, black and white.

    Args:
        input_size: Side of the faces.
        count: Number of faces (at least 4).

    Returns:
        ``float32`` ``(count, S, S, 1)`` in ``[0, 1]``.

    Examples:
        >>> probe_batch(48).shape
        (16, 48, 48, 1)
    """
    rng = np.random.default_rng(20261130)
    coarse = rng.random((count, 6, 6), np.float32)
    faces = np.stack([np.kron(c, np.ones((input_size // 6 + 1,) * 2))[:input_size, :input_size] for c in coarse])
    faces = 0.7 * faces + 0.3 * rng.random(faces.shape, np.float32)
    faces[0] = np.linspace(0.0, 1.0, input_size, dtype=np.float32)[None, :]
    faces[1] = 0.0
    faces[2] = 1.0
    return faces[..., None].astype(np.float32)


def _check_tools(format: str) -> None:
    import importlib.util

    missing = [m for m in _TOOLS[format] if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"exporting to {format} needs {', '.join(missing)}: {_INSTALL}")


def convert_keras_model(model: Any, input_size: int, path: str | Path, format: str, config: ModelConfig) -> None:
    """Write a Keras model (TensorFlow backend) as ``.onnx`` or ``.tflite`` through a frozen TensorFlow graph.

    Args:
        model: The Keras classifier; the active backend must be TensorFlow.
        input_size: Side of its ``(N, S, S, 1)`` input.
        path: The file to write.
        format: ``"onnx"`` or ``"litert"``.
        config: Its config (labels and framing are also stored as ONNX metadata).

    Raises:
        RuntimeError: If the Keras backend is not TensorFlow.
        ImportError: If a converter is missing.

    Examples:
        >>> convert_keras_model(rec.model, 48, "model.onnx", "onnx", rec.config)  # doctest: +SKIP
    """
    from emotionkit.backend import import_keras

    keras = import_keras(quiet=True)
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"converting needs the TensorFlow backend, this process runs {keras.backend.backend()}")
    _check_tools(format)
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec((None, input_size, input_size, 1), tf.float32, name="faces")
    function = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    if format == "litert":
        converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], function)
        Path(path).write_bytes(converter.convert())
        return
    import onnx
    import tf2onnx

    proto, _ = tf2onnx.convert.from_graph_def(
        frozen.graph.as_graph_def(),
        input_names=[t.name for t in frozen.inputs],
        output_names=[t.name for t in frozen.outputs],
        opset=17,
    )
    _rename(proto, {frozen.inputs[0].name: "faces", frozen.outputs[0].name: "probabilities"})
    metadata = {
        "emotionkit.labels": json.dumps(list(config.labels)),
        "emotionkit.input_size": str(input_size),
        "emotionkit.face_margin": str(config.preprocessing.face_margin),
        "emotionkit.face_shift_y": str(config.preprocessing.face_shift_y),
        "emotionkit.flip_tta": json.dumps(config.flip_tta),
        "emotionkit.input": "(N, S, S, 1) float32 grey faces scaled to [0, 1]; output (N, classes) probabilities",
    }
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))


def _rename(proto: Any, names: dict[str, str]) -> None:
    """Give the graph's input and output readable names (tf2onnx keeps TensorFlow's ``faces:0``, ``Identity:0``)."""
    graph = proto.graph
    for value in list(graph.input) + list(graph.output):
        value.name = names.get(value.name, value.name)
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = names.get(name, name)
        for i, name in enumerate(node.output):
            node.output[i] = names.get(name, name)


def _convert_in_subprocess(runtime: KerasRuntime, config: ModelConfig, work: Path, format: str) -> Path:
    """Convert under the TensorFlow backend in a child process (this one runs PyTorch or JAX)."""
    from emotionkit.model_files import write_model_folder

    source = write_model_folder(runtime, config, work / "keras")
    out = work / "converted"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "emotionkit", "export", str(source), str(out), "--format", format]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the TensorFlow export subprocess failed ({' '.join(command)}):\n{done.stderr[-2000:]}")
    return out / MODEL_FILES[format]


def export_model(
    runtime: KerasRuntime, config: ModelConfig, path: str | Path, format: str = "onnx", *, overwrite: bool = False
) -> Path:
    """Export a Keras runtime's classifier as a model folder for onnxruntime or LiteRT (see the module docs).

    Args:
        runtime: The classifier.
        config: Its config (labels, framing and flip TTA go into the new folder's ``config.json``).
        path: The folder to create.
        format: ``"onnx"`` or ``"litert"``.
        overwrite: Replace an existing folder at ``path``.

    Returns:
        The folder.

    Raises:
        ValueError: An unknown ``format``; and the other errors listed by
            [`EmotionRecognizer.export`][emotionkit.EmotionRecognizer.export], which calls this.

    Examples:
        >>> export_model(rec.keras_runtime(), rec.config, "emotion-onnx")  # doctest: +SKIP
    """
    from emotionkit.backend import import_keras
    from emotionkit.model_card import render_model_card
    from emotionkit.model_files import CARD_NAME, write_model_folder

    if format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {format!r}; accepted: {', '.join(EXPORT_FORMATS)}")
    dest = Path(path)
    if dest.exists() and not overwrite:
        raise FileExistsError(f"{dest} already exists; pass overwrite=True (--overwrite) to replace it")
    _check_tools(format)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.export-"))
    try:
        keras = import_keras(quiet=True)
        if keras.backend.backend() == "tensorflow":
            exported = work / MODEL_FILES[format]
            convert_keras_model(runtime.keras_model(), config.input_size, exported, format, config)
        else:
            exported = _convert_in_subprocess(runtime, config, work, format)
        loaded = open_exported(exported, format, config)
        probe = probe_batch(config.input_size)
        difference = float(np.abs(loaded.probabilities(probe) - runtime.probabilities(probe)).max())
        if not difference <= TOLERANCE:
            raise RuntimeError(
                f"the exported {format} file disagrees with the Keras model by {difference:.2g} "
                f"(more than {TOLERANCE}); nothing was written"
            )
        folder = write_model_folder(loaded, config, work / "model")
        (folder / CARD_NAME).write_text(render_model_card(config), encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        os.replace(folder, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
