"""Adapt a recognizer to one person from a few labelled photos, without changing it for everyone else.

Method (no gradient training, so it runs in about a second on any backend and
cannot over-fit a handful of photos): the person's faces go through the frozen
model to get the features its classifier head sees; those feature vectors
become *prototypes*, and a new face is classified by cosine similarity to them.
The new model (a [`PrototypeBlend`][emotionkit.models.PrototypeBlend] on top of the
unchanged base model) blends the base prediction with the nearest-prototype
prediction, weighted by a gate that opens only for faces that *look like* the
person's photos (appearance vectors: the 48x48 face pooled to 24x24,
mean-centred, normalised). Other people's faces stay below the gate threshold
and keep the base model's output, which is what protects accuracy on everyone else.

The gate threshold is ``min(median_i s_i - 0.1, 0.85) + gate_offset``, where
``s_i`` is the appearance similarity of the person's photo ``i`` to their
nearest other photo. The rule was chosen on jaffe-dev and FER-2013 PublicTest
(never PrivateTest): there, the person's other photos scored 0.79-0.98 and no
PublicTest face of another person scored above 0.85.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotionkit.images import IMAGE_SUFFIXES, as_image

if TYPE_CHECKING:
    from emotionkit.recognizer import EmotionRecognizer

__all__ = ["PersonalizationReport", "personalize", "MIN_IMAGES"]

MIN_IMAGES = 2
"""Fewest images accepted in total."""
MAX_THRESHOLD = 0.85
"""Upper bound of the gate threshold (appearance similarity); see the module docstring."""


@dataclass(frozen=True)
class PersonalizationReport:
    """Before/after accuracy on the held-out part of the person's images.

    Attributes:
        train_images: Images used as prototypes.
        heldout_images: Images held out for this report (0 when too few).
        base_accuracy: Base model accuracy on the held-out images (``None`` if none).
        personal_accuracy: Personalised model accuracy on them (``None`` if none).
        classes: Labels that received prototypes.
        threshold: The gate threshold chosen.
    """

    train_images: int
    heldout_images: int
    base_accuracy: float | None
    personal_accuracy: float | None
    classes: list[str]
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dictionary.

        Returns:
            A new dictionary.
        """
        return asdict(self)


def _from_folder(root: Path, labels: Sequence[str]) -> tuple[list[Any], list[str]]:
    images: list[Any] = []
    names: list[str] = []
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        raise ValueError(f"{root} has no label sub-folders; expected root/<label>/<images>")
    for folder in folders:
        if folder.name not in labels:
            raise ValueError(f"unknown label folder {folder.name!r} in {root}; valid labels are: {', '.join(labels)}")
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                images.append(path)
                names.append(folder.name)
    return images, names


def _face_crops(rec: EmotionRecognizer, images: Sequence[Any], crops: bool) -> list[np.ndarray]:
    """One face crop per input (validated before any work); names the images without a face."""
    arrays = [as_image(item, "bgr", f"image {i}")[0] for i, item in enumerate(images)]
    if crops:
        return arrays
    out, missing = [], []
    for i, (item, array) in enumerate(zip(images, arrays)):
        faces = rec.detect(array)
        if not faces:
            missing.append(str(item) if isinstance(item, (str, Path)) else f"image {i}")
            continue
        out.extend(rec.crop(array, faces[:1]))
    if missing:
        raise ValueError(
            f"no face found in {len(missing)} image(s): {', '.join(missing)}; remove them or pass crops=True "
            "for images that are already face crops"
        )
    return out


