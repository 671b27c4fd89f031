"""Batch mixing (mixup, CutMix): the mixed targets match the mixed faces, inputs stay untouched, recipes validate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_ARCH
from emotionkit.train.mixing import MixedBatches, check_mixing, mix_batch


def _batch(n: int = 16, size: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Face i is filled with the value i / n, its target is one-hot on i % 4."""
    x = np.repeat((np.arange(n, dtype=np.float32) / n)[:, None, None, None], size * size, 1).reshape(n, size, size, 1)
    return x, np.eye(4, dtype=np.float32)[np.arange(n) % 4]


def test_mixup_mixes_faces_and_targets_in_the_same_proportion() -> None:
    x, y = _batch()
    x_before, y_before = x.copy(), y.copy()
    mx, my = mix_batch(x, y, check_mixing({"mixup": 0.4}), np.random.default_rng(3))
    np.testing.assert_array_equal(x, x_before)  # the inputs are not modified
    np.testing.assert_array_equal(y, y_before)
    assert mx.dtype == x.dtype and my.dtype == y.dtype and mx.shape == x.shape
    np.testing.assert_allclose(my.sum(1), 1.0, atol=1e-6)
    # every mixed face is constant: lam * own + (1 - lam) * partner, and one lam for the batch
    own = x[:, 0, 0, 0]
    values = mx[:, 0, 0, 0]
    np.testing.assert_allclose(mx, values[:, None, None, None] * np.ones_like(x), atol=1e-6)
    lam = my[np.arange(16), np.arange(16) % 4]  # the own class's share (a partner of the same class adds to it)
    changed = ~np.isclose(values, own)
    assert changed.any() and (lam < 1.0).any()


def test_cutmix_pastes_one_rectangle_and_mixes_targets_by_its_area() -> None:
    x, y = _batch(n=8, size=20)
    mx, my = mix_batch(x, y, check_mixing({"cutmix": 1.0}), np.random.default_rng(5))
    pasted = ~np.isclose(mx, x)  # pixels that came from the partner face
    share = pasted.mean(axis=(1, 2, 3))
    faces_with_partner = share > 0
    assert faces_with_partner.sum() >= 6  # a face paired with itself keeps its pixels
    same = pasted[faces_with_partner][0, ..., 0]
    rows, cols = np.where(same)
    assert same[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()  # one filled rectangle
    own = my[np.arange(8), np.arange(8) % 4]
    np.testing.assert_allclose(own[faces_with_partner], 1.0 - share[faces_with_partner], atol=1e-6)


def test_probability_zero_or_no_kind_returns_unmixed_copies() -> None:
    x, y = _batch()
    for settings in ({"mixup": 0.5, "probability": 0.0}, {}):
        mx, my = mix_batch(x, y, check_mixing(settings), np.random.default_rng(0))
        np.testing.assert_array_equal(mx, x)
        np.testing.assert_array_equal(my, y)
        assert mx is not x and my is not y


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"mixups": 0.2}, "unknown key 'mixups'"),
        ({"mixup": -0.1}, "mixup must be a number >= 0"),
        ({"cutmix": "1"}, "cutmix must be a number"),
        ({"probability": 1.5}, r"probability must be in \[0, 1\]"),
        ({"mixup": float("nan")}, "mixup must be a number"),
        ([0.2], "mixing must be an object"),
    ],
)
def test_bad_settings_are_refused(settings: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_mixing(settings)


def test_batches_cover_every_face_once_per_epoch_and_repeat_from_the_seed() -> None:
    x, y = _batch(n=10)
    batches = MixedBatches(x, y, 4, {"mixup": 0.0, "cutmix": 0.0}, seed=7)  # unmixed: rows are visible
    assert len(batches) == 3
    seen = np.concatenate([batches[i][0][:, 0, 0, 0] for i in range(len(batches))])
    np.testing.assert_allclose(np.sort(seen), x[:, 0, 0, 0])
    first_epoch = [batches[i][0] for i in range(3)]
    batches.on_epoch_end()
    assert any(not np.array_equal(a, batches[i][0]) for i, a in enumerate(first_epoch))  # reshuffled
    again = MixedBatches(x, y, 4, {"mixup": 0.3}, seed=7)
    twin = MixedBatches(x, y, 4, {"mixup": 0.3}, seed=7)
    np.testing.assert_array_equal(again[1][0], twin[1][0])
    with pytest.raises(IndexError, match="batch 3 out of range"):
        batches[3]
    with pytest.raises(ValueError, match="as many targets as faces"):
        MixedBatches(x, y[:3], 4, {})


def test_a_recipe_with_mixing_trains_and_bad_blocks_name_the_file(fer_folder: Path, tmp_path: Path) -> None:
    from emotionkit.train.data import load_fer2013_folder
    from emotionkit.train.trainer import TrainConfig, train

    recipe = tmp_path / "recipe.json"
    body = {"architecture": TINY_ARCH, "epochs": 2, "head_epochs": 0, "batch_size": 8}
    recipe.write_text(json.dumps({**body, "mixing": {"mixup": 0.2, "cutmix": 1.0}}))
    config = TrainConfig.from_file(recipe)
    assert config.mixing == {"mixup": 0.2, "cutmix": 1.0, "probability": 1.0}
    ds = load_fer2013_folder(fer_folder, "Training")
    result = train(config, ds, load_fer2013_folder(fer_folder, "PublicTest"), tmp_path / "run", verbose=0)
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 2 and all(np.isfinite(losses))
    recipe.write_text(json.dumps({**body, "mixing": {"mixup": -1}}))
    with pytest.raises(ValueError, match=r"recipe.json: mixing: mixup must be a number >= 0"):
        TrainConfig.from_file(recipe)
    recipe.write_text(json.dumps({**body, "ensemble": [{"seed": 1, "mixing": {"cut": 1}}]}))
    with pytest.raises(ValueError, match="unknown key 'cut'"):
        TrainConfig.from_file(recipe)
