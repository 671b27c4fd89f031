"""Backend-agnostic training-time augmentation built from Keras preprocessing layers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
from keras import layers

__all__ = ["DEFAULT_AUGMENTATION", "build_augmentation"]

DEFAULT_AUGMENTATION: dict[str, float] = {
    "flip": 1.0,  # horizontal flip on (1) or off (0)
    "rotation": 0.04,  # fraction of a full turn (0.04 = +-14 degrees)
    "translation": 0.1,  # fraction of the side
    "zoom": 0.15,  # +- fraction
    "contrast": 0.3,
    "brightness": 0.2,
    "erasing": 0.0,  # probability of erasing a random rectangle (2-25% of the face), off by default
}
"""Default augmentation strengths (all inputs are grey faces scaled to [0, 1])."""


def build_augmentation(settings: Mapping[str, float] | None = None, seed: int | None = None) -> keras.Sequential:
    """Build the augmentation stage that runs before the classifier during training only.

    Args:
        settings: Strengths overriding
            [`DEFAULT_AUGMENTATION`][emotionkit.train.augment.DEFAULT_AUGMENTATION]; a value
            of 0 switches that transform off. Unknown keys raise.
        seed: Random seed for reproducible augmentation.

    Returns:
        A Sequential model (identity at inference time).

    Raises:
        ValueError: If a key is unknown or a strength is negative.

    Examples:
        >>> aug = build_augmentation({"rotation": 0.0})
        >>> [layer.name for layer in aug.layers][:1]
        ['aug_flip']
    """
    cfg = dict(DEFAULT_AUGMENTATION)
    for key, value in (settings or {}).items():
        if key not in DEFAULT_AUGMENTATION:
            raise ValueError(f"unknown augmentation {key!r}; known: {', '.join(DEFAULT_AUGMENTATION)}")
        if float(value) < 0:
            raise ValueError(f"augmentation strength {key}={value} must be >= 0")
        cfg[key] = float(value)
    stack: list[layers.Layer] = []
    if cfg["flip"]:
        stack.append(layers.RandomFlip("horizontal", seed=seed, name="aug_flip"))
    if cfg["rotation"]:
        stack.append(layers.RandomRotation(cfg["rotation"], fill_mode="reflect", seed=seed, name="aug_rotation"))
    if cfg["translation"]:
        t = cfg["translation"]
        stack.append(layers.RandomTranslation(t, t, fill_mode="reflect", seed=seed, name="aug_translation"))
    if cfg["zoom"]:
        stack.append(layers.RandomZoom(cfg["zoom"], fill_mode="reflect", seed=seed, name="aug_zoom"))
    if cfg["contrast"]:
        stack.append(layers.RandomContrast(cfg["contrast"], value_range=(0, 1), seed=seed, name="aug_contrast"))
    if cfg["brightness"]:
        stack.append(
            layers.RandomBrightness(cfg["brightness"], value_range=(0.0, 1.0), seed=seed, name="aug_brightness")
        )
    if cfg["erasing"]:
        if cfg["erasing"] > 1:
            raise ValueError(f"augmentation erasing={cfg['erasing']} is a probability and must be <= 1")
        chance = (cfg["erasing"], cfg["erasing"])  # a single number would draw the probability from [0, p]
        erasing = layers.RandomErasing(chance, scale=(0.02, 0.25), value_range=(0, 1), seed=seed, name="aug_erasing")
        stack.append(erasing)
    return keras.Sequential(stack, name="augmentation")


def describe(settings: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Return the effective augmentation settings (defaults merged with ``settings``).

    Args:
        settings: Overrides.

    Returns:
        The merged settings.

    Examples:
        >>> describe({"zoom": 0.0})["zoom"]
        0.0
    """
    return {**DEFAULT_AUGMENTATION, **{k: float(v) for k, v in (settings or {}).items()}}
