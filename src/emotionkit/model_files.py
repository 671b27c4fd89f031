"""Read and write a model folder: ``config.json`` + ``model.weights.h5`` (+ ``README.md``).

The folder never holds pickles or code: the architecture is rebuilt from
``config.json`` by :func:`emotionkit.models.build_model` and only tensors are
read from the HDF5 weights file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "CARD_NAME",
    "FORMAT_VERSION",
    "read_config",
    "write_config",
    "default_preprocessing",
    "write_model_folder",
    "FER_FACE_MARGIN",
    "FER_FACE_SHIFT_Y",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.h5"
CARD_NAME = "README.md"
FORMAT_VERSION = 1


def read_config(folder: str | Path) -> dict[str, Any]:
    """Read and validate a model folder's ``config.json``.

    Args:
        folder: The model folder.

    Returns:
        The parsed config.

    Raises:
        FileNotFoundError: If the config or weights file is missing.
        ValueError: If the config is not valid JSON or lacks required keys.

    Examples:
        >>> read_config("my-model")["labels"]  # doctest: +SKIP
        ['angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise']
    """
    folder = Path(folder)
    path = folder / CONFIG_NAME
    for needed in (path, folder / WEIGHTS_NAME):
        if not needed.is_file():
            raise FileNotFoundError(f"{needed} not found; a model folder holds {CONFIG_NAME} and {WEIGHTS_NAME}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(config).__name__}")
    missing = [k for k in ("architecture", "labels", "preprocessing") if k not in config]
    if missing:
        raise ValueError(f"{path} lacks the key(s) {', '.join(missing)}")
    version = config.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has format_version {version!r}; this emotionkit reads up to {FORMAT_VERSION}: upgrade emotionkit"
        )
    labels = config["labels"]
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise ValueError(f"{path}: 'labels' must be a list of at least 2 class names, got {labels!r}")
    return config


def write_config(folder: str | Path, config: dict[str, Any]) -> Path:
    """Write ``config.json`` (sorted keys, indented) into ``folder``, creating it.

    Args:
        folder: The model folder.
        config: The config; ``format_version`` is added when absent.

    Returns:
        The path written.

    Examples:
        >>> write_config("my-model", {"architecture": {}, "labels": [], "preprocessing": {}})  # doctest: +SKIP
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"format_version": FORMAT_VERSION, **config}
    path = folder / CONFIG_NAME
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


#: Crop framing that reproduces FER-2013's faces from BlazeFace boxes (measured on 300 PublicTest faces:
#: the box is 84% of the image side and its centre 8% of the side below the image centre).
FER_FACE_MARGIN = 0.09
FER_FACE_SHIFT_Y = -0.09


def default_preprocessing(
    input_size: int, face_margin: float = FER_FACE_MARGIN, face_shift_y: float = FER_FACE_SHIFT_Y
) -> dict[str, Any]:
    """The ``preprocessing`` block of a config: how faces are framed and scaled.

    Args:
        input_size: Model input side in pixels.
        face_margin: Border added around a detected face box (fraction of its side).
        face_shift_y: Vertical shift of the crop centre (fraction of the box side; negative is up).

    Returns:
        A dictionary for ``config["preprocessing"]``.

    Examples:
        >>> default_preprocessing(48, 0.1)["color"]
        'gray'
    """
    return {
        "input_size": int(input_size),
        "color": "gray",
        "scale": [0.0, 1.0],
        "face_margin": float(face_margin),
        "face_shift_y": float(face_shift_y),
    }


def write_model_folder(model: Any, config: dict[str, Any], folder: str | Path) -> Path:
    """Write ``config.json`` and ``model.weights.h5`` of a Keras model into ``folder``.

    Args:
        model: The Keras classifier.
        config: Its config (``architecture``, ``labels``, ``preprocessing``, ...).
        folder: Destination, created if needed.

    Returns:
        The folder.

    Examples:
        >>> write_model_folder(model, config, "my-model")  # doctest: +SKIP
    """
    folder = Path(folder)
    write_config(folder, config)
    model.save_weights(str(folder / WEIGHTS_NAME))
    return folder
