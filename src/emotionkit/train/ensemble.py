"""Combine trained model folders into one ensemble model folder (probabilities averaged)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    for key in ("labels", "preprocessing"):
        if any(c[key] != configs[0][key] for c in configs[1:]):
            raise ValueError(f"the model folders disagree on {key!r}: {[c[key] for c in configs]}")
    architecture = {
        "name": "ensemble",
        "input_size": configs[0]["preprocessing"]["input_size"],
        "members": [c["architecture"] for c in configs],
    }
    model = build_model(architecture, len(configs[0]["labels"]))
    for i, path in enumerate(paths):
        model.get_layer(f"member{i}").load_weights(str(path / WEIGHTS_NAME))
    config = {
        "architecture": architecture,
        "labels": configs[0]["labels"],
        "preprocessing": configs[0]["preprocessing"],
        "training": {"members": [c.get("training", {}) for c in configs], **(training or {})},
    }
    for key in ("emotionkit_version", "datasets"):
        if key in configs[0]:
            config[key] = configs[0][key]
    return write_model_folder(model, config, output)
