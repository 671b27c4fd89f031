"""Knowledge distillation: train a model on a teacher's softened predictions as well as the labels.

A teacher (typically an ensemble, which is too slow to ship) predicts every
training image, averaged over the image and its mirror image. The student's
target for an image is ``(1 - weight) * label + weight * teacher ** (1 / T)``
(the teacher distribution sharpened or softened by the temperature ``T`` and
renormalised), so the student learns which classes the teacher finds similar
at the cost of one network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from emotionkit.train.data import FaceDataset

__all__ = ["distillation_targets", "mix_teacher", "teacher_probabilities"]


def teacher_probabilities(teachers: Sequence[str | Path], data: FaceDataset) -> np.ndarray:
    """Return the teachers' mean flip-averaged probabilities for every image of ``data``.

    Each teacher is a model folder; its own preprocessing applies (the same
    path as [`predict_faces`][emotionkit.EmotionRecognizer.predict_faces]).

    Args:
        teachers: One or more model folders.
        data: The images to label; their class names must match each teacher's labels.

    Returns:
        ``float32`` array ``(len(data), len(data.classes))``.

    Raises:
        ValueError: If no teacher is given or a teacher's labels differ from ``data.classes``.
        FileNotFoundError: If a teacher folder is not a model folder.

    Examples:
        >>> probs = teacher_probabilities(["runs/default/member0-model"], train_ds)  # doctest: +SKIP
    """
    from emotionkit.recognizer import EmotionRecognizer
    from emotionkit.train.evaluate import predict_probabilities

    if not teachers:
        raise ValueError("distillation needs at least one teacher model folder, got none")
    total = np.zeros((len(data), len(data.classes)), np.float64)
    for folder in teachers:
        recognizer = EmotionRecognizer.from_pretrained(folder)
        if tuple(recognizer.labels) != tuple(data.classes):
            raise ValueError(f"teacher {folder} predicts {recognizer.labels}, the data has classes {data.classes}")
        total += predict_probabilities(recognizer, data.images, flip_tta=True)
    return (total / len(teachers)).astype(np.float32)


def distillation_targets(data: FaceDataset, teacher: np.ndarray, weight: float, temperature: float) -> FaceDataset:
    """Return a copy of ``data`` whose ``soft_labels`` mix its labels with a teacher's predictions.

    Args:
        data: The training set (its ``soft_labels`` are used as the label part if present,
            else its one-hot labels). It is not modified.
        teacher: Teacher probabilities ``(len(data), classes)``, e.g. from
            [`teacher_probabilities`][emotionkit.train.distill.teacher_probabilities].
        weight: Share of the teacher in the target, in [0, 1].
        temperature: Temperature ``T > 0`` applied to the teacher (``p ** (1 / T)``,
            renormalised); above 1 softens it.

    Returns:
        A new dataset with the mixed ``soft_labels``.

    Raises:
        ValueError: If the shapes disagree or ``weight`` / ``temperature`` are out of range.

    Examples:
        >>> ds = FaceDataset(np.zeros((1, 4, 4), np.uint8), np.array([0]), ("a", "b"))
        >>> distillation_targets(ds, np.array([[0.2, 0.8]]), 0.5, 1.0).soft_labels
        array([[0.6, 0.4]], dtype=float32)
    """
    teacher = np.asarray(teacher, np.float64)
    expected = (len(data), len(data.classes))
    if teacher.shape != expected:
        raise ValueError(f"teacher probabilities have shape {teacher.shape}, expected {expected}")
    return replace(data, soft_labels=mix_teacher(data.targets(), teacher, weight, temperature))


def mix_teacher(targets: np.ndarray, teacher: np.ndarray, weight: float, temperature: float) -> np.ndarray:
    """Mix targets with a teacher's probabilities: ``(1 - weight) * targets + weight * teacher ** (1 / T)``.

    The teacher part is renormalised after the temperature. The one rule behind
    [`distillation_targets`][emotionkit.train.distill.distillation_targets] and the view targets of
    [`ViewTargets`][emotionkit.train.views.ViewTargets].

    Args:
        targets: ``(N, classes)`` targets (one-hot or distributions); not modified.
        teacher: ``(N, classes)`` teacher probabilities; not modified.
        weight: Share of the teacher, in [0, 1].
        temperature: ``T > 0``; above 1 softens the teacher.

    Returns:
        ``float32`` ``(N, classes)``.

    Raises:
        ValueError: If ``weight`` or ``temperature`` is out of range.

    Examples:
        >>> mix_teacher(np.array([[1.0, 0.0]]), np.array([[0.2, 0.8]]), 0.5, 1.0)
        array([[0.6, 0.4]], dtype=float32)
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"distillation weight must be in [0, 1], got {weight}")
    if not temperature > 0.0:
        raise ValueError(f"distillation temperature must be > 0, got {temperature}")
    soft = np.clip(np.asarray(teacher, np.float64), 1e-12, None) ** (1.0 / temperature)
    soft /= soft.sum(axis=1, keepdims=True)
    mixed = (1.0 - weight) * np.asarray(targets, np.float64) + weight * soft
    return mixed.astype(np.float32)
