"""Draw predictions onto a copy of an image: boxes, labels, scores and probability bars."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emotionkit.preprocessing import ColorOrder, check_image
from emotionkit.recognizer import FacePrediction

__all__ = ["annotate", "EMOTION_COLORS"]

EMOTION_COLORS: dict[str, tuple[int, int, int]] = {
    "angry": (40, 40, 220),
    "disgust": (40, 140, 40),
    "fear": (160, 60, 160),
    "happy": (40, 200, 240),
    "neutral": (200, 200, 200),
    "sad": (200, 120, 40),
    "surprise": (40, 160, 255),
}
"""BGR colour of each emotion's box and bar."""


def _rgb(color: tuple[int, int, int], order: ColorOrder) -> tuple[int, int, int]:
    return color if order == "bgr" else (color[2], color[1], color[0])


def annotate(
    image: np.ndarray,
    faces: Sequence[FacePrediction],
    *,
    color: ColorOrder = "bgr",
    bars: bool = False,
    text: str | None = None,
) -> np.ndarray:
    """Return a copy of ``image`` with each face's box, label and score drawn.

    Args:
        image: The image the faces were predicted on (any accepted dtype/shape;
            grey images are drawn on in colour). Not modified.
        faces: Predictions for this image.
        color: Channel order of ``image`` (and of the returned copy).
        bars: Also draw a bar chart of each face's probabilities beside its box.
        text: An extra line drawn in the top-left corner (e.g. ``"12.3 FPS"``).

    Returns:
        A new ``uint8`` 3-channel image.

    Raises:
        TypeError: If ``image`` is not an image array.
        ValueError: If its shape or range is unsupported.

    Examples:
        >>> out = annotate(np.zeros((64, 64), np.uint8), [FacePrediction((8, 8, 32, 32), "happy", 0.9, {"happy": 1.0})])
        >>> out.shape
        (64, 64, 3)
    """
    base = check_image(image)
    if base.ndim == 2 or base.shape[2] == 1:
        canvas = cv2.cvtColor(base.reshape(base.shape[:2]), cv2.COLOR_GRAY2BGR)
    elif base.shape[2] == 4:
        canvas = cv2.cvtColor(base, cv2.COLOR_BGRA2BGR if color == "bgr" else cv2.COLOR_RGBA2RGB)
    else:
        canvas = base.copy()
    scale = max(0.4, min(canvas.shape[:2]) / 700.0)
    thick = max(1, int(round(2 * scale)))
    for face in faces:
        x, y, w, h = face.box
        box_color = _rgb(EMOTION_COLORS.get(face.label, (0, 255, 0)), color)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), box_color, thick)
        caption = f"{face.label} {face.score:.0%}"
        if face.track_id is not None:
            caption = f"#{face.track_id} {caption}"
        (tw, th), base_line = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, thick)
        ty = max(th + base_line, y)
        cv2.rectangle(canvas, (x, ty - th - base_line), (x + tw, ty), box_color, -1)
        cv2.putText(canvas, caption, (x, ty - base_line), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 0), thick)
        if bars:
            _draw_bars(canvas, face, x + w + 4, y, scale, color)
    if text:
        cv2.putText(canvas, text, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale, (0, 255, 0), thick)
    return canvas


def _draw_bars(canvas: np.ndarray, face: FacePrediction, x: int, y: int, scale: float, order: ColorOrder) -> None:
    row = int(14 * scale) + 2
    width = int(90 * scale)
    for i, (name, p) in enumerate(face.probabilities.items()):
        top = y + i * row
        fill = _rgb(EMOTION_COLORS.get(name, (0, 255, 0)), order)
        cv2.rectangle(canvas, (x, top), (x + int(width * p), top + row - 2), fill, -1)
        cv2.putText(
            canvas,
            f"{name[:3]} {p:.2f}",
            (x + 2, top + row - 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.35 * scale,
            (255, 255, 255),
            1,
        )
