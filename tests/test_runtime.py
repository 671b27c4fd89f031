"""The compiled forward pass of each backend computes what the Keras model computes."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from conftest import TINY_ARCH
from emotionkit.models import build_model
from emotionkit.runtime import MAX_BATCH, KerasRuntime, compile_forward


def _model_with_trained_batchnorm(seed: int, architecture: dict[str, Any] = TINY_ARCH) -> keras.Model:
    """A tiny model whose BatchNorm layers hold non-trivial statistics, as a trained model's do."""
    keras.utils.set_random_seed(seed)
    model = build_model(architecture, 7)
    rng = np.random.default_rng(seed)
    batchnorms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert batchnorms, "the test model should contain BatchNorm layers"
    for layer in batchnorms:
        size = layer.moving_mean.shape[0]
        layer.moving_mean.assign(rng.normal(0, 0.5, size).astype("float32"))
        layer.moving_variance.assign(rng.uniform(0.2, 2.0, size).astype("float32"))
        layer.gamma.assign(rng.uniform(0.5, 1.5, size).astype("float32"))
        layer.beta.assign(rng.normal(0, 0.2, size).astype("float32"))
    return model


def test_compiled_forward_matches_the_model_over_split_batches() -> None:
    model = _model_with_trained_batchnorm(seed=3)
    faces = np.random.default_rng(0).random((MAX_BATCH + 3, 48, 48, 1)).astype("float32")
    expected = keras.ops.convert_to_numpy(model(faces, training=False))

    forward = compile_forward(model)
    got = forward(faces)

    assert got.shape == (MAX_BATCH + 3, 7) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(forward(faces[:1]), expected[:1], atol=1e-5)


def test_repeated_calls_keep_matching_the_model_once_compiled_or_traced() -> None:
    # PyTorch runs a batch size eagerly twice, then traces it: the third and later calls take the traced graph.
    model = _model_with_trained_batchnorm(seed=6)
    faces = np.random.default_rng(3).random((3, 48, 48, 1)).astype("float32")
    expected = keras.ops.convert_to_numpy(model(faces, training=False))
    forward = compile_forward(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a trace that failed and fell back would warn
        outputs = [forward(faces) for _ in range(4)] + [forward(faces[:1]) for _ in range(4)]
    for got in outputs[:4]:
        np.testing.assert_allclose(got, expected, atol=1e-5)
    for got in outputs[4:]:
        np.testing.assert_allclose(got, expected[:1], atol=1e-5)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="tracing is PyTorch's compiled path")
def test_a_model_torch_cannot_trace_runs_eagerly_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no TorchScript here")

    monkeypatch.setattr(torch.jit, "trace", refuse)
    model = _model_with_trained_batchnorm(seed=7)
    faces = np.random.default_rng(4).random((4, 48, 48, 1)).astype("float32")
    expected = keras.ops.convert_to_numpy(model(faces, training=False))
    forward = compile_forward(model)
    first = [forward(faces) for _ in range(2)]
    with pytest.warns(RuntimeWarning, match=r"could not trace the model for batches of 4 .*no TorchScript here"):
        third = forward(faces)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # warned once, not on every call
        fourth = forward(faces)
    for got in [*first, third, fourth]:
        np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="tracing is PyTorch's compiled path")
def test_torch_traces_padded_small_batches_and_runs_large_ones_eagerly(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    traced_sizes = []
    trace = torch.jit.trace

    def recording_trace(fn: object, example: tuple[Any, ...], **kwargs: object) -> object:
        traced_sizes.append(int(example[0].shape[0]))
        return trace(fn, example, **kwargs)

    monkeypatch.setattr(torch.jit, "trace", recording_trace)
    model = _model_with_trained_batchnorm(seed=8)
    faces = np.random.default_rng(5).random((100, 48, 48, 1)).astype("float32")
    expected = keras.ops.convert_to_numpy(model(faces, training=False))
    forward = compile_forward(model)
    for _ in range(3):
        np.testing.assert_allclose(forward(faces[:3]), expected[:3], atol=1e-5)
        np.testing.assert_allclose(forward(faces), expected, atol=1e-5)
    assert traced_sizes == [4]  # 3 faces padded to the traced size 4 on the third call; 100 faces never traced


def test_a_forward_built_after_a_weight_change_uses_the_new_weights() -> None:
    model = _model_with_trained_batchnorm(seed=4)
    faces = np.random.default_rng(1).random((5, 48, 48, 1)).astype("float32")
    before = compile_forward(model)(faces)

    head = model.layers[-1]
    head.bias.assign(keras.ops.convert_to_numpy(head.bias) + np.arange(7, dtype="float32"))
    after = compile_forward(model)(faces)

    np.testing.assert_allclose(after, keras.ops.convert_to_numpy(model(faces, training=False)), atol=1e-5)
    assert np.abs(after - before).max() > 0.01


def test_the_runtime_owns_its_weights_and_hands_out_copies() -> None:
    model = _model_with_trained_batchnorm(seed=5)
    faces = np.random.default_rng(2).random((3, 48, 48, 1)).astype("float32")
    runtime = KerasRuntime(model)
    expected = keras.ops.convert_to_numpy(model(faces, training=False))
    np.testing.assert_allclose(runtime.probabilities(faces), expected, atol=1e-5)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])  # the caller's model, changed afterwards
    copy = runtime.keras_model()
    copy.set_weights([np.ones_like(w) for w in copy.get_weights()])  # a handed-out copy, changed
    np.testing.assert_allclose(runtime.probabilities(faces), expected, atol=1e-5)
    assert runtime.features(faces).shape == (3, TINY_ARCH["widths"][-1])
    assert runtime.num_classes == 7 and runtime.input_size == 48


