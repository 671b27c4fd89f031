"""Batch mixing for training: mixup and CutMix over the faces of a batch, targets mixed alike.

Mixing blends two faces into one training example and their target distributions
in the same proportion, so the network is taught "70% happy, 30% surprise" instead
of a hard label; on small, noisy datasets such as FER-2013 it regularises and makes
members of an ensemble differ from each other.

- **mixup**: ``x = lam * a + (1 - lam) * b`` over the whole face, ``lam ~ Beta(alpha, alpha)``.
- **CutMix**: a rectangle of ``b`` (a share ``1 - lam`` of the face) is pasted into ``a``;
  the targets are mixed by the pasted area.

A recipe turns it on with ``"mixing": {"mixup": 0.2, "cutmix": 1.0, "probability": 0.5}``
(the Beta parameters; 0 switches a kind off; with both on, each mixed batch draws one of
the two at random; ``probability`` is the share of batches that are mixed). Mixing runs
on the prepared ``[0, 1]`` faces before the augmentation layers, on NumPy arrays, so it
is the same on every Keras backend; batches are reproducible from the seed, the epoch and
the batch index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from emotionkit.train.views import ViewTargets

__all__ = ["MIXING_KEYS", "MixedBatches", "check_mixing", "mix_batch"]

MIXING_KEYS: dict[str, float] = {"mixup": 0.0, "cutmix": 0.0, "probability": 1.0}
"""Recipe keys of ``"mixing"`` and their defaults (Beta parameters; 0 = off)."""


def check_mixing(settings: Mapping[str, Any] | None) -> dict[str, float]:
    """Validate a recipe's ``"mixing"`` block and fill in the defaults.

    Args:
        settings: ``{"mixup": alpha, "cutmix": alpha, "probability": p}``, any subset, or ``None``.

    Returns:
        A new dictionary with every key of [`MIXING_KEYS`][emotionkit.train.mixing.MIXING_KEYS].

    Raises:
        ValueError: If ``settings`` is not a mapping, a key is unknown, a Beta parameter is negative or not a number,
            or the probability is outside ``[0, 1]``.

    Examples:
        >>> check_mixing({"mixup": 0.2})
        {'mixup': 0.2, 'cutmix': 0.0, 'probability': 1.0}
        >>> check_mixing({"mixup": -1})
        Traceback (most recent call last):
        ...
        ValueError: mixing: mixup must be a number >= 0 (a Beta parameter, 0 = off), got -1
    """
    if settings is not None and not isinstance(settings, Mapping):
        raise ValueError(f"mixing must be an object of {', '.join(MIXING_KEYS)}, got {settings!r}")
    merged = dict(MIXING_KEYS)
    for key, value in (settings or {}).items():
        if key not in MIXING_KEYS:
            raise ValueError(f"mixing: unknown key {key!r}; known: {', '.join(MIXING_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"mixing: {key} must be a number, got {value!r}")
        if key == "probability" and not 0.0 <= value <= 1.0:
            raise ValueError(f"mixing: probability must be in [0, 1], got {value}")
        if key != "probability" and value < 0:
            raise ValueError(f"mixing: {key} must be a number >= 0 (a Beta parameter, 0 = off), got {value}")
        merged[key] = float(value)
    return merged


def mix_batch(
    x: np.ndarray, y: np.ndarray, settings: Mapping[str, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Mix one batch (or return copies of it unmixed, by ``probability`` or when both kinds are off).

    Each face is paired with another face of the same batch (a random permutation);
    one ``lam`` is drawn for the batch.

    Args:
        x: Faces ``(N, S, S, C)`` in ``[0, 1]``; not modified.
        y: Targets ``(N, K)`` (one-hot or distributions); not modified.
        settings: A dictionary from [`check_mixing`][emotionkit.train.mixing.check_mixing].
        rng: The random generator to draw from.

    Returns:
        New ``(faces, targets)`` arrays of the same shapes and dtypes.

    Examples:
        >>> x = np.stack([np.zeros((4, 4, 1)), np.ones((4, 4, 1))]).astype("float32")
        >>> y = np.eye(2, dtype="float32")
        >>> mx, my = mix_batch(x, y, {"mixup": 1.0, "cutmix": 0.0, "probability": 1.0}, np.random.default_rng(0))
        >>> bool(np.allclose(mx.mean(axis=(1, 2, 3)), my[:, 1]))  # the share of face 1 is its target share
        True
    """
    x_out, y_out = x.copy(), y.copy()
    kinds = [k for k in ("mixup", "cutmix") if settings[k] > 0]
    if not kinds or len(x) < 2 or rng.random() >= settings["probability"]:
        return x_out, y_out
    kind = kinds[int(rng.integers(len(kinds)))]
    lam = float(rng.beta(settings[kind], settings[kind]))
    partner = rng.permutation(len(x))
    if kind == "mixup":
        x_out = (lam * x + (1.0 - lam) * x[partner]).astype(x.dtype)
    else:
        height, width = x.shape[1:3]
        cut_h, cut_w = round(height * math.sqrt(1.0 - lam)), round(width * math.sqrt(1.0 - lam))
        top, left = int(rng.integers(height - cut_h + 1)), int(rng.integers(width - cut_w + 1))
        x_out[:, top : top + cut_h, left : left + cut_w] = x[partner, top : top + cut_h, left : left + cut_w]
        lam = 1.0 - cut_h * cut_w / (height * width)  # the exact share of the face that is still its own
    y_out = (lam * y + (1.0 - lam) * y[partner]).astype(y.dtype)
    return x_out, y_out


