"""Knowledge distillation: target mixing, teacher predictions through the public path, and the recipe keys."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_ARCH
from emotionkit.labels import EMOTIONS
from emotionkit.train.data import FaceDataset, load_fer2013_folder
from emotionkit.train.distill import distillation_targets, teacher_probabilities
from test_ensemble import _member_folder


def _dataset(n: int = 4) -> FaceDataset:
    rng = np.random.default_rng(0)
    return FaceDataset(rng.integers(0, 255, (n, 48, 48), dtype=np.uint8), np.arange(n) % 7, EMOTIONS)


def test_targets_mix_labels_with_the_tempered_teacher() -> None:
    data = _dataset()
    teacher = np.random.default_rng(1).dirichlet(np.ones(7), size=len(data)).astype(np.float32)
    before = teacher.copy()
    out = distillation_targets(data, teacher, weight=0.6, temperature=2.0)
    tempered = np.sqrt(teacher) / np.sqrt(teacher).sum(axis=1, keepdims=True)
    expected = 0.4 * np.eye(7)[data.labels] + 0.6 * tempered
    np.testing.assert_allclose(out.soft_labels, expected, rtol=1e-5)  # type: ignore[arg-type]
    np.testing.assert_allclose(out.soft_labels.sum(axis=1), 1.0, rtol=1e-5)  # type: ignore[union-attr]
    assert data.soft_labels is None and np.array_equal(teacher, before)  # inputs untouched
    assert out.images is data.images and np.array_equal(out.labels, data.labels)
    # weight 0 keeps the labels (soft labels of the data if it has them)
    soft = distillation_targets(out, teacher, weight=0.0, temperature=1.0)
    np.testing.assert_allclose(soft.soft_labels, out.soft_labels)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("shape", "weight", "temperature", "message"),
    [((3, 7), 0.5, 1.0, "shape"), ((4, 7), 1.5, 1.0, "weight"), ((4, 7), 0.5, 0.0, "temperature")],
)
def test_targets_reject_bad_arguments(shape: tuple[int, int], weight: float, temperature: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        distillation_targets(_dataset(), np.full(shape, 1 / 7), weight, temperature)


def test_teacher_probabilities_average_teachers_and_mirror_images(tmp_path: Path) -> None:
    from emotionkit import EmotionRecognizer

    data = _dataset(5)
    folders = [_member_folder(TINY_ARCH, seed, tmp_path / f"t{seed}") for seed in (1, 2)]
    probs = teacher_probabilities(folders, data)
    assert probs.shape == (5, 7) and probs.dtype == np.float32
    expected = np.zeros((5, 7))
    for folder in folders:
        rec = EmotionRecognizer.from_pretrained(folder)
        for images in (data.images, data.images[:, :, ::-1]):
            expected += np.array([list(p.probabilities.values()) for p in rec.predict_faces(images)]) / 4
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    with pytest.raises(ValueError, match="at least one teacher"):
        teacher_probabilities([], data)
    wrong = FaceDataset(data.images, data.labels % 2, ("a", "b"))
    with pytest.raises(ValueError, match="predicts"):
        teacher_probabilities(folders[:1], wrong)


def test_recipe_distils_a_member_and_combines_a_subset(fer_folder: Path, tmp_path: Path) -> None:
    from emotionkit.train.cli import main as train_main

    members = [{"seed": 1}, {"seed": 2}, {"seed": 3, "distill_from": [0, 1], "distill_weight": 0.5}]
    recipe = tmp_path / "recipe.json"
    base = {"architecture": TINY_ARCH, "epochs": 1, "head_epochs": 0, "batch_size": 14}
    recipe.write_text(json.dumps({**base, "ensemble": members, "combine": [1, 2]}))
    args = ["--recipe", str(recipe), "--data", str(fer_folder), "--verbose", "0"]
    assert train_main([*args, "--run-dir", str(tmp_path / "r"), "--output", str(tmp_path / "ens")]) == 0
    config = json.loads((tmp_path / "ens" / "config.json").read_text())
    assert [m["recipe"]["seed"] for m in config["training"]["members"]] == [2, 3]
    assert config["training"]["members"][1]["recipe"]["distill_from"] == [0, 1]

    # --teacher distils one model from a model folder; a single combined member is copied as is
    one = tmp_path / "one.json"
    one.write_text(json.dumps({**base, "ensemble": members[:2], "combine": [1]}))
    out = tmp_path / "single"
    assert train_main(["--recipe", str(one), *args[2:], "--run-dir", str(tmp_path / "r"), "--output", str(out)]) == 0
    member1 = tmp_path / "r" / "member1-model" / "model.weights.h5"
    assert (out / "model.weights.h5").read_bytes() == member1.read_bytes()
    taught = tmp_path / "taught"
    run = ["--run-dir", str(tmp_path / "t"), "--output", str(taught), "--teacher", str(tmp_path / "ens")]
    assert train_main([*args, *run]) == 0
    taught_config = json.loads((taught / "config.json").read_text())
    assert taught_config["architecture"]["name"] == "convnet"
    assert taught_config["training"]["teachers"] == [str(tmp_path / "ens")]
    missing = ["--run-dir", str(tmp_path / "u"), "--output", str(tmp_path / "x"), "--teacher", str(tmp_path / "nope")]
    assert train_main([*args, *missing]) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"ensemble": [{"seed": 1, "distill_from": [0]}]}, "earlier members"),
        ({"ensemble": [{"seed": 1}, {"seed": 2, "distill_from": [1]}]}, "earlier members"),
        ({"distill_from": [0]}, "belongs in an ensemble member"),
        ({"ensemble": [{"seed": 1}], "combine": [1]}, "combine"),
        ({"ensemble": [{"seed": 1}], "combine": []}, "combine"),
        ({"ensemble": [{"seed": 1, "combine": [0]}]}, "nested"),
        ({"ferplus_weight": 1.5}, "ferplus_weight must be a number in"),
        ({"ensemble": [{"seed": 1, "ferplus_weight": "half"}]}, "ferplus_weight must be a number in"),
        ({"bank_teachers": "mnv2"}, "bank_teachers must be a list"),
        ({"bank_teachers": ["a"], "calibrate_teachers": 1}, "calibrate_teachers must be true or false"),
        ({"calibrate_teachers": True}, "calibrate_teachers needs bank_teachers"),
    ],
)
def test_recipe_rejects_bad_distillation_keys(tmp_path: Path, extra: dict[str, object], message: str) -> None:
    from emotionkit.train.trainer import TrainConfig

    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"architecture": TINY_ARCH, **extra}))
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_file(path)


def test_distilled_training_data_reaches_the_trainer(fer_folder: Path) -> None:
    """The targets the trainer fits (``FaceDataset.targets``) are the mixed soft labels, not the one-hot labels."""
    data = load_fer2013_folder(fer_folder, "Training")
    teacher = np.full((len(data), 7), 1 / 7, np.float32)
    np.testing.assert_allclose(distillation_targets(data, teacher, 1.0, 1.0).targets(), teacher, rtol=1e-6)
