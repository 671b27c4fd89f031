"""Integration tests of the real bundled model on real faces (read from the shared data at run time)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT, TESTS, shared
from emotionkit import EMOTIONS, EmotionRecognizer
from emotionkit.hub import DEFAULT_PRESET, PRESETS, resolve_model, sha256_file
from emotionkit.train.data import load_fer2013_folder
from emotionkit.train.evaluate import evaluate, predict_probabilities

REFERENCE = TESTS / "data" / "reference_top1.json"


def private_sample(n: int, seed: int = 0):
    return load_fer2013_folder(shared("data", "fer2013"), "PrivateTest").sample(n, seed)


def test_bundled_files_match_the_registered_sha256() -> None:
    folder = resolve_model()
    preset = PRESETS[DEFAULT_PRESET]
    for name, digest in preset.sha256.items():
        assert sha256_file(folder / name) == digest
    config = json.loads((folder / "config.json").read_text())
    assert sorted(config["files"]) == ["model.onnx", "model.weights.h5"]  # the preset's config records them
    for name, digest in config["files"].items():
        assert sha256_file(folder / name) == digest
    assert config["labels"] == list(EMOTIONS)
    assert (folder / "README.md").read_text().startswith("---\nlibrary_name: emotionkit")


def test_astronaut_is_happy(bundled: EmotionRecognizer) -> None:
    faces = bundled.predict(ASTRONAUT)
    assert len(faces) == 1 and faces[0].label == "happy"


@pytest.mark.data
def test_accuracy_on_a_fixed_privatetest_sample(bundled: EmotionRecognizer) -> None:
    """The training issue's bound: at least 68% on this fixed sample (the shipped ensemble measures 69.9% here,
    69.16% on all of PrivateTest)."""
    report = evaluate(bundled, private_sample(1000), name="PrivateTest sample")
    assert report.accuracy >= 0.68, report.to_markdown()


@pytest.mark.data
def test_train_and_serve_preprocessing_agree(bundled: EmotionRecognizer) -> None:
    """The training loader path and the public predict_faces on the colour file give the same numbers."""
    sample = private_sample(40, seed=1)
    from_loader = predict_probabilities(bundled, sample.images)
    colour = [cv2.imread(p, cv2.IMREAD_COLOR) for p in sample.paths]
    from_api = np.array([list(p.probabilities.values()) for p in bundled.predict_faces(colour)])
    np.testing.assert_allclose(from_loader, from_api, atol=1e-5)


@pytest.mark.data
def test_same_top1_as_the_tensorflow_reference(bundled: EmotionRecognizer) -> None:
    """The released weights give the same answers on every backend (reference written with TensorFlow)."""
    reference = json.loads(REFERENCE.read_text())
    assert reference["weights_sha256"] == bundled.config.files["model.weights.h5"], (
        "reference is stale: run tools/make_reference.py"
    )
    root = shared("data", "fer2013")
    images = [cv2.imread(str(root / p), cv2.IMREAD_GRAYSCALE) for p in reference["paths"]]
    probs = predict_probabilities(bundled, images)
    top1 = probs.argmax(1)
    agree = [t == r or m < 1e-3 for t, r, m in zip(top1, reference["top1"], reference["margins"])]
    assert all(agree), f"{agree.count(False)} of {len(agree)} faces changed label"
    np.testing.assert_allclose(probs.max(1), reference["top1_prob"], atol=2e-3)


@pytest.mark.data
def test_end_to_end_on_jaffe_photos(bundled: EmotionRecognizer) -> None:
    """Detection finds a face in every jaffe-dev photo (real, uncropped 256x256 portraits)."""
    photos = sorted(shared("data", "jaffe-dev").glob("*/*.png"))
    results = bundled.predict(photos)
    assert all(len(r) >= 1 for r in results)
    accuracy = np.mean([r[0].label == p.parent.name for r, p in zip(results, photos)])
    assert accuracy > 1 / 7, "better than chance on posed expressions of unseen people"


@pytest.mark.parametrize("path", [Path("does-not-exist.png")])
def test_cli_predict_on_real_photo_and_missing_file(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from emotionkit.cli import main

    out = tmp_path / "annotated.png"
    assert main(["predict", str(ASTRONAUT), "--json", "--annotate", str(out)]) == 0
    line = json.loads(capsys.readouterr().out.strip())
    assert line["faces"][0]["label"] == "happy" and cv2.imread(str(out)) is not None
    assert main(["predict", "--sample"]) == 0
    assert "happy" in capsys.readouterr().out
    assert main(["predict", str(path)]) == 1
    assert "image file not found" in capsys.readouterr().err
    assert main(["predict", str(ASTRONAUT), "--model", "no/such-model-here"]) == 2


@pytest.fixture(scope="module")
def keras_on_2000_faces(bundled: EmotionRecognizer) -> tuple[np.ndarray | list[np.ndarray], np.ndarray]:
    """A fixed 2,000-face PrivateTest sample and the bundled model's probabilities on it (Keras, computed once)."""
    faces = private_sample(2000).images
    return faces, bundled.classify(faces)


@pytest.mark.data
@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_exported_runtimes_agree_with_keras_on_2000_private_test_faces(
    bundled: EmotionRecognizer,
    keras_on_2000_faces: tuple[np.ndarray | list[np.ndarray], np.ndarray],
    fmt: str,
    tmp_path: Path,
) -> None:
    """Same top-1 on at least 99.5% of a fixed 2,000-face PrivateTest sample, probabilities within 1e-3.

    ONNX: the bundled ``model.onnx``; LiteRT: exported here. Runs on every Keras backend.
    """
    pytest.importorskip("onnxruntime" if fmt == "onnx" else "ai_edge_litert", reason=f"the {fmt} runtime is missing")
    folder = resolve_model() if fmt == "onnx" else bundled.export(tmp_path / "litert", format="litert")
    exported = EmotionRecognizer.from_pretrained(folder, runtime=fmt)
    faces, want = keras_on_2000_faces
    got = exported.classify(faces)
    assert len(faces) == 2000 and exported.runtime.format == fmt
    assert float(np.mean(want.argmax(1) == got.argmax(1))) >= 0.995
    assert float(np.abs(want - got).max()) <= 1e-3