class MixedBatches(keras.utils.PyDataset):
    """Shuffled, mixed training batches for ``model.fit`` (any Keras backend).

    Args:
        x: All training faces ``(N, S, S, C)``.
        y: Their targets ``(N, K)``.
        batch_size: Faces per batch (the last batch may be smaller).
        settings: Mixing settings (checked with [`check_mixing`][emotionkit.train.mixing.check_mixing]).
        seed: Seed of the shuffling, mixing and view choice.
        views: Consistent teaching (see [`emotionkit.train.views`][emotionkit.train.views]): each face
            is drawn as one of its stored views, and the teacher's probabilities on that view join its
            target, before any mixing. ``x`` then serves only for its length.

    Raises:
        ValueError: If ``x`` and ``y`` differ in length, are empty, the settings are invalid, or ``views``
            holds another number of faces.

    Examples:
        >>> x, y = np.zeros((10, 8, 8, 1), "float32"), np.eye(2, dtype="float32")[[0, 1] * 5]
        >>> batches = MixedBatches(x, y, 4, {"mixup": 0.2}, seed=0)
        >>> len(batches), batches[2][0].shape
        (3, (2, 8, 8, 1))
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        settings: Mapping[str, Any],
        seed: int = 0,
        views: ViewTargets | None = None,
    ) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"need as many targets as faces (and at least one), got {len(x)} faces, {len(y)} targets")
        if views is not None and len(views.faces) != len(x):
            raise ValueError(f"views hold {len(views.faces)} faces, the batches {len(x)}")
        self.x, self.y, self.views = x, y, views
        self.batch_size = int(batch_size)
        self.settings = check_mixing(settings)
        self.seed = int(seed)
        self.epoch = 0
        self._order = self._shuffled()

    def _shuffled(self) -> np.ndarray:
        return np.random.default_rng((self.seed, self.epoch)).permutation(len(self.x))

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range 0..{len(self) - 1}")
        rows = np.sort(self._order[index * self.batch_size : (index + 1) * self.batch_size])
        rng = np.random.default_rng((self.seed, self.epoch, index, 1))
        if self.views is None:
            return mix_batch(self.x[rows], self.y[rows], self.settings, rng)
        faces, targets = self.views.batch(rows, self.y[rows], np.random.default_rng((self.seed, self.epoch, index, 2)))
        return mix_batch(faces, targets, self.settings, rng)

    def on_epoch_end(self) -> None:
        """Reshuffle for the next epoch."""
        self.epoch += 1
        self._order = self._shuffled()