def _split(labels: list[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: from each class with at least 2 images, hold out round(n * fraction), at least 1."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    held: list[int] = []
    for name in sorted(set(labels)):
        idx = rng.permutation([i for i, x in enumerate(labels) if x == name])
        k = 0 if len(idx) < 2 or fraction <= 0 else min(len(idx) - 1, max(1, round(len(idx) * fraction)))
        held.extend(idx[:k])
        train.extend(idx[k:])
    return np.array(sorted(train), dtype=np.int64), np.array(sorted(held), dtype=np.int64)


def personalize(
    recognizer: EmotionRecognizer,
    images: Sequence[Any] | str | Path,
    labels: Sequence[str] | None = None,
    *,
    crops: bool = False,
    validation_split: float = 0.2,
    strength: float = 1.0,
    temperature: float = 0.05,
    gate_offset: float = 0.0,
    sharpness: float = 100.0,
    seed: int = 0,
) -> EmotionRecognizer:
    """Return a new recognizer adapted to one person; ``recognizer`` is left unchanged.

    Args:
        recognizer: The base recognizer (a Keras runtime: see [`KerasRuntime`][emotionkit.runtime.KerasRuntime]).
        images: Photos of the person (paths or arrays; the largest face of each
            is used), face crops with ``crops=True``, or a folder ``root/<label>/``.
        labels: One label per image, from ``recognizer.labels`` (``None`` for a folder).
            Classes with no example keep the base behaviour.
        crops: The images are already face crops (no detection).
        validation_split: Fraction of each class (with 2+ images) held out to
            measure the report; 0 uses every image.
        strength: How far the person's faces move to the prototype prediction (0-1).
        temperature: Softmax temperature of the prototype classifier (> 0).
        gate_offset: Added to the gate threshold (higher: fewer faces treated as the person).
        sharpness: Steepness of the gate (> 0).
        seed: Seed of the held-out split.

    Returns:
        A new [`EmotionRecognizer`][emotionkit.EmotionRecognizer]; ``.personalization_report`` holds the
        before/after accuracy on the held-out images.

    Raises:
        ValueError: Length mismatch, unknown label (valid ones listed), fewer than
            [`MIN_IMAGES`][emotionkit.personalize.MIN_IMAGES] images, an unreadable file, images
            without a face (named), or an option out of range (checked before any work).
        TypeError: If an image is neither a path nor an array, or the recognizer runs an exported
            (ONNX, LiteRT) file instead of a Keras model.
        FileNotFoundError: If a path does not exist.

    Examples:
        >>> me = rec.personalize(["me_happy.jpg", "me_sad.jpg"], ["happy", "sad"])  # doctest: +SKIP
        >>> me.personalization_report.train_images  # doctest: +SKIP
        2
    """
    model_labels = list(recognizer.config.labels)
    if isinstance(images, (str, Path)) and Path(images).is_dir():
        if labels is not None:
            raise ValueError("labels must be None when images is a folder (labels come from its sub-folders)")
        images, labels = _from_folder(Path(images), model_labels)
    if isinstance(images, (str, Path, np.ndarray)) and not (isinstance(images, np.ndarray) and images.ndim == 4):
        raise TypeError("images must be a list of photos/crops, a 4-D array of crops, or a folder root/<label>/")
    if labels is None:
        raise ValueError("labels are required: one label per image")
    images, labels = list(images), [str(x) for x in labels]
    if len(images) != len(labels):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels; give one label per image")
    unknown = sorted({x for x in labels if x not in model_labels})
    if unknown:
        raise ValueError(f"unknown label(s) {', '.join(unknown)}; valid labels are: {', '.join(model_labels)}")
    if len(images) < MIN_IMAGES:
        raise ValueError(f"personalisation needs at least {MIN_IMAGES} images, got {len(images)}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
    if not (math.isfinite(sharpness) and sharpness > 0):
        raise ValueError(f"sharpness must be a finite number > 0, got {sharpness}")
    if not math.isfinite(gate_offset):
        raise ValueError(f"gate_offset must be a finite number, got {gate_offset}")

    recognizer.keras_runtime()  # a TypeError naming the way out when it runs an exported file
    face_crops = _face_crops(recognizer, images, crops)
    train_idx, held_idx = _split(labels, validation_split, seed)
    train_crops = [face_crops[i] for i in train_idx]
    train_labels = [labels[i] for i in train_idx]
    from emotionkit.runtime import KerasRuntime

    model, architecture = _build_personal_model(recognizer, len(train_crops))
    runtime = KerasRuntime(model, copy=False)  # built here, held by nobody else
    weights = _prototype_weights(
        recognizer,
        runtime,
        train_crops,
        train_labels,
        strength=strength,
        temperature=temperature,
        gate_offset=gate_offset,
        sharpness=sharpness,
    )
    model.get_layer("personal").set_weights(weights)  # before the runtime compiles its probabilities
    config = recognizer.config.replace(
        architecture=architecture,
        metrics={},
        personalized={
            "base": recognizer.source or "unknown",
            "images": len(train_idx),
            "classes": sorted(set(train_labels)),
            "method": "prototype blend (emotionkit.personalize)",
        },
    )
    personal = recognizer.with_model(runtime, config, classes=recognizer.labels, source="personalized")
    base_acc = personal_acc = None
    if len(held_idx):
        truth = np.array([model_labels.index(labels[i]) for i in held_idx])
        held = [face_crops[i] for i in held_idx]
        base_acc = float(np.mean(recognizer.with_classes(None).classify(held).argmax(1) == truth))
        personal_acc = float(np.mean(personal.with_classes(None).classify(held).argmax(1) == truth))
    personal.personalization_report = PersonalizationReport(
        train_images=len(train_idx),
        heldout_images=len(held_idx),
        base_accuracy=base_acc,
        personal_accuracy=personal_acc,
        classes=sorted(set(train_labels)),
        threshold=float(weights[3]),
    )
    return personal


def _build_personal_model(recognizer: EmotionRecognizer, num_prototypes: int) -> tuple[Any, dict[str, Any]]:
    """A personalised model holding the base weights (the original base if already personalised), and its config."""
    from emotionkit.models import build_model

    base_arch = recognizer.config.architecture
    source = recognizer.model  # a copy
    if base_arch.get("name") == "personalized":
        base_arch = base_arch["base"]
        source = source.get_layer("base_with_features")
    arch = {
        "name": "personalized",
        "base": base_arch,
        "num_prototypes": num_prototypes,
        "input_size": base_arch["input_size"],
    }
    model = build_model(arch, len(recognizer.config.labels))
    model.get_layer("base_with_features").set_weights(source.get_weights())
    return model, arch


def _prototype_weights(
    recognizer: EmotionRecognizer,
    runtime: Any,
    crops: list[np.ndarray],
    labels: list[str],
    *,
    strength: float,
    temperature: float,
    gate_offset: float,
    sharpness: float,
) -> list[np.ndarray]:
    from emotionkit.models import appearance_vectors
    from emotionkit.preprocessing import prepare_faces

    faces = prepare_faces(crops, recognizer.input_size)
    features = runtime.features(faces)
    names = list(recognizer.config.labels)
    onehot = np.zeros((len(crops), len(names)), np.float32)
    onehot[np.arange(len(crops)), [names.index(x) for x in labels]] = 1.0
    look = np.asarray(appearance_vectors(faces), dtype=np.float32)
    sims = look @ look.T
    np.fill_diagonal(sims, -1.0)
    nearest = sims.max(axis=1) if len(crops) > 1 else np.ones(1)
    threshold = min(float(np.median(nearest)) - 0.1, MAX_THRESHOLD) + gate_offset
    return [
        features.astype(np.float32),
        onehot,
        look,
        np.array(threshold, np.float32),
        np.array(sharpness, np.float32),
        np.array(temperature, np.float32),
        np.array(strength, np.float32),
    ]
