"""The public pipeline steps, and the probes of issue #18 written as a careless caller would."""

from __future__ import annotations

import gc
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from conftest import ASTRONAUT
from emotionkit import EmotionRecognizer, stream
from emotionkit.labels import EMOTIONS


def test_predict_is_the_four_public_steps(tiny_recognizer) -> None:
    rec = tiny_recognizer
    faces = rec.detect(ASTRONAUT)
    crops = rec.crop(ASTRONAUT, faces)
    probs = rec.classify(crops)
    assert probs.shape == (len(faces), len(EMOTIONS)) and probs.dtype == np.float32
    stepwise = rec.predictions(probs, [f.box for f in faces], [f.score for f in faces])
    assert rec.predict(ASTRONAUT) == stepwise
    assert [p.probabilities for p in rec.predict_faces(crops)] == [p.probabilities for p in stepwise]


def test_classify_flip_tta_is_the_mean_of_the_crop_and_its_mirror(tiny_recognizer) -> None:
    crops = np.random.default_rng(0).integers(0, 255, (3, 48, 48), dtype=np.uint8)
    both = tiny_recognizer.classify(crops, flip_tta=True)
    mirrored = tiny_recognizer.classify(np.ascontiguousarray(crops[:, :, ::-1]))
    np.testing.assert_allclose(both, (tiny_recognizer.classify(crops) + mirrored) / 2, atol=1e-6)


def test_predictions_check_their_inputs(tiny_recognizer) -> None:
    with pytest.raises(ValueError, match=r"shape \(N, 7\)"):
        tiny_recognizer.predictions(np.zeros((1, 3)), [(0, 0, 1, 1)])
    with pytest.raises(ValueError, match="1 probability rows, 2 boxes"):
        tiny_recognizer.predictions(np.full((1, 7), 1 / 7), [(0, 0, 1, 1)] * 2)


def test_changing_the_model_attribute_never_leaves_stale_predictions(tiny_recognizer) -> None:
    """Probe: zero every weight of rec.model, then predict_faces."""
    faces = np.random.default_rng(1).integers(0, 255, (4, 48, 48), dtype=np.uint8)
    before = tiny_recognizer.classify(faces)
    model = tiny_recognizer.model
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    np.testing.assert_array_equal(tiny_recognizer.classify(faces), before)  # rec.model is a copy
    changed = EmotionRecognizer(model, tiny_recognizer.config)  # the documented way to use new weights
    np.testing.assert_allclose(changed.classify(faces), 1 / 7, atol=1e-6)  # all-zero weights: uniform output


def test_a_model_passed_to_the_constructor_is_copied(tiny_recognizer) -> None:
    model = tiny_recognizer.model
    rec = EmotionRecognizer(model, tiny_recognizer.config)
    faces = np.zeros((1, 48, 48), np.uint8)
    before = rec.classify(faces)
    model.set_weights([w + 1.0 for w in model.get_weights()])
    np.testing.assert_array_equal(rec.classify(faces), before)


def test_one_colour_crop_is_not_read_as_48_crops(tiny_recognizer) -> None:
    """Probe: predict_faces on one colour crop of shape (48, 48, 3)."""
    crop = np.zeros((48, 48, 3), np.uint8)
    with pytest.raises(ValueError, match=r"shape \(48, 48, 3\) is ambiguous.*pass \[crop\]"):
        tiny_recognizer.predict_faces(crop)
    assert len(tiny_recognizer.predict_faces([crop])) == 1
    assert len(tiny_recognizer.predict_faces(crop[None])) == 1


@pytest.mark.parametrize("shape", [(1, 2000), (2000, 1), (4, 30000)])
def test_degenerate_images_are_fast(tiny_recognizer, shape: tuple[int, int]) -> None:
    """Probe: 1 x 2000, 2000 x 1 and 4 x 30000 pixels took 4-25 s (uncapped detector tiles)."""
    start = time.perf_counter()
    assert tiny_recognizer.predict(np.zeros(shape, np.uint8)) == []
    assert time.perf_counter() - start < 2.0


def test_detector_tiles_are_capped() -> None:
    from emotionkit.faces import BlazeFaceDetector

    detector = BlazeFaceDetector()
    assert len(detector.regions(4, 30000)) == 1  # too thin to tile
    assert len(detector.regions(100, 30000)) == 1 + BlazeFaceDetector.MAX_TILES


def test_a_shared_recognizer_is_safe_across_threads(tiny_recognizer, astronaut_bgr: np.ndarray) -> None:
    """One recognizer used by 4 threads gives the same faces and probabilities as sequential calls."""
    camera = np.ascontiguousarray(astronaut_bgr[:, ::-1])
    images = [astronaut_bgr, camera] * 20
    expected = [tiny_recognizer.predict(image) for image in images[:2]]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(tiny_recognizer.predict, images))
    for i, got in enumerate(results):
        want = expected[i % 2]
        assert [f.box for f in got] == [f.box for f in want]
        for a, b in zip(got, want):
            assert a.label == b.label
            np.testing.assert_allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=1e-5)


class _FakeCapture:
    """A capture whose read() returns a few frames, then raises the given exception."""

    def __init__(self, error: BaseException | None, frames: int = 2) -> None:
        self.error = error
        self.frames = frames
        self.released = threading.Event()

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.frames > 0:
            self.frames -= 1
            return True, np.zeros((64, 64, 3), np.uint8)
        if self.error is not None:
            raise self.error
        return False, None

    def release(self) -> None:
        self.released.set()


