"""Ensembles: the architecture averages its members, model folders combine, and the result loads and personalises."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_ARCH, tiny_config
from emotionkit.labels import EMOTIONS

OTHER_ARCH = {**TINY_ARCH, "widths": [6, 10]}


def _member_folder(arch: dict[str, object], seed: int, folder: Path) -> Path:
    import keras

    from emotionkit.model_files import write_model_folder
    from emotionkit.models import build_model

    keras.utils.set_random_seed(seed)
    return write_model_folder(build_model(arch, len(EMOTIONS)), tiny_config(arch), folder)


def _faces(n: int = 5) -> np.ndarray:
    return np.random.default_rng(3).random((n, 48, 48, 1)).astype("float32")


def test_ensemble_architecture_averages_members_and_concatenates_features() -> None:
    from keras.ops import convert_to_numpy

    from emotionkit.models import build_model, feature_model

    a, b = build_model(TINY_ARCH, 7), build_model(OTHER_ARCH, 7)
    ensemble = build_model({"name": "ensemble", "members": [TINY_ARCH, OTHER_ARCH]}, 7)
    ensemble.get_layer("member0").set_weights(a.get_weights())
    ensemble.get_layer("member1").set_weights(b.get_weights())
    x = _faces()
    expected = (convert_to_numpy(a(x)) + convert_to_numpy(b(x))) / 2
    np.testing.assert_allclose(convert_to_numpy(ensemble(x)), expected, atol=1e-6)
    features = convert_to_numpy(feature_model(ensemble)(x))
    np.testing.assert_allclose(features[:, :8], convert_to_numpy(feature_model(a)(x)), atol=1e-6)
    assert features.shape == (5, 8 + 10)

    with pytest.raises(ValueError, match="at least 2 members"):
        build_model({"name": "ensemble", "members": [TINY_ARCH]}, 7)
    with pytest.raises(ValueError, match="share one input_size"):
        build_model({"name": "ensemble", "members": [TINY_ARCH, {**TINY_ARCH, "input_size": 64}]}, 7)


def test_combined_folder_loads_and_matches_its_members(tmp_path: Path) -> None:
    from emotionkit import EmotionRecognizer
    from emotionkit.train.ensemble import combine_model_folders

    first = _member_folder(TINY_ARCH, 1, tmp_path / "a")
    second = _member_folder(OTHER_ARCH, 2, tmp_path / "b")
    out = combine_model_folders([first, second], tmp_path / "ens", {"note": "test"})
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == {"name": "ensemble", "input_size": 48, "members": [TINY_ARCH, OTHER_ARCH]}
    assert config["training"]["note"] == "test" and len(config["training"]["members"]) == 2

    crops = [(np.random.default_rng(i).random((60, 50, 3)) * 255).astype(np.uint8) for i in range(3)]
    members = [EmotionRecognizer.from_pretrained(p) for p in (first, second)]
    ensemble = EmotionRecognizer.from_pretrained(out)

    def probabilities(recognizer: EmotionRecognizer) -> np.ndarray:
        return np.array([list(p.probabilities.values()) for p in recognizer.predict_faces(crops)])

    expected = np.mean([probabilities(m) for m in members], axis=0)
    got = probabilities(ensemble)
    np.testing.assert_allclose(got, expected, atol=1e-5)

    # personalisation works on top of an ensemble (its features are the members' concatenated)
    me = ensemble.personalize(crops, ["happy", "sad", "happy"], crops=True, validation_split=0.0)
    assert len(me.predict_faces(crops)) == 3
    unchanged = ensemble.personalize(crops, ["happy", "sad", "happy"], crops=True, strength=0.0)
    np.testing.assert_allclose(probabilities(unchanged), got, atol=1e-5)  # the base weights were carried over

    with pytest.raises(ValueError, match="at least 2"):
        combine_model_folders([first], tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="missing/config.json not found; a model folder holds"):
        combine_model_folders([first, tmp_path / "missing"], tmp_path / "x")
    (tmp_path / "c").mkdir()
    other = json.loads((second / "config.json").read_text())
    other["labels"] = list(reversed(EMOTIONS))
    _member_folder(OTHER_ARCH, 2, tmp_path / "c")
    (tmp_path / "c" / "config.json").write_text(json.dumps(other))
    with pytest.raises(ValueError, match="disagree on 'labels'"):
        combine_model_folders([first, tmp_path / "c"], tmp_path / "x")
