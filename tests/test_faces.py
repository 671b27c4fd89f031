from __future__ import annotations

import importlib.util
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT, CAMERA
from emotionkit.faces import (
    BLAZEFACE_ONNX_SHA256,
    BLAZEFACE_SHA256,
    BlazeFaceDetector,
    DetectedFace,
    FaceDetector,
    HaarDetector,
)
from emotionkit.hub import sha256_file

HAS_ORT = importlib.util.find_spec("onnxruntime") is not None
ENGINES = ["opencv", pytest.param("onnxruntime", marks=pytest.mark.skipif(not HAS_ORT, reason="needs onnxruntime"))]


@pytest.mark.parametrize("engine", ENGINES)
def test_bundled_blazeface_files_are_the_published_ones(engine: str) -> None:
    detector = BlazeFaceDetector(engine=engine)
    assert detector.engine == engine
    expected = BLAZEFACE_ONNX_SHA256 if engine == "onnxruntime" else BLAZEFACE_SHA256
    assert sha256_file(detector.model_path) == expected
    assert isinstance(detector, FaceDetector)


def test_auto_engine_is_onnxruntime_when_installed() -> None:
    assert BlazeFaceDetector().engine == ("onnxruntime" if HAS_ORT else "opencv")
    with pytest.raises(ValueError, match="unknown engine 'tflite'; accepted: auto, onnxruntime, opencv"):
        BlazeFaceDetector(engine="tflite")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_shared_detector_is_safe_across_threads(engine: str) -> None:
    """4 threads sharing one detector get the boxes of sequential calls (a shared cv2.dnn net did not)."""
    image = cv2.imread(str(ASTRONAUT))
    images = [image, cv2.copyMakeBorder(image, 0, 0, 200, 200, cv2.BORDER_REFLECT), image[:, ::-1].copy()] * 20
    detector = BlazeFaceDetector(engine=engine)
    expected = [[f.box for f in detector.detect(im)] for im in images[:3]]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(detector.detect, images))
    assert [[f.box for f in faces] for faces in results] == expected * 20


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
    if not HaarDetector.available():
        with pytest.raises(RuntimeError, match="OpenCV"):
            HaarDetector()
        return
    faces = HaarDetector().detect(cv2.imread(str(ASTRONAUT)))
    assert len(faces) >= 1 and faces[0].keypoints is None
    with pytest.raises(FileNotFoundError):
        HaarDetector(cascade_path="missing.xml")


def test_eye_angle_without_keypoints_is_zero() -> None:
    assert DetectedFace((0, 0, 1, 1), 0.5).eye_angle() == 0.0
