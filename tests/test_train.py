"""Training helpers on tiny data written by the tests: loaders, trainer (with resume), reports, CLIs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import TINY_ARCH, shared, tiny_config
from emotionkit.labels import EMOTIONS
from emotionkit.train.augment import build_augmentation
from emotionkit.train.data import (
    FaceDataset,
    class_weights,
    load_fer2013_csv,
    load_fer2013_folder,
    load_ferplus_votes,
    load_image_folder,
    mix_ferplus_votes,
)


def test_fer_folder_loader_splits_by_prefix(fer_folder: Path) -> None:
    train = load_fer2013_folder(fer_folder, "Training")
    public = load_fer2013_folder(fer_folder, "PublicTest")
    assert len(train) == 42 and len(public) == 14
    assert isinstance(train.images, np.ndarray) and train.images.shape == (42, 48, 48)
    assert train.counts() == {name: 6 for name in EMOTIONS}
    assert all("PublicTest_" in p for p in public.paths)


def test_fer_folder_loader_errors(fer_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="FER-2013 folder not found"):
        load_fer2013_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown FER-2013 split"):
        load_fer2013_folder(fer_folder, "Validation")
    (fer_folder / "train" / "joy").mkdir()
    with pytest.raises(ValueError, match="unknown class folder"):
        load_fer2013_folder(fer_folder, "Training")
    (fer_folder / "train" / "joy").rmdir()
    (fer_folder / "train" / "sad" / "Training_bad.jpg").write_text("not a jpeg")
    with pytest.raises(ValueError, match="Training_bad.jpg"):
        load_fer2013_folder(fer_folder, "Training")


def test_fer_csv_loader(tmp_path: Path) -> None:
    path = tmp_path / "fer2013.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["emotion", "pixels", "Usage"])
        for code in range(7):
            writer.writerow([code, " ".join(["7"] * 2304), "Training"])
        writer.writerow([3, " ".join(["9"] * 2304), "PrivateTest"])
    train = load_fer2013_csv(path, "Training")
    # CSV codes 0..6 are angry, disgust, fear, happy, sad, surprise, neutral
    assert [EMOTIONS[i] for i in train.labels] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert load_fer2013_csv(path, "PrivateTest").images.shape == (1, 48, 48)
    with path.open("a", newline="") as fh:
        csv.writer(fh).writerow([1, "1 2 3", "Training"])
    with pytest.raises(ValueError, match="data row 8 has 3 pixels"):
        load_fer2013_csv(path, "Training")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks the column"):
        load_fer2013_csv(bad)


def test_ferplus_votes_become_soft_labels(fer_folder: Path) -> None:
    public = load_fer2013_folder(fer_folder, "PublicTest")
    votes = fer_folder / "ferplus.csv"
    cols = [
        "path",
        "split",
        "neutral",
        "happiness",
        "surprise",
        "sadness",
        "anger",
        "disgust",
        "fear",
        "contempt",
        "unknown",
        "NF",
    ]
    with votes.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(cols)
        first = "/".join(Path(public.paths[0]).parts[-3:])
        writer.writerow([first, "PublicTest", 6, 4, 0, 0, 0, 0, 0, 0, 0, 0])
    soft = load_ferplus_votes(public, votes).soft_labels
    assert soft is not None
    assert soft[0, EMOTIONS.index("neutral")] == pytest.approx(0.6)
    assert soft[0, EMOTIONS.index("happy")] == pytest.approx(0.4)
    assert soft[1, public.labels[1]] == 1.0  # no votes: one-hot of the FER-2013 label

    mixed = mix_ferplus_votes(public, votes, 0.5)
    label = public.labels[0]
    expected = 0.5 * np.eye(7)[label] + 0.5 * soft[0]
    np.testing.assert_allclose(mixed.targets()[0], expected, atol=1e-6)
    assert public.soft_labels is None and mix_ferplus_votes(public, votes, 0.0) is public
    with pytest.raises(ValueError, match=r"ferplus weight must be in \[0, 1\]"):
        mix_ferplus_votes(public, votes, 1.5)


@pytest.mark.data
def test_real_ferplus_file_aligns_with_the_shared_data() -> None:
    root = shared("data", "fer2013")
    sample = load_fer2013_folder(root, "PrivateTest").subset(range(0, 3589, 97))
    soft = load_ferplus_votes(sample, root / "ferplus.csv").soft_labels
    assert soft is not None and np.allclose(soft.sum(1), 1.0)
    assert (soft.max(1) < 1.0).any(), "real votes are spread over several classes"


def test_image_folder_loader(tmp_path: Path) -> None:
    for name in ("happy", "sad"):
        (tmp_path / "me" / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "me" / name / "a.png"), np.zeros((60, 50), np.uint8))
    ds = load_image_folder(tmp_path / "me")
    assert ds.classes == EMOTIONS and sorted(EMOTIONS[i] for i in ds.labels) == ["happy", "sad"]
    (tmp_path / "me" / "bored").mkdir()
    with pytest.raises(ValueError, match="holds no image"):
        load_image_folder(tmp_path / "me", classes=["happy", "sad", "bored"])
    with pytest.raises(ValueError, match="unknown class folder"):
        load_image_folder(tmp_path / "me", classes=["happy", "sad"])


def test_class_weights_lift_rare_classes() -> None:
    labels = np.array([0] * 90 + [1] * 10)
    w = class_weights(labels, 3)
    assert w[1] > w[0] and w[2] == 0.0
    assert class_weights(labels, 2, power=0.0) == {0: 1.0, 1: 1.0}


def test_augmentation_is_identity_at_inference_and_random_in_training() -> None:
    aug = build_augmentation(seed=1)
    x = np.random.default_rng(0).random((4, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(aug(x, training=False)), x, atol=1e-6)
    assert not np.allclose(np.asarray(aug(x, training=True)), x)
    with pytest.raises(ValueError, match="unknown augmentation"):
        build_augmentation({"blur": 1.0})


def test_random_erasing_blanks_rectangles_only_in_training() -> None:
    only = {k: 0.0 for k in ("flip", "rotation", "translation", "zoom", "contrast", "brightness")}
    aug = build_augmentation({**only, "erasing": 1.0}, seed=3)
    x = np.full((8, 48, 48, 1), 0.5, np.float32)
    erased = np.asarray(aug(x, training=True)) != 0.5
    assert all(0.0 < share <= 0.3 for share in erased.mean(axis=(1, 2, 3)))  # one rectangle of 2-25% per face
    np.testing.assert_array_equal(np.asarray(aug(x, training=False)), x)
    with pytest.raises(ValueError, match="erasing=1.5 is a probability"):
        build_augmentation({"erasing": 1.5})


def test_train_resume_and_report(fer_folder: Path, tmp_path: Path) -> None:
    from emotionkit import EmotionRecognizer
    from emotionkit.model_files import write_model_folder
    from emotionkit.train.evaluate import evaluate, save_report
    from emotionkit.train.trainer import TrainConfig, train

    train_ds = load_fer2013_folder(fer_folder, "Training")
    val_ds = load_fer2013_folder(fer_folder, "PublicTest")
    config = TrainConfig(architecture=dict(TINY_ARCH), batch_size=14, epochs=2, head_epochs=0, learning_rate=0.01)
    run = tmp_path / "run"
    first = train(config, train_ds, val_ds, run, verbose=0)
    rows = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1]
    assert (run / "best.weights.h5").is_file() and 0.0 <= first.best_val_accuracy <= 1.0

    # resume: a longer schedule continues from the backup instead of starting again
    config.epochs = 3
    second = train(config, train_ds, val_ds, run, verbose=0)
    rows = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert len(second.history) == 3

    folder = write_model_folder(
        second.model,
        tiny_config(),
        tmp_path / "model",
    )
    rec = EmotionRecognizer.from_pretrained(folder)
    report = evaluate(rec, load_fer2013_folder(fer_folder, "PrivateTest"), name="PrivateTest")
    assert report.images == 14 and len(report.confusion) == 7
    assert sum(map(sum, report.confusion)) == 14
    assert report.accuracy == pytest.approx(np.trace(np.array(report.confusion)) / 14)
    tta = evaluate(rec, load_fer2013_folder(fer_folder, "PrivateTest"), flip_tta=True, name="PrivateTest")
    written = save_report([report, tta], tmp_path / "report", history=second.history)
    names = sorted(p.name for p in written)
    assert names == ["confusion.png", "confusion_tta.png", "curves.png", "report.json", "report.md"]
    assert cv2.imread(str(tmp_path / "report" / "curves.png")) is not None
    assert "| happy |" in (tmp_path / "report" / "report.md").read_text()


def test_two_stage_training_freezes_then_unfreezes_backbone(fer_folder: Path, tmp_path: Path) -> None:
    from emotionkit.train.trainer import TrainConfig, train

    # MobileNet v1 0.25: the shortest ImageNet backbone (two stages compile twice, slowly on JAX); same code path as v2
    arch = {"name": "mobilenet", "input_size": 48, "backbone_size": 32, "alpha": 0.25, "bn_momentum": 0.9}
    config = TrainConfig(architecture=arch, batch_size=14, epochs=1, head_epochs=1)
    ds = load_fer2013_folder(fer_folder, "Training")
    result = train(config, ds, load_fer2013_folder(fer_folder, "PublicTest"), tmp_path / "run", verbose=0)
    stages = [r["stage"] for r in result.history]
    assert stages == ["head", "finetune"]
    assert (tmp_path / "run" / "head.weights.h5").is_file()
    assert result.model.get_layer("backbone").trainable


def test_mobilenet_v1_builds_and_is_a_bank_architecture(tmp_path: Path) -> None:
    import keras

    from emotionkit import EmotionRecognizer
    from emotionkit.model_files import write_model_folder
    from emotionkit.models import build_model, default_architecture_config
    from emotionkit.preprocessing import prepare_faces

    arch = {**default_architecture_config("mobilenet"), "backbone_size": 32}
    model = build_model(arch, 7)
    assert model.get_layer("backbone").output.shape[-1] == 256  # v1 0.25: 1024 * 0.25 features
    rng = np.random.default_rng(0)
    # small BatchNorm variances amplify each layer: with its initial statistics the output is the same for any face
    model.set_weights(
        [
            np.full(w.shape, 0.03) if "moving_variance" in w.path else keras.ops.convert_to_numpy(w)
            for w in model.weights
        ]
    )
    crops = rng.integers(0, 256, (3, 48, 48), dtype=np.uint8)
    expected = keras.ops.convert_to_numpy(model(prepare_faces(crops, 48), training=False))
    assert np.ptp(expected, axis=0).max() > 0.01  # the faces get different outputs
    folder = write_model_folder(model, tiny_config(arch), tmp_path / "v1")
    got = EmotionRecognizer.from_pretrained(folder, runtime="keras", flip_tta=False).predict_faces(crops)
    np.testing.assert_allclose([list(p.probabilities.values()) for p in got], expected, atol=1e-5)


@pytest.mark.data
def test_mobilenet_v1_loads_the_shared_imagenet_weights() -> None:
    import h5py

    from emotionkit.models import build_model

    path = shared("weights", "mobilenet_2_5_224_tf_no_top.h5")
    model = build_model({"name": "mobilenet", "input_size": 48, "backbone_size": 128, "alpha": 0.25}, 7, str(path))
    with h5py.File(path, "r") as f:
        stored = np.asarray(f["conv1"]["conv1"]["kernel:0"])  # the file keeps Keras 2's layer names
    np.testing.assert_array_equal(model.get_layer("backbone").get_layer("conv1").get_weights()[0], stored)


def test_train_and_evaluate_clis(fer_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from emotionkit.train.cli import main as train_main
    from emotionkit.train.evaluate import main as evaluate_main

    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"architecture": TINY_ARCH, "epochs": 1, "head_epochs": 0, "batch_size": 14}))
    out = tmp_path / "model"
    assert (
        train_main(
            [
                "--recipe",
                str(recipe),
                "--data",
                str(fer_folder),
                "--run-dir",
                str(tmp_path / "r"),
                "--output",
                str(out),
                "--verbose",
                "0",
            ]
        )
        == 0
    )
    config = json.loads((out / "config.json").read_text())
    assert config["labels"] == list(EMOTIONS) and config["training"]["train_images"] == 42
    assert (
        evaluate_main([str(out), str(fer_folder), "--split", "PrivateTest", "--tta", "--output", str(tmp_path / "rep")])
        == 0
    )
    printed = capsys.readouterr().out
    assert "accuracy (7 classes)" in printed and "flip TTA" in printed
    assert train_main(["--recipe", "nope", "--output", str(out)]) == 2
    assert evaluate_main([str(out), str(tmp_path / "missing")]) == 2


def test_weight_averaging_of_the_last_epochs(fer_folder: Path, tmp_path: Path) -> None:
    from emotionkit.train.trainer import TrainConfig, train

    arch = {**TINY_ARCH, "dropout": 0.0}
    config = TrainConfig(architecture=arch, batch_size=14, epochs=3, head_epochs=0, average_last_epochs=2)
    run = tmp_path / "run"
    train_ds, val_ds = load_fer2013_folder(fer_folder, "Training"), load_fer2013_folder(fer_folder, "PublicTest")
    result = train(config, train_ds, val_ds, run, verbose=0)
    assert result.averaged_epochs == (1, 2)
    assert sorted(p.name for p in (run / "epochs").iterdir()) == ["epoch_001.weights.h5", "epoch_002.weights.h5"]
    assert result.averaged_val_accuracy is not None and 0.0 <= result.averaged_val_accuracy <= 1.0
    assert result.best_val_accuracy is not None and result.best_epoch in (0, 1, 2)
    assert result.selected == ("average" if result.averaged_val_accuracy >= result.best_val_accuracy else "best_epoch")

    # the averaged weights are the mean of the saved epochs (BatchNorm statistics aside)
    import keras

    from emotionkit.models import build_model

    snapshots = []
    for name in ("epoch_001.weights.h5", "epoch_002.weights.h5"):
        model = build_model(arch, 7)
        model.load_weights(str(run / "epochs" / name))
        snapshots.append(model.get_layer("head_logits").get_weights()[0])
    if result.selected == "average":
        np.testing.assert_allclose(
            result.model.get_layer("head_logits").get_weights()[0], np.mean(snapshots, axis=0), atol=1e-6
        )
    assert isinstance(result.model, keras.Model)


def test_a_final_fit_trains_on_the_validation_images_and_validates_nothing(fer_folder: Path, tmp_path: Path) -> None:
    from emotionkit.train.trainer import TrainConfig, train

    train_ds, val_ds = load_fer2013_folder(fer_folder, "Training"), load_fer2013_folder(fer_folder, "PublicTest")
    config = TrainConfig(
        architecture=dict(TINY_ARCH), batch_size=14, epochs=2, head_epochs=0, average_last_epochs=2, patience=0
    )
    config.train_on_validation = True
    with pytest.raises(ValueError, match="train_on_validation trains without validation data"):
        train(config, train_ds, val_ds, tmp_path / "no", verbose=0)
    with pytest.raises(ValueError, match="any other recipe needs val_data"):
        train(TrainConfig(architecture=dict(TINY_ARCH)), train_ds, None, tmp_path / "no", verbose=0)
    assert not (tmp_path / "no").exists()  # checked before anything is written

    joined = train_ds.concatenate(val_ds)
    result = train(config, joined, None, tmp_path / "run", verbose=0)
    rows = [json.loads(x) for x in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    # patience 0 would have stopped a validated run after its first epoch: nothing validates here, so nothing stops
    assert [r["epoch"] for r in rows] == [0, 1] and not any("val_accuracy" in r for r in rows)
    assert result.selected == "average" and result.averaged_epochs == (0, 1)
    assert result.best_epoch is None and result.best_val_accuracy is None and result.averaged_val_accuracy is None
    assert not (tmp_path / "run" / "best.weights.h5").exists()

    config.average_last_epochs = 0
    assert train(config, joined, None, tmp_path / "last", verbose=0).selected == "last_epoch"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"train_on_validation": "yes"}, "train_on_validation must be true or false"),
        ({"train_on_validation": True, "calibrate": True}, "no validation images to calibrate on"),
        ({"train_on_validation": True, "ensemble": [{"seed": 1}]}, "drop calibrate and ensemble"),
    ],
)
def test_a_final_fit_recipe_is_checked(tmp_path: Path, extra: dict[str, object], message: str) -> None:
    from emotionkit.train.trainer import TrainConfig

    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"architecture": TINY_ARCH, **extra}))
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_file(path)


def test_branched_convnet_folds_into_the_plain_network_with_the_same_outputs() -> None:
    import keras

    from emotionkit.models import build_model, fuse_branches

    arch = {
        "name": "convnet",
        "input_size": 48,
        "patchify_stem": 1,
        "widths": [8, 16, 24],
        "convs_per_stage": [1, 2, 2],
        "separable_from_stage": 2,
        "head_units": 16,
        "branches": True,
    }
    model = build_model(arch, 7)
    names = {layer.name for layer in model.layers}
    assert {"s0c0_1x1", "s0c0_id_bn", "s1c0_1x1", "s1c1_id_bn"} <= names  # the stride-2 block has no identity
    assert "s1c0_id_bn" not in names and "s2c1_1x1" not in names  # nor does a separable convolution branch
    rng = np.random.default_rng(0)
    for layer in model.layers:  # trained-looking BatchNorm statistics, so every fold is exercised
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.get_weights()[0].shape
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, shape),
                    rng.normal(0, 0.3, shape),
                    rng.normal(0, 0.3, shape),
                    rng.uniform(0.5, 2, shape),
                ]
            )
    faces = rng.random((6, 48, 48, 1)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    plain, plain_arch = fuse_branches(model, arch)
    assert plain_arch == {k: v for k, v in arch.items() if k != "branches"} and arch["branches"] is True
    assert not any(name.endswith(("_1x1", "_id_bn", "_sum")) for name in (layer.name for layer in plain.layers))
    assert plain.count_params() == build_model(plain_arch, 7).count_params()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(plain(faces)), keras.ops.convert_to_numpy(model(faces)), atol=2e-6
    )
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # the trained model is untouched
    same, same_arch = fuse_branches(plain, plain_arch)
    assert same is plain and same_arch == plain_arch
    with pytest.raises(ValueError, match="'branches' must be true or false, got 'yes'"):
        build_model({**arch, "branches": "yes"}, 7)
    with pytest.raises(ValueError, match="only 'convnet' architectures have branches to fuse, got 'mobilenetv2'"):
        fuse_branches(model, {"name": "mobilenetv2", "branches": True})
    with pytest.raises(ValueError, match="does not match its architecture config"):
        fuse_branches(build_model({**arch, "widths": [8, 16, 32]}, 7), arch)


def test_a_branched_recipe_saves_the_plain_network(fer_folder: Path, tmp_path: Path) -> None:
    from emotionkit import EmotionRecognizer
    from emotionkit.train.cli import main as train_main

    # 16 channels into the stride-2 1x1 branch: with fewer, oneDNN's 1x1 backward-weights kernel (PyTorch on CPU,
    # channels-last) writes past its workspace and hangs or crashes at random (uxlfoundation/oneDNN#6035); it hung
    # this test for CI's whole time limit on a 2-core AVX2 machine.
    arch = {**TINY_ARCH, "widths": [16, 16], "branches": True}
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"architecture": arch, "epochs": 1, "head_epochs": 0, "batch_size": 14}))
    out = tmp_path / "model"
    argv = ["--recipe", str(recipe), "--data", str(fer_folder), "--run-dir", str(tmp_path / "r"), "--output", str(out)]
    assert train_main([*argv, "--verbose", "0"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == {**TINY_ARCH, "widths": [16, 16]}  # what inference builds: the plain network
    assert config["training"]["recipe"]["architecture"]["branches"] is True  # what was trained
    probs = EmotionRecognizer.from_pretrained(out).classify(np.zeros((2, 48, 48), np.uint8))
    assert probs.shape == (2, 7) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_reestimate_batchnorm_moves_statistics_towards_the_data() -> None:
    from emotionkit.models import build_model
    from emotionkit.train.trainer import reestimate_batchnorm

    model = build_model(TINY_ARCH, 7)
    bn = model.get_layer("s0c0_bn")
    images = np.full((128, 48, 48, 1), 0.9, np.float32)
    before = np.asarray(bn.moving_mean).copy()
    reestimate_batchnorm(model, images, batches=50, batch_size=32)
    assert not np.allclose(np.asarray(bn.moving_mean), before)
    assert bn.momentum == pytest.approx(0.99)  # restored


def test_reestimate_batchnorm_runs_batches_of_one_size() -> None:
    # a shorter remainder batch would skew the statistics (and on JAX compile every op again for its shape)
    import keras

    from emotionkit.train.trainer import reestimate_batchnorm

    class BatchSizes(keras.layers.Layer):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[int] = []

        def call(self, x):  # type: ignore[no-untyped-def]
            self.seen.append(x.shape[0])  # None while Keras builds the model symbolically
            return x

    sizes = BatchSizes()
    model = keras.Sequential([keras.Input((48, 48, 1)), sizes, keras.layers.BatchNormalization()])
    sizes.seen.clear()
    reestimate_batchnorm(model, np.zeros((42, 48, 48, 1), np.float32), batches=5, batch_size=16)
    assert sizes.seen == [16] * 5
    sizes.seen.clear()
    reestimate_batchnorm(model, np.zeros((10, 48, 48, 1), np.float32), batches=3, batch_size=16)
    assert sizes.seen == [10] * 3


def test_ensemble_recipe_trains_each_member_once(fer_folder: Path, tmp_path: Path) -> None:
    from emotionkit.train.cli import main as train_main

    recipe = tmp_path / "recipe.json"
    members = [{"seed": 1}, {"seed": 2, "architecture": {**TINY_ARCH, "widths": [6, 10]}}]
    recipe.write_text(
        json.dumps({"architecture": TINY_ARCH, "epochs": 1, "head_epochs": 0, "batch_size": 14, "ensemble": members})
    )
    args = ["--recipe", str(recipe), "--data", str(fer_folder), "--run-dir", str(tmp_path / "r"), "--verbose", "0"]
    assert train_main([*args, "--output", str(tmp_path / "ens")]) == 0
    config = json.loads((tmp_path / "ens" / "config.json").read_text())
    assert config["architecture"]["name"] == "ensemble"
    assert config["architecture"]["members"][1]["widths"] == [6, 10]
    assert [m["recipe"]["seed"] for m in config["training"]["members"]] == [1, 2]
    stamp = (tmp_path / "r" / "member0-model" / "model.weights.h5").stat().st_mtime_ns
    assert train_main([*args, "--output", str(tmp_path / "ens2")]) == 0  # members exist: combined again only
    assert (tmp_path / "r" / "member0-model" / "model.weights.h5").stat().st_mtime_ns == stamp
    # --seed trains one model even from an ensemble recipe
    assert train_main([*args, "--seed", "5", "--run-dir", str(tmp_path / "one"), "--output", str(tmp_path / "m")]) == 0
    assert json.loads((tmp_path / "m" / "config.json").read_text())["architecture"]["name"] == "convnet"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"architecture": TINY_ARCH, "ensemble": [{"sede": 1}]}))
    assert train_main(["--recipe", str(bad), "--output", str(tmp_path / "x")]) == 2


@pytest.mark.data
@pytest.mark.parametrize("name", ["default", "distilled"])
def test_bundled_recipes_are_valid(name: str) -> None:
    from emotionkit.train.cli import resolve_recipe
    from emotionkit.train.trainer import TrainConfig

    recipe = TrainConfig.from_file(resolve_recipe(name))
    assert recipe.architecture["name"] == "mobilenetv2" and recipe.head_epochs > 0
    assert (shared("weights") / recipe.backbone_weights).is_file()  # type: ignore[operator]


def test_default_recipe_matches_the_bundled_model() -> None:
    """The bundled model's config records the recipe and members that ``--recipe default`` trains."""
    from emotionkit.hub import resolve_model
    from emotionkit.model_files import read_config
    from emotionkit.train.cli import resolve_recipe

    recipe = json.loads(resolve_recipe("default").read_text())
    trained = read_config(resolve_model()).training
    assert trained is not None
    assert [m["recipe"]["seed"] for m in trained["members"]] == [m["seed"] for m in recipe["ensemble"]]
    assert trained["recipe"]["ensemble"] == recipe["ensemble"]


