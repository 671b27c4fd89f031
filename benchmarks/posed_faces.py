"""Posed photos sorted into class folders (jaffe-dev), scored end to end: detect, then classify.

Used by ``accuracy.py`` (the posed-faces table) and ``personalize_jaffe.py``; not part of the
installed library. The photos are read where they lie and never copied.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from emotionkit import EmotionRecognizer


@dataclass(frozen=True)
class EndToEnd:
    """How a recognizer did on uncropped photos: a photo with no face found counts as wrong."""

    accuracy: float
    found: int
    photos: int


def labelled_photos(root: Path) -> list[tuple[Path, str]]:
    """Return ``(photo, class)`` pairs for ``root/<class>/*.png``, sorted; empty where ``root`` is missing."""
    return [(path, path.parent.name) for path in sorted(root.glob("*/*.png"))] if root.is_dir() else []


def by_person(photos: list[tuple[Path, str]]) -> dict[str, list[tuple[Path, str]]]:
    """Group photos by the person named before the first dot of the file name (``KA.AN1.39.png``)."""
    people: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    for path, label in photos:
        people[path.name.split(".")[0]].append((path, label))
    return dict(people)


def end_to_end(rec: EmotionRecognizer, photos: list[tuple[Path, str]]) -> EndToEnd:
    """Detect and classify each photo; the first face found is the answer."""
    results = rec.predict([path for path, _ in photos])
    right = sum(bool(faces) and faces[0].label == label for faces, (_, label) in zip(results, photos))
    return EndToEnd(right / max(len(photos), 1), sum(bool(faces) for faces in results), len(photos))
