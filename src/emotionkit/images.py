"""Reading images: files and arrays in, validated ``uint8`` arrays out.

[`as_image`][emotionkit.images.as_image] is where every public entry point turns what a user
passed (a path or an array) into an array the pipeline can use, with one error
message that lists what is accepted.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emotionkit.preprocessing import ColorOrder, check_image

__all__ = ["IMAGE_SUFFIXES", "ImageInput", "as_image", "load_image"]

ImageInput = str | Path | np.ndarray
"""What [`EmotionRecognizer.predict`][emotionkit.EmotionRecognizer.predict] accepts as one image."""
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
"""File name suffixes treated as images when a folder is read."""


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as a BGR ``uint8`` array.

    Args:
        path: Image file (any format OpenCV reads: PNG, JPEG, BMP, TIFF, WebP, ...).

    Returns:
        ``(H, W, 3)`` BGR ``uint8`` array.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is a URL (give URLs to ``stream``), or exists but is not a readable image.

    Examples:
        >>> load_image("photo.jpg").shape  # doctest: +SKIP
        (480, 640, 3)
    """
    text = str(path)
    if "://" in text:
        raise ValueError(
            f"{text!r} is a URL: predict reads local image files and arrays only; download the image first "
            "(emotionkit.stream accepts video stream URLs)"
        )
    if not text:
        raise FileNotFoundError("image file path is empty")
    path = Path(text)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ValueError(f"{path} is not a readable image (accepted: PNG, JPEG, BMP, TIFF, WebP, ...)")
    return image


def as_image(image: object, color: ColorOrder = "bgr", name: str = "image") -> tuple[np.ndarray, ColorOrder]:
    """Turn a path or an image array into a validated ``uint8`` array and its channel order.

    Args:
        image: A file path (read as BGR) or an array (see
            [`check_image`][emotionkit.preprocessing.check_image]); arrays are never modified.
        color: Channel order of colour arrays, ``"bgr"`` or ``"rgb"``.
        name: How to call the input in error messages.

    Returns:
        ``(array, color)``: files always come back as ``"bgr"``.

    Raises:
        FileNotFoundError: If a path does not exist.
        TypeError: If the input is neither a path nor an array.
        ValueError: If ``color`` is unknown, a file is not an image, or the array is unsupported.

    Examples:
        >>> as_image(np.zeros((4, 4), np.uint8))[0].shape
        (4, 4)
    """
    if color not in ("bgr", "rgb"):
        raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
    if isinstance(image, (str, Path)):
        return load_image(image), "bgr"
    if isinstance(image, np.ndarray):
        return check_image(image, name), color
    raise TypeError(
        f"{name} has type {type(image).__name__}; expected a file path (str or Path), a numpy image "
        "array (H, W[, C]), or a list of those"
    )
