"""The one preprocessing path shared by training, evaluation and inference.

Every face reaches a model the same way: the face region is cropped (see
[`crop_face`][emotionkit.preprocessing.crop_face]), converted to grey, resized to the model's input size and
scaled to ``[0, 1]`` as ``float32`` (see [`prepare_faces`][emotionkit.preprocessing.prepare_faces]). FER-2013
images are already 48x48 grey crops, so for them only the last two steps do
anything; the training code calls the same function, which keeps train and
serve in agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

__all__ = ["ColorOrder", "check_image", "to_gray", "crop_face", "prepare_faces"]

ColorOrder = Literal["bgr", "rgb"]

_ACCEPTED = "a numpy array of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), dtype uint8, or float in [0, 1]"


def check_image(image: object, name: str = "image") -> np.ndarray:
    """Validate one image array and return it as ``uint8`` (a new array if converted).

    Args:
        image: The candidate image.
        name: How to call it in error messages.

    Returns:
        A ``uint8`` array of shape ``(H, W)`` or ``(H, W, C)`` with C in 1, 3, 4.
        The caller's array is never modified (it may be returned as is when
        it is already ``uint8``).

    Raises:
        TypeError: If ``image`` is not a numpy array or has an unsupported dtype.
        ValueError: If its shape is wrong, it is empty, or float values are
            outside ``[0, 1]``.

    Examples:
        >>> check_image(np.zeros((4, 4), np.uint8)).shape
        (4, 4)
    """
    if image is None:
        raise TypeError(f"{name} is None; expected {_ACCEPTED}")
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} has type {type(image).__name__}; expected {_ACCEPTED}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"{name} has shape {image.shape}; expected {_ACCEPTED}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {image.shape}); expected {_ACCEPTED}")
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_ or not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"{name} has dtype {image.dtype}; expected {_ACCEPTED}")
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{name} holds NaN or infinite values; expected {_ACCEPTED}")
    lo, hi = float(image.min()), float(image.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} is float with values in [{lo:.3g}, {hi:.3g}]; expected {_ACCEPTED} "
            "(for 0-255 floats, convert with image.astype(np.uint8))"
        )
    return np.round(image * 255.0).astype(np.uint8)


def to_gray(image: np.ndarray, color: ColorOrder = "bgr") -> np.ndarray:
    """Convert a validated ``uint8`` image to a 2-D grey image.

    Args:
        image: ``uint8`` array ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``.
        color: Channel order of 3/4-channel images, ``"bgr"`` (OpenCV) or ``"rgb"``.

    Returns:
        A new or shared ``(H, W)`` ``uint8`` array (never a view the caller could
        have written through by accident: conversions allocate).

    Raises:
        ValueError: If ``color`` is not ``"bgr"`` or ``"rgb"``.

    Examples:
        >>> to_gray(np.zeros((2, 2, 3), np.uint8)).shape
        (2, 2)
    """
    if color not in ("bgr", "rgb"):
        raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
    if image.ndim == 2:
        return image
    channels = image.shape[2]
    if channels == 1:
        return image[:, :, 0]
    if channels == 3:
        code = cv2.COLOR_BGR2GRAY if color == "bgr" else cv2.COLOR_RGB2GRAY
    else:
        code = cv2.COLOR_BGRA2GRAY if color == "bgr" else cv2.COLOR_RGBA2GRAY
    return cv2.cvtColor(np.ascontiguousarray(image), code)


def crop_face(
    gray: np.ndarray,
    box: tuple[int, int, int, int],
    margin: float = 0.0,
    shift_y: float = 0.0,
    angle: float = 0.0,
) -> np.ndarray:
    """Cut a square face crop around ``box``, optionally rotated to level the eyes.

    The square has the side ``max(w, h) * (1 + 2 * margin)``; its centre is the
    box centre moved down by ``shift_y * max(w, h)`` (negative moves it up). Parts
    outside the image repeat the edge pixels.

    Args:
        gray: 2-D ``uint8`` image (not modified).
        box: ``(x, y, w, h)`` of the face in ``gray``'s pixels.
        margin: Extra border on each side, as a fraction of the box side.
        shift_y: Vertical shift of the crop centre, as a fraction of the box side.
        angle: Roll of the face in degrees (e.g. the eye line's angle); the crop
            is rotated by it so that the eyes come out level.

    Returns:
        A new square 2-D ``uint8`` array.

    Raises:
        ValueError: If the box has no area or lies outside the image.

    Examples:
        >>> crop_face(np.zeros((10, 10), np.uint8), (2, 2, 4, 4)).shape
        (4, 4)
    """
    x, y, w, h = (int(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError(f"face box must have a positive size, got {box}")
    height, width = gray.shape[:2]
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"face box {box} lies outside the image of size {width}x{height}")
    base = max(w, h)
    side = max(1, int(round(base * (1.0 + 2.0 * margin))))
    cx, cy = x + w / 2.0, y + h / 2.0 + shift_y * base
    if angle == 0.0:
        x0, y0 = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
        pad_l, pad_t = max(0, -x0), max(0, -y0)
        pad_r, pad_b = max(0, x0 + side - width), max(0, y0 + side - height)
        crop = gray[max(0, y0) : min(height, y0 + side), max(0, x0) : min(width, x0 + side)]
        if pad_l or pad_t or pad_r or pad_b:
            crop = cv2.copyMakeBorder(crop, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REPLICATE)
        return np.array(crop, copy=True)
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    matrix[0, 2] += side / 2.0 - cx
    matrix[1, 2] += side / 2.0 - cy
    return cv2.warpAffine(gray, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def prepare_faces(faces: Sequence[np.ndarray] | np.ndarray, size: int, color: ColorOrder = "bgr") -> np.ndarray:
    """Turn face crops into the model's input batch: grey, ``size`` x ``size``, ``float32`` in [0, 1].

    Args:
        faces: One array ``(N, H, W)`` / ``(N, H, W, C)`` of crops or a sequence
            of single crops (each any size, grey, BGR/RGB or 4-channel).
        size: The model's input side in pixels.
        color: Channel order of colour crops.

    Returns:
        ``float32`` array of shape ``(N, size, size, 1)``.

    Raises:
        TypeError: If an item is not an image array.
        ValueError: If an item has a bad shape or value range, ``faces`` is empty, or a 3-D
            array reads as one colour crop (``(H, W, 3)``) rather than a batch of grey crops.

    Examples:
        >>> prepare_faces(np.zeros((2, 48, 48), np.uint8), 48).shape
        (2, 48, 48, 1)
    """
    if isinstance(faces, np.ndarray):
        if faces.ndim not in (3, 4):
            raise ValueError(f"a batch of faces must have shape (N, H, W) or (N, H, W, C), got {faces.shape}")
        if faces.ndim == 3 and faces.shape[2] in (1, 3, 4) and faces.shape[1] > faces.shape[2]:
            raise ValueError(
                f"an array of shape {faces.shape} is ambiguous: as a batch (N, H, W) it holds {faces.shape[0]} "
                f"crops of {faces.shape[1]}x{faces.shape[2]} pixels. For one colour crop pass [crop] or "
                "crop[None]; for grey crops pass (N, H, W) with W > 4"
            )
        items: Sequence[np.ndarray] = list(faces)
    elif isinstance(faces, (list, tuple)):
        items = faces
    else:
        raise TypeError(
            f"faces has type {type(faces).__name__}; expected an (N, H, W[, C]) array or a list of face crops"
        )
    if len(items) == 0:
        raise ValueError("no faces were given (an empty batch)")
    if isinstance(faces, np.ndarray) and faces.dtype == np.uint8 and faces.shape[1:] in ((size, size), (size, size, 1)):
        out = faces.reshape(len(faces), size, size, 1).astype(np.float32)  # already grey and sized: no per-face work
        out *= 1.0 / 255.0
        return out
    out = np.empty((len(items), size, size, 1), np.float32)
    for i, face in enumerate(items):
        gray = to_gray(check_image(face, f"face {i}"), color)
        h, w = gray.shape
        if (h, w) != (size, size):
            interp = cv2.INTER_AREA if h > size or w > size else cv2.INTER_LINEAR
            gray = cv2.resize(gray, (size, size), interpolation=interp)
        out[i, :, :, 0] = gray
    out *= 1.0 / 255.0
    return out
