"""The compiled forward pass of each backend computes what the Keras model computes."""

from __future__ import annotations

import keras
import numpy as np

from conftest import TINY_ARCH
from emotionkit.inference import MAX_BATCH, compile_forward
from emotionkit.models import build_model


def _model_with_trained_batchnorm(seed: int) -> keras.Model:
    """A tiny model whose BatchNorm layers hold non-trivial statistics, as a trained model's do."""
    keras.utils.set_random_seed(seed)
    model = build_model(TINY_ARCH, 7)
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


def test_a_forward_built_after_a_weight_change_uses_the_new_weights() -> None:
    model = _model_with_trained_batchnorm(seed=4)
    faces = np.random.default_rng(1).random((5, 48, 48, 1)).astype("float32")
    before = compile_forward(model)(faces)

    head = model.layers[-1]
    head.bias.assign(keras.ops.convert_to_numpy(head.bias) + np.arange(7, dtype="float32"))
    after = compile_forward(model)(faces)

    np.testing.assert_allclose(after, keras.ops.convert_to_numpy(model(faces, training=False)), atol=1e-5)
    assert np.abs(after - before).max() > 0.01
