"""Combine trained model folders into one ensemble model folder (probabilities averaged)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emotionkit.config import ModelConfig
from emotionkit.model_files import WEIGHTS_NAME, read_config, write_model_folder
from emotionkit.models import build_model

__all__ = ["combine_model_folders"]


def combine_model_folders(
    folders: Sequence[str | Path], output: str | Path, training: dict[str, Any] | None = None
) -> Path:
    """Write a model folder whose network averages the probabilities of the given models.

    The members must share labels and preprocessing (the same faces go into
    every member). The result loads like any model folder
    (``EmotionRecognizer.from_pretrained(output)``); its weights file holds all
    members' weights.

    Args:
        folders: Two or more model folders (``config.json`` + ``model.weights.h5``).
        output: Destination folder, created if needed.
        training: Optional description stored under ``"training"`` in the new config.

    Returns:
        The output folder.

    Raises:
        FileNotFoundError: If a folder is not a model folder.
        ValueError: If fewer than two folders are given, a config is invalid, or the
            members disagree on labels or preprocessing.

    Examples:
        >>> combine_model_folders(["runs/a/model", "runs/b/model"], "ensemble-model")  # doctest: +SKIP
    """
    paths = [Path(f) for f in folders]
    if len(paths) < 2:
        raise ValueError(f"an ensemble needs at least 2 model folders, got {len(paths)}")
    configs = [read_config(p) for p in paths]
    first = configs[0]
    for key in ("labels", "preprocessing", "input_size"):
        if any(getattr(c, key) != getattr(first, key) for c in configs[1:]):
            raise ValueError(f"the model folders disagree on {key!r}: {[getattr(c, key) for c in configs]}")
    architecture = {
        "name": "ensemble",
        "input_size": first.input_size,
        "members": [c.architecture for c in configs],
    }
    model = build_model(architecture, len(first.labels))
    for i, path in enumerate(paths):
        model.get_layer(f"member{i}").load_weights(str(path / WEIGHTS_NAME))
    config = ModelConfig(
        architecture=architecture,
        labels=first.labels,
        preprocessing=first.preprocessing,
        emotionkit_version=first.emotionkit_version,
        datasets=first.datasets,
        training={"members": [c.training or {} for c in configs], **(training or {})},
    )
    return write_model_folder(model, config, output)
