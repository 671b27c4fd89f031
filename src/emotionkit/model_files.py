"""Read and write a model folder: ``config.json`` + a model file (+ ``README.md``).

The model file is ``model.weights.h5`` (Keras), or ``model.onnx`` / ``model.tflite``
written by [`emotionkit.export`][emotionkit.export]; a folder may hold several (see
[`emotionkit.runtimes`][emotionkit.runtimes]). The folder never holds pickles or code: the
architecture is rebuilt from ``config.json`` (a [`ModelConfig`][emotionkit.config.ModelConfig]) by
[`emotionkit.models.build_model`][emotionkit.models.build_model] and only tensors are read from
the HDF5 weights file. When a folder is written, the sha256 of its model file is
recorded in ``config.json`` (``files``); when it is read, the file is checked
against it, so a corrupted or replaced weights file is refused with an error
that names it instead of loading silently.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emotionkit.config import FORMAT_VERSION, ModelConfig, Preprocessing
from emotionkit.errors import InvalidModelError, ModelNotFoundError
from emotionkit.runtimes import MODEL_FILES, ClassifierRuntime

__all__ = [
    "CARD_NAME",
    "CONFIG_NAME",
    "FER_FACE_MARGIN",
    "FER_FACE_SHIFT_Y",
    "FER_PREPROCESSING",
    "FORMAT_VERSION",
    "WEIGHTS_NAME",
    "check_files",
    "load_model",
    "read_config",
    "sha256_file",
    "verify_files",
    "write_config",
    "write_model_folder",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.h5"
CARD_NAME = "README.md"

FER_FACE_MARGIN = 0.09
"""Margin of the crop framing that reproduces FER-2013's faces from BlazeFace boxes.

Measured on 300 PublicTest faces: the box is 84% of the image side and its centre
8% of the side below the image centre.
"""
FER_FACE_SHIFT_Y = -0.09
"""Vertical shift of that framing (see [`FER_FACE_MARGIN`][emotionkit.model_files.FER_FACE_MARGIN])."""
FER_PREPROCESSING = Preprocessing(FER_FACE_MARGIN, FER_FACE_SHIFT_Y)
"""The framing of models trained on FER-2013."""


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a file.

    Args:
        path: The file.

    Returns:
        64 hex digits.

    Examples:
        >>> len(sha256_file(__file__))
        64
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_config(folder: str | Path) -> ModelConfig:
    """Read and validate a model folder's ``config.json``.

    Args:
        folder: The model folder.

    Returns:
        The validated config.

    Raises:
        FileNotFoundError: If the config is missing, or the folder holds no model file.
        emotionkit.errors.InvalidModelError: If the config is not valid JSON, or a field is
            unknown, missing or invalid (the message names the file and the field).

    Examples:
        >>> read_config("my-model").labels  # doctest: +SKIP
        ('angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise')
    """
    folder = Path(folder)
    path = folder / CONFIG_NAME
    model_files = [folder / name for name in MODEL_FILES.values()]
    if not path.is_file() or not any(f.is_file() for f in model_files):
        missing = path if not path.is_file() else folder / WEIGHTS_NAME
        raise FileNotFoundError(
            f"{missing} not found; a model folder holds {CONFIG_NAME} and a model file "
            f"({', '.join(MODEL_FILES.values())})"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidModelError(f"{path} is not UTF-8 text: {exc}") from None
    return ModelConfig.from_json(text, str(path))


def write_config(folder: str | Path, config: ModelConfig) -> Path:
    """Write ``config.json`` into ``folder``, creating it.

    Args:
        folder: The model folder.
        config: The config.

    Returns:
        The path written.

    Examples:
        >>> write_config("my-model", config)  # doctest: +SKIP
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONFIG_NAME
    path.write_text(config.to_json(), encoding="utf-8")
    return path


