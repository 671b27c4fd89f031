"""Emotion class names and helpers to validate and restrict label sets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["EMOTIONS", "FIVE_CLASSES", "validate_labels", "label_indices"]

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
"""The seven FER-2013 classes, in the output order of every emotionkit model."""

FIVE_CLASSES: tuple[str, ...] = ("angry", "happy", "neutral", "sad", "surprise")
"""The five classes most systems agree on (no ``disgust``, no ``fear``)."""


def validate_labels(labels: Iterable[str], known: Sequence[str] = EMOTIONS) -> tuple[str, ...]:
    """Check that every label is one of ``known`` and return them as a tuple.

    Args:
        labels: Label names to check.
        known: The accepted names, in model output order.

    Returns:
        The labels as a tuple, in the order given.

    Raises:
        TypeError: If ``labels`` is a single string or holds non-strings.
        ValueError: If a label is not in ``known``, or a label repeats.

    Examples:
        >>> validate_labels(["happy", "sad"])
        ('happy', 'sad')
    """
    if isinstance(labels, str):
        raise TypeError(f"expected a sequence of label names, got the string {labels!r}")
    out = tuple(labels)
    for label in out:
        if not isinstance(label, str):
            raise TypeError(f"label names must be str, got {type(label).__name__}: {label!r}")
        if label not in known:
            raise ValueError(f"unknown label {label!r}; valid labels are: {', '.join(known)}")
    if len(set(out)) != len(out):
        raise ValueError(f"labels repeat: {out}")
    return out


def label_indices(labels: Iterable[str], known: Sequence[str] = EMOTIONS) -> list[int]:
    """Map label names to their indices in ``known``.

    Args:
        labels: Label names (each must be in ``known``).
        known: The reference order.

    Returns:
        One index per label.

    Raises:
        ValueError: If a label is unknown.

    Examples:
        >>> label_indices(["happy", "angry"])
        [3, 0]
    """
    index = {name: i for i, name in enumerate(known)}
    out = []
    for label in labels:
        if label not in index:
            raise ValueError(f"unknown label {label!r}; valid labels are: {', '.join(known)}")
        out.append(index[label])
    return out
