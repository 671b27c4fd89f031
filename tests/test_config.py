"""The typed model config: validated once when read, errors name config.json and the field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emotionkit.config import ARCHITECTURE_NAMES, ModelConfig, Preprocessing
from emotionkit.errors import EmotionkitError, InvalidModelError
from emotionkit.labels import EMOTIONS

VALID = {
    "format_version": 2,
    "architecture": {"name": "convnet", "input_size": 48, "widths": [4]},
    "labels": list(EMOTIONS),
    "preprocessing": {"face_margin": 0.09, "face_shift_y": -0.09},
    "inference": {"flip_tta": False},
}


def test_round_trip_keeps_every_field() -> None:
    config = ModelConfig.from_dict({**VALID, "metrics": {"a": {"type": "accuracy", "value": 0.5}}, "datasets": ["x"]})
    again = ModelConfig.from_json(config.to_json())
    assert again == config
    assert config.input_size == 48
    assert config.preprocessing == Preprocessing(0.09, -0.09)


def test_input_is_not_modified_and_config_holds_copies() -> None:
    data = json.loads(json.dumps(VALID))
    config = ModelConfig.from_dict(data)
    data["architecture"]["input_size"] = 96
    assert config.input_size == 48 and data == {**VALID, "architecture": {**VALID["architecture"], "input_size": 96}}


def test_version_1_files_are_read_and_their_dead_fields_dropped() -> None:
    old = {**VALID, "format_version": 1}
    old["preprocessing"] = {"input_size": 48, "color": "gray", "scale": [0.0, 1.0], "face_margin": 0.1}
    config = ModelConfig.from_dict(old)
    assert config.preprocessing == Preprocessing(0.1, 0.0)
    assert set(config.to_dict()["preprocessing"]) == {"face_margin", "face_shift_y"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"labels": ["happy", "happy", "sad"]}, "labels"),
        ({"inference": {"flip_tta": "false"}}, "inference.flip_tta"),
        ({"architecture": {"name": "convnet", "input_size": -48}}, "architecture.input_size"),
        ({"architecture": {"name": "resnet9000", "input_size": 48}}, "architecture.name"),
        ({"preprocessing": None}, "preprocessing"),
        ({"preprocessing": {"face_margin": "wide", "face_shift_y": 0}}, "preprocessing.face_margin"),
        ({"preprocessing": {"face_margin": 0.1}}, "preprocessing.face_shift_y"),
        ({"colour": "grey"}, "colour"),
        ({"format_version": 99}, "format_version"),
        ({"files": {"model.weights.h5": "abc"}}, "files.model.weights.h5"),
        ({"architecture": {"name": "ensemble", "input_size": 48, "members": [{"name": "convnet"}]}}, "members"),
        ({"preprocessing": {"face_margin": float("nan"), "face_shift_y": 0}}, "preprocessing.face_margin"),
        ({"training": {"history": [{"val_accuracy": float("nan")}]}}, r"training\.history\[0\]\.val_accuracy"),
        ({"metrics": {"acc": {"value": float("inf")}}}, r"metrics\.acc\.value"),
        ({"architecture": {"name": "convnet", "input_size": 48, "dropout": float("nan")}}, "architecture.dropout"),
    ],
)
def test_invalid_fields_name_the_file_and_the_field(change: dict, field: str) -> None:
    with pytest.raises(InvalidModelError, match=rf"my/config\.json: .*{field}"):
        ModelConfig.from_dict({**VALID, **change}, "my/config.json")


@pytest.mark.parametrize("missing", ["preprocessing", "labels", "architecture", "format_version"])
def test_missing_fields_are_named(missing: str) -> None:
    data = {k: v for k, v in VALID.items() if k != missing}
    with pytest.raises(InvalidModelError, match=f"field '{missing}' is missing"):
        ModelConfig.from_dict(data, "config.json")


def test_a_list_instead_of_an_object_is_refused() -> None:
    with pytest.raises(InvalidModelError, match="config.json must hold a JSON object, not a list"):
        ModelConfig.from_json("[1, 2]")
    assert issubclass(InvalidModelError, ValueError) and issubclass(InvalidModelError, EmotionkitError)


def test_code_built_configs_are_validated_too() -> None:
    with pytest.raises(InvalidModelError, match="labels"):
        ModelConfig({"name": "convnet", "input_size": 48}, ("happy", "happy"))
    with pytest.raises(InvalidModelError, match="flip_tta"):
        ModelConfig({"name": "convnet", "input_size": 48}, ("a", "b"), flip_tta="yes")  # type: ignore[arg-type]


def test_nan_never_reaches_a_written_config_json() -> None:
    """JSON has no NaN: strict parsers (browsers, the Hub's viewers) refuse a file that holds one."""
    with pytest.raises(InvalidModelError, match=r"training\.best_val_accuracy.*finite"):
        ModelConfig({"name": "convnet", "input_size": 48}, ("a", "b"), training={"best_val_accuracy": float("nan")})
    with pytest.raises(InvalidModelError, match="must be a finite number"):
        ModelConfig.from_json(
            '{"format_version": 2, "architecture": {"name": "convnet", "input_size": 48}, '
            '"labels": ["a", "b"], "preprocessing": {"face_margin": 0, "face_shift_y": 0}, '
            '"personalized": {"accuracy": NaN}}'
        )
    config = ModelConfig({"name": "convnet", "input_size": 48}, ("a", "b"), training={"best_epoch": None})
    assert json.loads(config.to_json(), parse_constant=pytest.fail)["training"] == {"best_epoch": None}


def test_architecture_names_match_the_builders() -> None:
    from emotionkit.models import ARCHITECTURES

    assert set(ARCHITECTURE_NAMES) == set(ARCHITECTURES)


def _saved_folder(tmp_path: Path, data: object) -> Path:
    from emotionkit.model_files import WEIGHTS_NAME

    folder = tmp_path / "m"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(data))
    (folder / WEIGHTS_NAME).write_bytes(b"x")
    return folder


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**VALID, "labels": ["a", "a"]}, "labels"),
        ({**VALID, "inference": {"flip_tta": "false"}}, "inference.flip_tta"),
        ({k: v for k, v in VALID.items() if k != "preprocessing"}, "preprocessing"),
    ],
)
def test_from_pretrained_reports_bad_configs_with_the_path(tmp_path: Path, data: dict, field: str) -> None:
    from emotionkit import EmotionRecognizer

    folder = _saved_folder(tmp_path, data)
    with pytest.raises(InvalidModelError, match=rf"{folder / 'config.json'}: field '{field}"):
        EmotionRecognizer.from_pretrained(folder)
    folder = _saved_folder(tmp_path / "list", [1, 2])
    with pytest.raises(InvalidModelError, match="must hold a JSON object"):
        EmotionRecognizer.from_pretrained(folder)


def test_saved_folder_records_the_weights_sha256_and_refuses_corruption(tiny_recognizer, tmp_path: Path) -> None:
    """Probe: 4 KB of noise in the middle of a saved model.weights.h5 is refused at load, naming the file."""
    from emotionkit import EmotionRecognizer
    from emotionkit.model_files import WEIGHTS_NAME, sha256_file

    folder = tiny_recognizer.save_pretrained(tmp_path / "saved")
    config = json.loads((folder / "config.json").read_text())
    assert config["files"] == {WEIGHTS_NAME: sha256_file(folder / WEIGHTS_NAME)}
    assert EmotionRecognizer.from_pretrained(folder).labels == EMOTIONS
    data = bytearray((folder / WEIGHTS_NAME).read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    (folder / WEIGHTS_NAME).write_bytes(bytes(data))
    with pytest.raises(InvalidModelError, match=rf"{WEIGHTS_NAME} has sha256 .* corrupt"):
        EmotionRecognizer.from_pretrained(folder)