def check_files(folder: str | Path, sums: Mapping[str, str], source: str) -> None:
    """Check files against expected sha256 sums.

    Args:
        folder: The folder holding the files.
        sums: ``{file name: sha256 hex}``.
        source: What recorded the sums, for messages (a config file, a preset).

    Raises:
        emotionkit.errors.ModelNotFoundError: If a listed file is missing.
        emotionkit.errors.InvalidModelError: If a file's sha256 differs from the expected one.

    Examples:
        >>> check_files(".", {}, "nothing")
    """
    folder = Path(folder)
    for name, expected in sums.items():
        path = folder / name
        if not path.is_file():
            raise ModelNotFoundError(f"{path} not found; {source} lists it")
        actual = sha256_file(path)
        if actual != expected:
            raise InvalidModelError(
                f"{path} has sha256 {actual}, but {source} records {expected}: the file is corrupt or was "
                "replaced (download or save the model again)"
            )


def verify_files(folder: str | Path, config: ModelConfig) -> None:
    """Check the files of a model folder against the sha256 sums recorded in its config.

    Folders written before sums were recorded (emotionkit 0.1) have none and pass.

    Args:
        folder: The model folder.
        config: Its config.

    Raises:
        emotionkit.errors.ModelNotFoundError: If a recorded file is missing.
        emotionkit.errors.InvalidModelError: If a file's sha256 differs from the recorded one.

    Examples:
        >>> verify_files("my-model", read_config("my-model"))  # doctest: +SKIP
    """
    check_files(folder, config.files, str(Path(folder) / CONFIG_NAME))


def write_model_folder(model: Any, config: ModelConfig, folder: str | Path) -> Path:
    """Write the model file and ``config.json`` (with the file's sha256) into ``folder``.

    Args:
        model: A Keras classifier (written as ``model.weights.h5``) or a runtime
            ([`ClassifierRuntime`][emotionkit.runtimes.ClassifierRuntime]), which writes its own file.
        config: Its config (any ``files`` entry is replaced by the new sum).
        folder: Destination, created if needed; existing files are overwritten.

    Returns:
        The folder.

    Examples:
        >>> write_model_folder(model, config, "my-model")  # doctest: +SKIP
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".writing-") as tmp:  # no half-written file under the name
        if isinstance(model, ClassifierRuntime):
            name = model.save(Path(tmp))
        else:
            name = WEIGHTS_NAME
            model.save_weights(str(Path(tmp) / name), overwrite=True)
        os.replace(Path(tmp) / name, folder / name)
    write_config(folder, config.replace(files={name: sha256_file(folder / name)}))
    return folder


def load_model(folder: str | Path, config: ModelConfig | None = None, *, verified: bool = False) -> Any:
    """Build the Keras model of a model folder and load its checked weights.

    Args:
        folder: The model folder.
        config: Its config (read from the folder when ``None``).
        verified: The caller has already checked the weights file's sha256 (skip it here).

    Returns:
        The Keras model.

    Raises:
        FileNotFoundError: If a file is missing.
        emotionkit.errors.InvalidModelError: If the config is invalid, a file fails its sha256
            check, or the weights do not fit the architecture.
        ImportError: If no Keras backend is installed (the message says what to install).

    Examples:
        >>> model = load_model("my-model")  # doctest: +SKIP
    """
    from emotionkit.backend import import_keras

    import_keras()
    from emotionkit.models import build_model

    folder = Path(folder)
    if config is None:
        config = read_config(folder)
    if not verified and WEIGHTS_NAME in config.files:
        check_files(folder, {WEIGHTS_NAME: config.files[WEIGHTS_NAME]}, str(folder / CONFIG_NAME))
    try:
        model = build_model(config.architecture, len(config.labels))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidModelError(f"{folder / CONFIG_NAME}: field 'architecture' cannot be built: {exc}") from None
    try:
        model.load_weights(str(folder / WEIGHTS_NAME))
    except Exception as exc:  # h5py/Keras raise many types for bad files
        raise InvalidModelError(
            f"cannot load {folder / WEIGHTS_NAME} into the architecture of {folder / CONFIG_NAME}: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    return model
