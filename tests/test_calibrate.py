"""Class-bias calibration: the fitted offsets, the calibrated folder's outputs, the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emotionkit.train.calibrate import apply_class_bias, calibrate_model_folder, fit_class_bias
from emotionkit.train.data import load_fer2013_folder


def test_offsets_undo_a_shifted_prior_and_stay_zero_when_nothing_helps() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 4000)
    logits = rng.normal(0, 1, (4000, 4)) + 2.0 * np.eye(4)[labels]
    fair = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    shifted = fair * np.array([1.0, 1.0, 0.2, 1.0])  # class 2 made five times rarer, as a FER+ target does to fear
    shifted /= shifted.sum(1, keepdims=True)
    bias = fit_class_bias(shifted, labels)
    before = np.mean(shifted.argmax(1) == labels)
    after = np.mean((np.log(shifted) + bias).argmax(1) == labels)
    assert after > before + 0.03
    assert bias[2] - np.delete(bias, 2).mean() == pytest.approx(np.log(5), abs=0.45)
    perfect = np.eye(4)[labels] * 0.9 + 0.025
    np.testing.assert_array_equal(fit_class_bias(perfect, labels), np.zeros(4))


@pytest.mark.parametrize(
    ("probabilities", "labels", "kwargs", "message"),
    [
        (np.ones((3, 2)), np.zeros(2), {}, r"need \(N, K\) probabilities and N labels"),
        (np.ones((0, 2)), np.zeros(0), {}, "N > 0"),
        (np.ones((3, 2)), np.zeros(3), {"step": 0}, "limit and step must be > 0"),
    ],
)
def test_bad_input_is_refused(probabilities: np.ndarray, labels: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_class_bias(probabilities, labels, **kwargs)


def test_applied_offsets_are_a_softmax_of_shifted_logs_over_any_leading_shape() -> None:
    rng = np.random.default_rng(1)
    probabilities = rng.dirichlet(np.ones(5), size=(3, 4))  # (views, faces, classes), as a view member stores
    kept = probabilities.copy()
    bias = np.array([0.5, -0.2, 0.0, 1.0, -1.5])
    shifted = apply_class_bias(probabilities, bias)
    logits = np.log(probabilities) + bias
    np.testing.assert_allclose(shifted, np.exp(logits) / np.exp(logits).sum(-1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(probabilities, kept)  # the input is not modified
    np.testing.assert_allclose(apply_class_bias(probabilities, np.zeros(5)), probabilities, rtol=1e-12)
    with pytest.raises(ValueError, match=r"need one offset per class \(\(5,\)\), got bias of shape \(4,\)"):
        apply_class_bias(probabilities, np.zeros(4))


def test_the_calibrated_folder_outputs_the_shifted_probabilities(
    tiny_model_dir: Path, fer_folder: Path, tmp_path: Path, capsys
) -> None:
    from emotionkit import EmotionRecognizer
    from emotionkit.train.cli import main as train_main

    before_files = {p.name: p.read_bytes() for p in tiny_model_dir.iterdir() if p.is_file()}
    public = load_fer2013_folder(fer_folder, "PublicTest")
    done = calibrate_model_folder(tiny_model_dir, public, tmp_path / "cal", name="tiny PublicTest")
    assert {p.name: p.read_bytes() for p in tiny_model_dir.iterdir() if p.is_file()} == before_files  # untouched
    assert done.accuracy_after >= done.accuracy_before and len(done.bias) == 7
    original = EmotionRecognizer.from_pretrained(tiny_model_dir, runtime="keras").classify(list(public.images))
    calibrated = EmotionRecognizer.from_pretrained(done.folder, runtime="keras").classify(list(public.images))
    expected = original * np.exp(done.bias)
    np.testing.assert_allclose(calibrated, expected / expected.sum(1, keepdims=True), atol=1e-5)
    record = json.loads((done.folder / "config.json").read_text())["training"]["calibration"]
    assert record["fit_on"] == "tiny PublicTest" and record["accuracy"] == [done.accuracy_before, done.accuracy_after]

    capsys.readouterr()
    out = tmp_path / "cli"
    assert train_main(["calibrate", str(tiny_model_dir), str(out), "--data", str(fer_folder)]) == 0
    assert "PublicTest accuracy" in capsys.readouterr().out and (out / "config.json").is_file()
    with pytest.raises(SystemExit):  # the reported split is not a choice
        train_main(["calibrate", str(tiny_model_dir), str(out), "--data", str(fer_folder), "--split", "PrivateTest"])
    assert "invalid choice: 'PrivateTest'" in capsys.readouterr().err


def test_ensembles_and_other_classes_are_refused(tiny_model_dir: Path, fer_folder: Path, tmp_path: Path) -> None:
    from emotionkit.train.ensemble import combine_model_folders

    ensemble = combine_model_folders([tiny_model_dir, tiny_model_dir], tmp_path / "ens")
    public = load_fer2013_folder(fer_folder, "PublicTest")
    with pytest.raises(ValueError, match="no final 'head_logits' layer: calibrate single networks"):
        calibrate_model_folder(ensemble, public, tmp_path / "out")
    renamed = type(public)(public.images, public.labels, tuple(f"c{i}" for i in range(7)), public.paths)
    with pytest.raises(ValueError, match="the data has classes"):
        calibrate_model_folder(tiny_model_dir, renamed, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_recipe_can_calibrate_the_model_it_trains(fer_folder: Path, tmp_path: Path) -> None:
    from conftest import TINY_ARCH
    from emotionkit.train.cli import main as train_main

    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"architecture": TINY_ARCH, "epochs": 1, "head_epochs": 0, "calibrate": True}))
    args = ["--recipe", str(recipe), "--data", str(fer_folder), "--run-dir", str(tmp_path / "r"), "--verbose", "0"]
    assert train_main([*args, "--output", str(tmp_path / "m")]) == 0
    training = json.loads((tmp_path / "m" / "config.json").read_text())["training"]
    assert training["calibration"]["fit_on"] == "validation split" and len(training["calibration"]["class_bias"]) == 7
    recipe.write_text(json.dumps({"architecture": TINY_ARCH, "calibrate": "yes"}))
    assert train_main([*args, "--output", str(tmp_path / "m2")]) == 2
