"""Shared fixtures: a tiny model folder built in the test session, shared-data paths, media."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Keras writes keras.json under KERAS_HOME on first import: keep it out of the user's home.
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="emotionkit-keras-home-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from emotionkit.data_paths import shared_root
from emotionkit.labels import EMOTIONS

TESTS = Path(__file__).parent
ASTRONAUT = TESTS / "data" / "astronaut.png"
CAMERA = TESTS / "data" / "camera.png"
TINY_ARCH = {"name": "convnet", "input_size": 48, "widths": [4, 8], "convs_per_stage": 1, "dropout": 0.0}


def shared(*parts: str) -> Path:
    """A path under the shared data folder; fails (never skips) when it is missing."""
    path = shared_root().joinpath(*parts)
    if not path.exists():
        pytest.fail(f"shared data missing: {path} (set EMOTIONKIT_DATA to the shared/ folder)")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny convnet saved as a model folder."""
    import keras

    from emotionkit.model_files import default_preprocessing, write_model_folder
    from emotionkit.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model(TINY_ARCH, len(EMOTIONS))
    config = {
        "architecture": TINY_ARCH,
        "labels": list(EMOTIONS),
        "preprocessing": default_preprocessing(48),
    }
    return write_model_folder(model, config, tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_recognizer(tiny_model_dir: Path):
    from emotionkit import EmotionRecognizer

    return EmotionRecognizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="session")
def bundled():
    from emotionkit import EmotionRecognizer

    return EmotionRecognizer.from_pretrained()


@pytest.fixture()
def astronaut_bgr() -> np.ndarray:
    import cv2

    image = cv2.imread(str(ASTRONAUT), cv2.IMREAD_COLOR)
    assert image is not None
    return image