def test_subset_and_counts_keep_alignment() -> None:
    ds = FaceDataset([np.zeros((3, 3), np.uint8), np.ones((4, 4), np.uint8)], np.array([1, 0]), ("a", "b"), ["x", "y"])
    sub = ds.subset([1])
    assert sub.paths == ["y"] and sub.labels.tolist() == [0] and sub.images[0].shape == (4, 4)


def test_concatenate_joins_images_labels_paths_and_targets() -> None:
    plain = FaceDataset(np.zeros((2, 4, 4), np.uint8), np.array([0, 1]), ("a", "b"), ["p0", "p1"])
    soft = np.array([[0.3, 0.7]], np.float32)
    voted = FaceDataset(np.ones((1, 4, 4), np.uint8), np.array([1]), ("a", "b"), ["q0"], soft)
    joined = plain.concatenate(voted)
    assert isinstance(joined.images, np.ndarray) and joined.images.shape == (3, 4, 4)
    assert joined.labels.tolist() == [0, 1, 1] and joined.paths == ["p0", "p1", "q0"]
    np.testing.assert_allclose(joined.targets(), [[1, 0], [0, 1], [0.3, 0.7]])  # one-hot rows where none were soft
    assert plain.soft_labels is None and len(plain) == 2  # the inputs are unchanged
    assert plain.concatenate(plain).soft_labels is None
    sizes = FaceDataset([np.zeros((3, 3), np.uint8)], np.array([0]), ("a", "b"), ["r0"])
    mixed = plain.concatenate(sizes)
    assert isinstance(mixed.images, list) and [i.shape for i in mixed.images] == [(4, 4), (4, 4), (3, 3)]
    with pytest.raises(ValueError, match="cannot join datasets of classes"):
        plain.concatenate(FaceDataset(np.zeros((1, 4, 4), np.uint8), np.array([0]), ("x", "y"), ["s"]))
    with pytest.raises(ValueError, match="with image paths and one without"):
        plain.concatenate(FaceDataset(np.zeros((1, 4, 4), np.uint8), np.array([0]), ("a", "b")))