def test_the_runtime_checks_batches_and_models() -> None:
    import pytest

    runtime = KerasRuntime(build_model(TINY_ARCH, 7), copy=False)
    with pytest.raises(ValueError, match=r"batch of shape \(N, 48, 48, 1\), got \(2, 48, 48\)"):
        runtime.probabilities(np.zeros((2, 48, 48), np.float32))
    flat = keras.Sequential([keras.Input((10,)), keras.layers.Dense(7)])
    with pytest.raises(ValueError, match=r"\(S, S, 1\) grey faces"):
        KerasRuntime(flat)


def test_convnet_stage_depths_and_patchify_stem() -> None:
    """``convs_per_stage`` per stage and a 2x2 stride-2 stem (the fast student's shape) build and run."""
    arch = {**TINY_ARCH, "widths": [4, 8, 8], "convs_per_stage": [1, 2, 1], "patchify_stem": 1}
    model = build_model(arch, 7)
    assert model.get_layer("stem").strides == (2, 2) and model.get_layer("s1c1") is not None
    assert KerasRuntime(model).probabilities(np.zeros((2, 48, 48, 1), np.float32)).shape == (2, 7)
    with pytest.raises(ValueError, match=r"convs_per_stage must be a number >= 1 or one per stage \(3\)"):
        build_model({**arch, "convs_per_stage": [1, 2]}, 7)


def test_resnet_blocks_start_as_identity_and_run_through_a_saved_folder(tmp_path: Path) -> None:
    """The ``resnet`` architecture: projections where the shape changes, zero-initialised residual branches,
    and a trained-looking model gives the same probabilities from the Keras model and from its saved folder."""
    from conftest import tiny_config
    from emotionkit import EmotionRecognizer
    from emotionkit.model_files import write_model_folder
    from emotionkit.preprocessing import prepare_faces

    arch = {"name": "resnet", "input_size": 48, "widths": [4, 8], "blocks_per_stage": [1, 2], "dropout": 0.0}
    fresh = build_model(arch, 7)
    names = {layer.name for layer in fresh.layers}
    assert {"stem", "s0b0_sum", "s1b0_proj", "s1b1_sum"} <= names
    assert "s0b0_proj" not in names and "s1b1_proj" not in names  # shapes match there: identity shortcuts
    probe = keras.Model(fresh.input, [fresh.get_layer("s1b0_proj_bn").output, fresh.get_layer("s1b0_relu").output])
    shortcut, out = (keras.ops.convert_to_numpy(t) for t in probe(np.random.rand(2, 48, 48, 1).astype("float32")))
    np.testing.assert_allclose(out, np.maximum(shortcut, 0), atol=1e-6)  # a fresh block passes its shortcut on
    assert out.shape == (2, 24, 24, 8)  # the second stage halves the resolution
    with pytest.raises(ValueError, match=r"blocks_per_stage must be a number >= 1 or one per stage \(2\)"):
        build_model({**arch, "blocks_per_stage": [1, 0]}, 7)
    with pytest.raises(ValueError, match="no pretrained backbone weights"):
        build_model(arch, 7, backbone_weights="imagenet.h5")

    model = _model_with_trained_batchnorm(4, arch)
    faces = np.random.default_rng(1).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    expected = KerasRuntime(model).probabilities(prepare_faces(faces, 48))
    assert np.ptp(expected, axis=0).max() > 1e-3  # the faces get different outputs
    folder = write_model_folder(model, tiny_config(arch), tmp_path / "resnet")
    got = EmotionRecognizer.from_pretrained(folder, runtime="keras", flip_tta=False).predict_faces(faces)
    np.testing.assert_allclose([list(p.probabilities.values()) for p in got], expected, atol=1e-5)