@pytest.mark.parametrize("realtime", [True, False])
def test_an_exception_in_read_reaches_the_caller_and_releases_the_capture(tiny_recognizer, realtime: bool) -> None:
    """Probe: a capture whose read() raises TypeError looped forever."""
    capture = _FakeCapture(TypeError("read() broke"))
    results = stream(capture, tiny_recognizer, realtime=realtime, max_retries=0)
    with pytest.raises(TypeError, match="read\\(\\) broke"):
        for _ in results:
            pass
    assert capture.released.wait(5.0)


@pytest.mark.parametrize("realtime", [True, False])
def test_keyboard_interrupt_in_read_reaches_the_caller(tiny_recognizer, realtime: bool) -> None:
    """Probe: Ctrl-C while read() waits was swallowed and the stream kept going."""
    capture = _FakeCapture(KeyboardInterrupt(), frames=0)
    with pytest.raises(KeyboardInterrupt):
        for _ in stream(capture, tiny_recognizer, realtime=realtime):
            pass
    assert capture.released.wait(5.0)


def test_break_without_with_releases_the_capture_at_once(tiny_recognizer) -> None:
    """Probe: `for r in stream(cap): break` kept the webcam open until the garbage collector ran."""
    capture = _FakeCapture(None, frames=1000)
    gc.disable()
    try:
        for _ in stream(capture, tiny_recognizer, realtime=False):
            break
        assert capture.released.is_set()  # before any garbage collection
    finally:
        gc.enable()


def test_next_on_a_stream_still_works(tiny_recognizer) -> None:
    frames = [np.zeros((64, 64, 3), np.uint8)] * 3
    results = stream(frames, tiny_recognizer)
    assert next(results).index == 0
    assert next(results).index == 1
    results.close()
    with pytest.raises(RuntimeError, match="already iterated"):
        iter(results)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("temperature", 0, "temperature must be a finite number > 0"),
        ("temperature", -1, "temperature must be a finite number > 0"),
        ("sharpness", -5, "sharpness must be a finite number > 0"),
        ("gate_offset", float("nan"), "gate_offset must be a finite number"),
    ],
)
def test_personalize_rejects_bad_options_before_any_work(tiny_recognizer, option: str, value: float, message: str):
    """Probe: temperature=0 produced NaN probabilities."""
    crops = [np.zeros((48, 48), np.uint8)] * 2
    with pytest.raises(ValueError, match=message):
        tiny_recognizer.personalize(crops, ["happy", "sad"], crops=True, **{option: value})


def test_cli_annotate_with_an_unknown_extension_is_a_usage_error(tmp_path: Path, capsys) -> None:
    """Probe: `emotionkit predict --sample --annotate out.xyz` printed a cv2 traceback."""
    from emotionkit.cli import main

    assert main(["predict", "--sample", "--annotate", str(tmp_path / "out.xyz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ".png" in err[0] and "out.xyz" in err[0]
    assert not (tmp_path / "out.xyz").exists()


def test_old_module_names_warn_and_keep_working() -> None:
    import importlib
    import sys

    import emotionkit

    for name in ("emotionkit.stream", "emotionkit.inference", "emotionkit.data_paths"):
        sys.modules.pop(name, None)
        with pytest.warns(DeprecationWarning, match="deprecated"):
            importlib.import_module(name)
    from emotionkit.stream import FaceTracker  # the old import still works
    from emotionkit.streaming import FaceTracker as NewTracker

    assert FaceTracker is NewTracker
    frames = [np.zeros((32, 32, 3), np.uint8)]
    assert callable(emotionkit.stream)  # still the function after `import emotionkit.stream`
    assert isinstance(emotionkit.stream(frames, recognizer=_StubRecognizer()), emotionkit.streaming.Stream)


class _StubRecognizer:
    def predict(self, image: np.ndarray, max_faces: int | None = None) -> list:
        return []


def test_urls_and_empty_names_get_clear_errors(tiny_recognizer) -> None:
    with pytest.raises(ValueError, match="is a URL: predict reads local image files.*stream accepts"):
        tiny_recognizer.predict("http://example.com/face.jpg")
    with pytest.raises(FileNotFoundError, match="image file path is empty"):
        tiny_recognizer.predict("")


def test_a_missing_camera_is_one_clear_error_without_opencv_noise(tiny_recognizer, capfd) -> None:
    capfd.readouterr()
    with pytest.raises(OSError, match="cannot open camera 9"):
        stream(9, tiny_recognizer)
    captured = capfd.readouterr()  # file-descriptor level: what OpenCV's C++ code would print
    assert captured.err == "" and captured.out == ""


def test_loading_an_unchanged_folder_again_reuses_its_runtime(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    first = EmotionRecognizer.from_pretrained(tiny_model_dir)
    assert EmotionRecognizer.from_pretrained(tiny_model_dir).runtime is first.runtime
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "copy"))
    other = EmotionRecognizer.from_pretrained(copy)
    assert other.runtime is not first.runtime
    model = other.model
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    EmotionRecognizer(model, other.config).save_pretrained(copy)  # the folder's files change
    reloaded = EmotionRecognizer.from_pretrained(copy)
    assert reloaded.runtime is not other.runtime
    np.testing.assert_allclose(reloaded.classify(np.zeros((1, 48, 48), np.uint8)), 1 / 7, atol=1e-6)
