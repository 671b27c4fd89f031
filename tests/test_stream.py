"""stream(): sources, release on every exit path, skipping, tracking, faults; the demo CLI."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT, shared, write_clip
from emotionkit import EmotionRecognizer, FacePrediction, stream
from emotionkit.streaming import FaceTracker

CLIP = ("data", "media", "tears_of_steel_0500-0510_640x360.mp4")


class FakeCapture:
    """A capture that returns ``frames`` frames, then fails (or raises) on every read."""

    def __init__(self, frame: np.ndarray, frames: int, raise_after: bool = False) -> None:
        self.frame, self.left, self.raise_after = frame, frames, raise_after
        self.released = False
        self.reads = 0

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        if self.left <= 0:
            if self.raise_after:
                raise cv2.error("simulated unplugged camera")
            return False, None
        self.left -= 1
        return True, self.frame.copy()

    def release(self) -> None:
        self.released = True


@pytest.fixture(scope="module")
def astronaut_frame() -> np.ndarray:
    frame = cv2.imread(str(ASTRONAUT))
    return cv2.copyMakeBorder(frame, 0, 0, 64, 64, cv2.BORDER_CONSTANT)


def test_iterable_source_gives_every_frame(tiny_recognizer: EmotionRecognizer, astronaut_frame: np.ndarray) -> None:
    with stream([astronaut_frame] * 4, tiny_recognizer) as frames:
        results = list(frames)
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert all(len(r.faces) == 1 and r.faces[0].track_id == 0 for r in results)
    assert all(r.skipped == 0 for r in results) and results[-1].fps > 0
    data = json.loads(json.dumps(results[0].to_dict()))
    assert data["faces"][0]["track_id"] == 0 and "frame" not in data


def test_every_nth_frame_reports_skips(tiny_recognizer: EmotionRecognizer, astronaut_frame: np.ndarray) -> None:
    results = list(stream([astronaut_frame] * 7, tiny_recognizer, every=3))
    assert [r.index for r in results] == [0, 3, 6]
    assert [r.skipped for r in results] == [0, 2, 2]


def test_capture_released_after_break_and_exception(
    tiny_recognizer: EmotionRecognizer, astronaut_frame: np.ndarray
) -> None:
    cap = FakeCapture(astronaut_frame, 100)
    with stream(cap, tiny_recognizer) as frames:
        for _ in frames:
            break
    assert cap.released

    cap = FakeCapture(astronaut_frame, 100)
    with pytest.raises(RuntimeError, match="boom"), stream(cap, tiny_recognizer) as frames:
        for _ in frames:
            raise RuntimeError("boom")
    assert cap.released

    cap = FakeCapture(astronaut_frame, 100)
    for _ in stream(cap, tiny_recognizer):  # plain iteration, no with-block
        break
    gc.collect()
    assert cap.released


def test_read_failure_mid_stream_ends_cleanly(tiny_recognizer: EmotionRecognizer, astronaut_frame: np.ndarray) -> None:
    cap = FakeCapture(astronaut_frame, 3, raise_after=True)
    results = list(stream(cap, tiny_recognizer, max_retries=2, retry_delay=0.0, realtime=False))
    assert len(results) == 3 and cap.released
    assert cap.reads == 3 + 3  # 3 frames, then the first failure and 2 retries

    cap = FakeCapture(astronaut_frame, 2)  # live mode (reader thread): ends too, never hangs
    results = list(stream(cap, tiny_recognizer, max_retries=1, retry_delay=0.0))
    assert 1 <= len(results) <= 2 and cap.released


def test_live_source_drops_stale_frames(tiny_recognizer: EmotionRecognizer, astronaut_frame: np.ndarray) -> None:
    class SlowConsumerCapture(FakeCapture):
        def read(self) -> tuple[bool, np.ndarray | None]:
            import time

            time.sleep(0.002)
            return super().read()

    cap = SlowConsumerCapture(astronaut_frame, 300)
    results = []
    import time

    for r in stream(cap, tiny_recognizer, max_retries=0):
        time.sleep(0.05)  # an application slower than the camera
        results.append(r)
    assert results, "frames must arrive"
    assert results[-1].index > len(results), "older frames are dropped, not queued"
    assert sum(r.skipped for r in results) > 0 and cap.released


def test_unsupported_and_missing_sources(tiny_recognizer: EmotionRecognizer, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="camera index"):
        stream(3.5, tiny_recognizer)
    with pytest.raises(TypeError, match="camera index"):
        stream(None, tiny_recognizer)
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        stream(tmp_path / "missing.mp4", tiny_recognizer)
    with pytest.raises(OSError, match="cannot open camera 57"):
        stream(57, tiny_recognizer)
    (tmp_path / "bad.mp4").write_text("not a video")
    with pytest.raises(OSError, match="cannot open video source"):
        stream(tmp_path / "bad.mp4", tiny_recognizer)
    with pytest.raises(ValueError, match="every"):
        stream([], tiny_recognizer, every=0)
    with pytest.raises(ValueError, match="smoothing"):
        stream([], tiny_recognizer, smoothing=1.0)
    with pytest.raises(TypeError, match="frame 0"):
        list(stream(["not a frame"], tiny_recognizer))
    with pytest.raises(ValueError, match="fps must be a positive number and comes instead of every"):
        stream([], tiny_recognizer, fps=0)
    with pytest.raises(ValueError, match="fps must be a positive number and comes instead of every"):
        stream([], tiny_recognizer, fps=5, every=2)
    with pytest.raises(ValueError, match="fps needs a video file with a known frame rate"):
        stream([np.zeros((8, 8, 3), np.uint8)], tiny_recognizer, fps=5)


def test_fps_picks_frames_of_a_file_by_its_frame_rate(tiny_recognizer: EmotionRecognizer, tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mp4", [cv2.imread(str(ASTRONAUT))] * 9)
    with stream(path, tiny_recognizer, fps=2.5) as results:  # every 4th frame of a 10 FPS file
        got = [(r.index, r.timestamp, r.skipped) for r in results]
    assert got == [(0, 0.0, 0), (4, 0.4, 3), (8, 0.8, 3)]


def test_tracker_ids_and_smoothing() -> None:
    def face(x: int, happy: float) -> FacePrediction:
        return FacePrediction((x, 0, 50, 50), "happy", happy, {"happy": happy, "sad": 1 - happy})

    tracker = FaceTracker(smoothing=0.5)
    first = tracker.update([face(0, 1.0), face(200, 1.0)])
    second = tracker.update([face(205, 0.0), face(3, 0.0)])
    assert [f.track_id for f in first] == [0, 1]
    assert [f.track_id for f in second] == [1, 0]
    assert second[0].probabilities["happy"] == pytest.approx(0.5)
    raw = FaceTracker(smoothing=0.0)
    raw.update([face(0, 1.0)])
    assert raw.update([face(0, 0.2)])[0].probabilities["happy"] == pytest.approx(0.2)
    new = tracker.update([face(600, 0.3)])
    assert new[0].track_id == 2


@pytest.mark.data
def test_real_clip_face_found_and_tracked(tiny_recognizer: EmotionRecognizer) -> None:
    """The bundled detector finds and tracks the close-up face; the tiny classifier keeps 240 frames fast on
    every backend (detection and tracking do not depend on the classifier)."""
    clip = shared(*CLIP)
    with stream(clip, tiny_recognizer) as frames:
        results = list(frames)
    assert len(results) == 240 and [r.index for r in results] == list(range(240))
    assert results[100].timestamp == pytest.approx(100 / 24, abs=0.01)
    window = results[80:181]
    with_face = [r for r in window if r.faces]
    assert len(with_face) >= 0.9 * len(window)
    ids = [r.faces[0].track_id for r in with_face]
    most = max(set(ids), key=ids.count)
    assert ids.count(most) >= 0.9 * len(with_face), "the close-up face keeps one track id"


@pytest.mark.data
def test_demo_headless_writes_video_and_json(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from emotionkit.demo import main

    out = tmp_path / "annotated.mp4"
    source = ["--source", str(shared(*CLIP)), "--model", str(tiny_model_dir)]
    code = main([*source, "--no-window", "--output", str(out), "--json", "--every", "1"])
    assert code == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 240 and lines[100]["index"] == 100
    cap = cv2.VideoCapture(str(out))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 240
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == (360, 640, 3)


def test_demo_without_camera_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    from emotionkit.demo import main

    assert main(["--source", "57", "--no-window"]) == 1
    err = capsys.readouterr().err
    assert "cannot open camera 57" in err and "Traceback" not in err
