from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT, CAMERA
from emotionkit.faces import BLAZEFACE_SHA256, BlazeFaceDetector, DetectedFace, FaceDetector, HaarDetector
from emotionkit.hub import sha256_file


def test_bundled_blazeface_file_is_the_published_one() -> None:
    detector = BlazeFaceDetector()
    assert sha256_file(detector.model_path) == BLAZEFACE_SHA256
    assert isinstance(detector, FaceDetector)


def test_blazeface_finds_the_astronaut_with_eyes() -> None:
    image = cv2.imread(str(ASTRONAUT))
    faces = BlazeFaceDetector().detect(image)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    # the face spans roughly x 170-280, y 80-190 in this 512x512 photo
    assert 160 < x < 200 and 70 < y < 110 and 70 < w < 130 and 70 < h < 130
    assert faces[0].keypoints is not None and faces[0].keypoints.shape == (6, 2)
    right_eye, left_eye = faces[0].keypoints[:2]
    assert right_eye[0] < left_eye[0] and abs(faces[0].eye_angle()) < 20


def test_blazeface_on_grey_profile_and_blank_images() -> None:
    detector = BlazeFaceDetector()
    assert len(detector.detect(cv2.imread(str(CAMERA), cv2.IMREAD_GRAYSCALE))) == 1
    assert detector.detect(np.zeros((300, 200, 3), np.uint8)) == []
    assert detector.detect(np.full((1, 1), 128, np.uint8)) == []


def test_blazeface_huge_image_boxes_in_original_coordinates() -> None:
    image = cv2.imread(str(ASTRONAUT))
    small = BlazeFaceDetector().detect(image)[0].box
    huge = cv2.resize(image, None, fx=8, fy=8, interpolation=cv2.INTER_LINEAR)  # 4096x4096
    big = BlazeFaceDetector().detect(huge)[0].box
    for a, b in zip(small, big):
        assert abs(b / 8 - a) <= 4


def test_detector_argument_validation() -> None:
    with pytest.raises(ValueError, match="score_threshold"):
        BlazeFaceDetector(score_threshold=2)
    with pytest.raises(FileNotFoundError, match="nope.tflite"):
        BlazeFaceDetector(model_path="nope.tflite")


def test_haar_detector_where_opencv_ships_cascades() -> None:
    if not hasattr(cv2, "CascadeClassifier") or not getattr(getattr(cv2, "data", None), "haarcascades", ""):
        with pytest.raises(RuntimeError, match="OpenCV"):
            HaarDetector()
        return
    faces = HaarDetector().detect(cv2.imread(str(ASTRONAUT)))
    assert len(faces) >= 1 and faces[0].keypoints is None
    with pytest.raises(FileNotFoundError):
        HaarDetector(cascade_path="missing.xml")


def test_eye_angle_without_keypoints_is_zero() -> None:
    assert DetectedFace((0, 0, 1, 1), 0.5).eye_angle() == 0.0
