from __future__ import annotations

import numpy as np
import pytest

from emotionkit.labels import EMOTIONS, FIVE_CLASSES, label_indices, validate_labels
from emotionkit.preprocessing import check_image, crop_face, prepare_faces, to_gray


def test_labels_validate_and_index() -> None:
    assert validate_labels(["sad", "happy"]) == ("sad", "happy")
    assert label_indices(FIVE_CLASSES) == [0, 3, 4, 5, 6]
    with pytest.raises(ValueError, match="valid labels are: angry"):
        validate_labels(["joy"])
    with pytest.raises(TypeError, match="sequence of label names"):
        validate_labels("happy")
    with pytest.raises(ValueError, match="repeat"):
        validate_labels(["sad", "sad"])
    assert len(EMOTIONS) == 7


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (None, TypeError, "is None"),
        ([[1, 2]], TypeError, "has type list"),
        (np.zeros(10, np.uint8), ValueError, r"shape \(10,\)"),
        (np.zeros((0, 5), np.uint8), ValueError, "empty"),
        (np.zeros((4, 4, 2), np.uint8), ValueError, "shape"),
        (np.zeros((4, 4), np.int32), TypeError, "dtype int32"),
        (np.full((4, 4), 2.0), ValueError, r"values in \[2, 2\]"),
        (np.full((4, 4), np.nan), ValueError, "NaN"),
        (np.zeros((4, 4), bool), TypeError, "dtype bool"),
    ],
)
def test_check_image_rejects_clearly(bad: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        check_image(bad)


def test_check_image_converts_floats_without_touching_input() -> None:
    image = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    before = image.copy()
    out = check_image(image)
    assert out.dtype == np.uint8 and out.max() == 255 and out.min() == 0
    np.testing.assert_array_equal(image, before)


def test_to_gray_handles_channel_orders_and_alpha() -> None:
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 2] = 255  # red in BGR
    rgb = bgr[..., ::-1].copy()
    assert to_gray(bgr, "bgr")[0, 0] == to_gray(rgb, "rgb")[0, 0] == 76
    bgra = np.dstack([bgr, np.full((2, 2), 7, np.uint8)])
    assert to_gray(bgra)[0, 0] == 76
    assert to_gray(np.ones((2, 2, 1), np.uint8)).shape == (2, 2)
    with pytest.raises(ValueError, match="'bgr' or 'rgb'"):
        to_gray(bgr, "hsv")  # type: ignore[arg-type]


def test_crop_face_square_margin_padding_and_shift() -> None:
    gray = np.arange(100, dtype=np.uint8).reshape(10, 10)
    assert crop_face(gray, (2, 2, 4, 4)).tolist() == gray[2:6, 2:6].tolist()
    assert crop_face(gray, (2, 2, 4, 4), margin=0.25).shape == (6, 6)
    edge = crop_face(gray, (0, 0, 4, 4), margin=0.5)  # 8x8 square sticking out top-left
    assert edge.shape == (8, 8) and edge[0, 0] == gray[0, 0]
    shifted = crop_face(gray, (2, 2, 4, 4), shift_y=0.5)
    assert shifted.tolist() == gray[4:8, 2:6].tolist()
    out = crop_face(gray, (2, 2, 4, 4))
    out[:] = 0
    assert gray[2, 2] == 22, "crop must be a copy"
    with pytest.raises(ValueError, match="positive size"):
        crop_face(gray, (0, 0, 0, 3))
    with pytest.raises(ValueError, match="outside the image"):
        crop_face(gray, (50, 50, 3, 3))


def test_crop_face_rotation_levels_a_tilted_line() -> None:
    import cv2

    gray = np.zeros((100, 100), np.uint8)
    cv2.line(gray, (20, 40), (80, 60), 255, 3)  # eye line tilted down to the right
    angle = float(np.degrees(np.arctan2(20, 60)))
    level = crop_face(gray, (20, 20, 60, 60), angle=angle)
    rows = np.flatnonzero(level.max(axis=1) > 128)
    assert rows.max() - rows.min() <= 4, "the line should come out horizontal"


def test_prepare_faces_shapes_range_and_no_mutation() -> None:
    faces = [np.full((96, 96, 3), 255, np.uint8), np.zeros((30, 20), np.uint8)]
    before = [f.copy() for f in faces]
    batch = prepare_faces(faces, 48)
    assert batch.shape == (2, 48, 48, 1) and batch.dtype == np.float32
    assert batch[0].min() == 1.0 and batch[1].max() == 0.0
    for f, b in zip(faces, before):
        np.testing.assert_array_equal(f, b)
    assert prepare_faces(np.zeros((3, 48, 48), np.uint8), 48).shape == (3, 48, 48, 1)
    with pytest.raises(ValueError, match="empty batch"):
        prepare_faces([], 48)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        prepare_faces(np.zeros((48, 48), np.uint8), 48)
    with pytest.raises(TypeError, match="face 1"):
        prepare_faces([np.zeros((4, 4), np.uint8), "x"], 48)  # type: ignore[list-item]


def test_prepare_faces_fast_path_for_sized_grey_batches_matches_the_per_face_path() -> None:
    batch = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    fast = prepare_faces(batch, 48)
    per_face = prepare_faces(list(batch), 48)  # a list takes the general path
    np.testing.assert_array_equal(fast, per_face)
    np.testing.assert_array_equal(prepare_faces(batch[..., None], 48), per_face)
    assert not np.shares_memory(fast, batch)
