"""Shared fixtures: a tiny model folder built in the test session, shared-data paths, media.

Tests that read data from outside the repository (FER-2013, jaffe-dev, the clip) are marked
``data`` and get their paths from [`shared`][]: it skips them with a one-line reason when the
data is absent, and fails them instead when ``EMOTIONKIT_REQUIRE_DATA=1`` (CI sets it).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Keras writes keras.json under KERAS_HOME on first import: keep it out of the user's home.
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="emotionkit-keras-home-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# On JAX, XLA compiles every new model and batch shape (seconds to minutes on a small CPU). A compilation cache on
# disk lets the example scripts, run in fresh processes, reuse what the test session (or an earlier one) compiled.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "emotionkit-tests-jax-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")

import cv2
import numpy as np
import pytest

from emotionkit.labels import EMOTIONS

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS.parent / "benchmarks"))
from shared_data import shared_root  # noqa: E402

ASTRONAUT = TESTS / "data" / "astronaut.png"
CAMERA = TESTS / "data" / "camera.png"
TINY_ARCH = {"name": "convnet", "input_size": 48, "widths": [4, 8], "convs_per_stage": 1, "dropout": 0.0}


def shared(*parts: str) -> Path:
    """A path under the shared data folder: skips when it is missing, fails if EMOTIONKIT_REQUIRE_DATA=1."""
    path = shared_root().joinpath(*parts)
    if not path.exists():
        reason = f"shared data missing: {path} (set EMOTIONKIT_DATA to the folder holding data/ and weights/)"
        if os.environ.get("EMOTIONKIT_REQUIRE_DATA") == "1":
            pytest.fail(reason + "; EMOTIONKIT_REQUIRE_DATA=1 forbids skipping")
        pytest.skip(reason)
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that load the real bundled model are ``slow`` (``-m "not slow"`` skips them day to day)."""
    for item in items:
        if "bundled" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny convnet saved as a model folder."""
    import keras

    from emotionkit.model_files import write_model_folder
    from emotionkit.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model(TINY_ARCH, len(EMOTIONS))
    return write_model_folder(model, tiny_config(), tmp_path_factory.mktemp("tiny") / "model")


def tiny_config(architecture: dict | None = None):
    """The ModelConfig of a tiny FER-2013-framed convnet."""
    from emotionkit.config import ModelConfig
    from emotionkit.model_files import FER_PREPROCESSING

    return ModelConfig(dict(architecture or TINY_ARCH), EMOTIONS, FER_PREPROCESSING)


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


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Write BGR ``frames`` (all one size) to an mp4 at ``path``; return ``path``."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (frames[0].shape[1], frames[0].shape[0]))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def synthetic_face(label: int, seed: int) -> np.ndarray:
    """A 48x48 synthetic 'face' whose pattern depends on the label, so a tiny model can learn it."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 40, (48, 48)).astype(np.uint8)
    cv2.circle(img, (8 + 5 * label, 24), 6, 255, -1)
    return img


@pytest.fixture()
def fer_folder(tmp_path: Path) -> Path:
    """A FER-2013 style folder with a few synthetic faces per class and split."""
    root = tmp_path / "fer"
    for split, sub, per_class in (("Training", "train", 6), ("PublicTest", "test", 2), ("PrivateTest", "test", 2)):
        for li, name in enumerate(EMOTIONS):
            folder = root / sub / name
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(per_class):
                cv2.imwrite(str(folder / f"{split}_{li}{k:03d}.jpg"), synthetic_face(li, hash((split, li, k)) % 1000))
    return root
