"""Real-time emotion recognition over cameras, video files, URLs or any iterable of frames.

[`stream`][emotionkit.streaming.stream] (also ``emotionkit.stream``) returns a
[`Stream`][emotionkit.streaming.Stream]: iterate it (or use it as a context manager) to get one
[`FrameResult`][emotionkit.streaming.FrameResult] per processed frame, with faces tracked
across frames and their probabilities smoothed over time.

This module was called ``emotionkit.stream`` before 0.2; that name now means only the function.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import time
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from emotionkit.preprocessing import check_image
from emotionkit.recognizer import EmotionRecognizer, FacePrediction

__all__ = ["FrameResult", "Stream", "FaceTracker", "VideoSource", "stream"]

_ACCEPTED = (
    "a camera index (int or digit string such as '0'), a video file path, a stream URL "
    "('rtsp://...', 'http://...'), an object with read() -> (ok, frame) such as cv2.VideoCapture, "
    "or an iterable of numpy BGR frames"
)


@runtime_checkable
class VideoSource(Protocol):
    """Anything that reads frames like ``cv2.VideoCapture``."""

    def read(self) -> tuple[bool, Any]:
        """Return ``(ok, frame)``."""
        ...


@dataclass(frozen=True)
class FrameResult:
    """One processed frame.

    Attributes:
        index: Position of the frame in the source (0-based, counting skipped frames).
        timestamp: Seconds: the frame's position in a file (index / file FPS), or
            time since the stream started for cameras, URLs and iterables.
        frame: The frame as a BGR ``uint8`` array.
        faces: Predictions, each with a ``track_id``; probabilities smoothed if enabled.
        fps: Processed frames per second (moving average).
        skipped: Source frames dropped since the previous result (``every`` > 1,
            or a live source faster than processing).
    """

    index: int
    timestamp: float
    frame: np.ndarray
    faces: list[FacePrediction]
    fps: float
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (without the frame pixels).

        Returns:
            ``{"index", "timestamp", "fps", "skipped", "faces": [...]}``.

        Examples:
            >>> FrameResult(3, 0.1, np.zeros((2, 2, 3), np.uint8), [], 30.0).to_dict()["index"]
            3
        """
        return {
            "index": self.index,
            "timestamp": round(self.timestamp, 4),
            "fps": round(self.fps, 2),
            "skipped": self.skipped,
            "faces": [f.to_dict() for f in self.faces],
        }


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


class FaceTracker:
    """Greedy box-overlap tracking with exponential smoothing of each track's probabilities.

    Args:
        smoothing: Weight of the past in ``p = smoothing * p_prev + (1 - smoothing) * p_new``;
            0 gives raw per-frame probabilities.
        min_iou: Overlap needed to continue a track.
        max_age: Processed frames a track survives unseen.

    Raises:
        ValueError: If ``smoothing`` is not in ``[0, 1)``.

    Examples:
        >>> tracker = FaceTracker(smoothing=0.5)
        >>> face = FacePrediction((0, 0, 10, 10), "happy", 1.0, {"happy": 1.0, "sad": 0.0})
        >>> tracker.update([face])[0].track_id
        0
    """

    def __init__(self, smoothing: float = 0.6, min_iou: float = 0.3, max_age: int = 10) -> None:
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing
        self.min_iou = min_iou
        self.max_age = max_age
        self._tracks: dict[int, dict[str, Any]] = {}
        self._next_id = 0

    def update(self, faces: list[FacePrediction]) -> list[FacePrediction]:
        """Match this frame's faces to tracks and return them with ``track_id`` and smoothed probabilities.

        Args:
            faces: Raw predictions of one frame.

        Returns:
            New predictions, same order.
        """
        pairs = sorted(
            ((_iou(f.box, t["box"]), i, tid) for i, f in enumerate(faces) for tid, t in self._tracks.items()),
            reverse=True,
        )
        assigned: dict[int, int] = {}
        used: set[int] = set()
        for overlap, i, tid in pairs:
            if overlap < self.min_iou:
                break
            if i in assigned or tid in used:
                continue
            assigned[i] = tid
            used.add(tid)
        out = []
        for i, face in enumerate(faces):
            names = list(face.probabilities)
            probs = np.array([face.probabilities[n] for n in names])
            matched = assigned.get(i)
            if matched is None:
                tid = self._next_id
                self._next_id += 1
            else:
                tid = matched
            if matched is not None and self.smoothing:
                probs = self.smoothing * self._tracks[tid]["probs"] + (1.0 - self.smoothing) * probs
            self._tracks[tid] = {"box": face.box, "probs": probs, "age": 0}
            best = int(np.argmax(probs))
            out.append(
                dataclasses.replace(
                    face,
                    label=names[best],
                    score=float(probs[best]),
                    probabilities={n: float(p) for n, p in zip(names, probs)},
                    track_id=tid,
                )
            )
        for tid in list(self._tracks):
            if tid not in used and tid not in assigned.values():
                self._tracks[tid]["age"] += 1
                if self._tracks[tid]["age"] > self.max_age:
                    del self._tracks[tid]
        return out


class _LatestFrameReader:
    """Reads a live capture on a thread, keeping only the newest frame (no backlog)."""

    def __init__(self, capture: Any, retries: int, retry_delay: float) -> None:
        self.capture = capture
        self.retries = retries
        self.retry_delay = retry_delay
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._index = -1
        self._done = False
        self._stop = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="emotionkit-capture", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stop:
                ok, frame = _safe_read(self.capture)
                if not ok:
                    failures += 1
                    if failures > self.retries:
                        break
                    time.sleep(self.retry_delay)
                    continue
                failures = 0
                with self._cond:
                    self._frame = frame
                    self._index += 1
                    self._cond.notify_all()
        except BaseException as exc:
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def next(self, last_index: int) -> tuple[int, np.ndarray] | None:
        """The newest frame after ``last_index``; ``None`` at the end; re-raises what ``read()`` raised."""
        with self._cond:
            while self._index <= last_index and not self._done:
                self._cond.wait(timeout=0.5)
            if self._error is not None:
                raise self._error
            if self._index <= last_index or self._frame is None:
                return None
            return self._index, self._frame

    def stop(self) -> None:
        self._stop = True
        self._thread.join(timeout=5.0)


def _safe_read(capture: Any) -> tuple[bool, Any]:
    try:
        ok, frame = capture.read()
    except (cv2.error, OSError, RuntimeError, ValueError):
        return False, None
    return bool(ok) and frame is not None, frame


class _StreamIterator:
    """The iterator a for loop holds: closes its stream as soon as the loop lets go of it (e.g. on ``break``).

    The stream does not reference it, so with CPython's reference counting the
    capture is released at the ``break`` itself, not at some later garbage collection.
    """

    def __init__(self, frames: Generator[FrameResult, None, None]) -> None:
        self._frames = frames

    def __iter__(self) -> _StreamIterator:
        return self

    def __next__(self) -> FrameResult:
        return next(self._frames)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finaliser
            self._frames.close()


class Stream:
    """An open stream of [`FrameResult`][emotionkit.streaming.FrameResult]; iterate it once.
    Created by [`stream`][emotionkit.streaming.stream].

    The capture is released when iteration ends, when a ``for`` loop over it is left
    (``break``, ``return``, an exception), when the ``with`` block exits, on
    [`close`][emotionkit.streaming.Stream.close] and on garbage collection. An exception
    raised by the source's ``read()`` (other than a failed read: OpenCV errors, ``OSError``)
    reaches the caller, ``KeyboardInterrupt`` included. Capture objects passed in are
    owned (released) by the stream.
    """

    def __init__(
        self,
        source: Any,
        recognizer: EmotionRecognizer,
        *,
        every: int,
        realtime: bool | None,
        smoothing: float,
        max_retries: int,
        retry_delay: float,
        max_faces: int | None,
        fps: float | None = None,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        if fps is not None and (every != 1 or not (math.isfinite(fps) and fps > 0)):
            raise ValueError(f"fps must be a positive number and comes instead of every, got fps={fps}, every={every}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.recognizer = recognizer
        self.every = every
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.max_faces = max_faces
        self.tracker = FaceTracker(smoothing)
        self._capture: Any = None
        self._frames: Iterator[Any] | None = None
        self.source_fps: float | None = None
        self.description = repr(source)
        self._reader: _LatestFrameReader | None = None
        self._started = False
        self._current: _StreamIterator | None = None  # only for next(stream)
        self.closed = False
        live = self._open(source)
        if fps is not None:
            if self.source_fps is None:
                self.close()
                raise ValueError(
                    f"fps needs a video file with a known frame rate; {self.description} has none (use every)"
                )
            self.every = max(1, round(self.source_fps / fps))
        self.realtime = live if realtime is None else realtime

    def _open(self, source: Any) -> bool:
        """Open the source; return whether it is live (camera or URL)."""
        if isinstance(source, (bool, np.ndarray)) or source is None:
            raise TypeError(f"unsupported stream source {type(source).__name__}; expected {_ACCEPTED}")
        if isinstance(source, int) or (isinstance(source, str) and source.strip().isdigit()):
            index = int(source)
            level = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our OSError says it in one line
            try:
                self._capture = cv2.VideoCapture(index)
            finally:
                cv2.utils.logging.setLogLevel(level)
            if not self._capture.isOpened():
                self._capture.release()
                raise OSError(f"cannot open camera {index} (no camera at that index, or it is busy)")
            self.description = f"camera {index}"
            return True
        if isinstance(source, (str, Path)):
            text = str(source)
            is_url = "://" in text
            if not is_url and not Path(text).is_file():
                raise FileNotFoundError(f"video file not found: {text}")
            self._capture = cv2.VideoCapture(text)
            if not self._capture.isOpened():
                self._capture.release()
                raise OSError(f"cannot open video source {text!r} (unreadable file or unreachable URL)")
            fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
            self.source_fps = fps if fps > 0 else None
            self.description = text
            return is_url
        if isinstance(source, VideoSource) and callable(getattr(source, "read", None)):
            self._capture = source
            return True
        if isinstance(source, Iterable) and not isinstance(source, (str, bytes)):
            self._frames = iter(source)
            return False
        raise TypeError(f"unsupported stream source {type(source).__name__}; expected {_ACCEPTED}")

    # ----------------------------------------------------------------- frames
    def _raw_frames(self) -> Iterator[tuple[int, np.ndarray]]:
        if self._frames is not None:
            for index, frame in enumerate(self._frames):
                yield index, frame
            return
        if self.realtime:
            self._reader = _LatestFrameReader(self._capture, self.max_retries, self.retry_delay)
            last = -1
            while True:
                got = self._reader.next(last)
                if got is None:
                    return
                last = got[0]
                yield got
        index, failures = 0, 0
        while True:
            ok, frame = _safe_read(self._capture)
            if not ok:
                failures += 1
                if self.source_fps is not None or failures > self.max_retries:
                    return  # end of a file (or a source that keeps failing)
                time.sleep(self.retry_delay)
                continue
            failures = 0
            yield index, frame
            index += 1

    def _run(self) -> Generator[FrameResult, None, None]:
        start = time.perf_counter()
        fps = 0.0
        previous = -1
        last_time = start
        try:
            for index, frame in self._raw_frames():
                if index % self.every and not self.realtime:
                    continue
                image = check_image(frame, f"frame {index}")
                faces = self.recognizer.predict(image, max_faces=self.max_faces)
                faces = self.tracker.update(faces)
                now = time.perf_counter()
                rate = 1.0 / max(now - last_time, 1e-6)
                fps = rate if fps == 0.0 else 0.9 * fps + 0.1 * rate
                last_time = now
                timestamp = index / self.source_fps if self.source_fps and not self.realtime else now - start
                yield FrameResult(index, timestamp, image, faces, fps, skipped=index - previous - 1)
                previous = index
        finally:
            self.close()

    def __iter__(self) -> Iterator[FrameResult]:
        if self._started or self.closed:
            raise RuntimeError(f"stream over {self.description} was already iterated (or closed); open a new one")
        self._started = True
        return _StreamIterator(self._run())

    def __next__(self) -> FrameResult:
        if self._current is None:
            self._current = iter(self)  # type: ignore[assignment]
        assert self._current is not None
        return next(self._current)

    def close(self) -> None:
        """Stop reading and release the capture (safe to call more than once)."""
        if self.closed:
            return
        self.closed = True
        if self._reader is not None:
            self._reader.stop()
        if self._capture is not None and callable(getattr(self._capture, "release", None)):
            with contextlib.suppress(cv2.error, OSError, RuntimeError):
                self._capture.release()
        close = getattr(self._frames, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finaliser
            self.close()


def stream(
    source: Any,
    recognizer: EmotionRecognizer | None = None,
    *,
    every: int = 1,
    realtime: bool | None = None,
    smoothing: float = 0.6,
    max_retries: int = 3,
    retry_delay: float = 0.05,
    max_faces: int | None = None,
    fps: float | None = None,
) -> Stream:
    """Open a video source and yield emotion predictions frame by frame.

    Args:
        source: A camera index (``0`` or ``"0"``), a video file path, a stream
            URL, a ``cv2.VideoCapture``-like object (``read() -> (ok, frame)``;
            the stream releases it), or any iterable of BGR frames.
        recognizer: The recognizer (default: the bundled model,
            [`EmotionRecognizer.from_pretrained()`][emotionkit.EmotionRecognizer.from_pretrained]).
        every: Process every n-th frame of a file or iterable; the others are
            skipped and counted in ``FrameResult.skipped``.
        realtime: Process the newest frame and drop older ones instead of
            building a backlog. Default: on for cameras, URLs and capture
            objects, off (every frame, deterministic) for files and iterables.
        smoothing: Temporal smoothing of each tracked face's probabilities, in
            ``[0, 1)``; ``0`` gives raw per-frame results.
        max_retries: Failed reads tolerated in a row before the stream ends.
        retry_delay: Seconds to wait between retries.
        max_faces: Keep at most this many faces per frame (the largest).
        fps: For a video file, process about this many frames per second (instead of ``every``:
            every ``round(file FPS / fps)``-th frame).

    Returns:
        A [`Stream`][emotionkit.streaming.Stream] to iterate, ideally inside ``with``.

    Raises:
        TypeError: If the source is of an unsupported type (the message lists the accepted ones).
        FileNotFoundError: If a video file does not exist.
        OSError: If a camera or URL cannot be opened.
        ValueError: If ``every``, ``fps``, ``smoothing`` or ``max_retries`` is out of range, both
            ``every`` and ``fps`` are given, or ``fps`` is given for a source without a known frame rate.

    Examples:
        >>> frames = [np.zeros((120, 160, 3), np.uint8)] * 3
        >>> with stream(frames) as results:
        ...     [r.index for r in results]
        [0, 1, 2]
    """
    if recognizer is None:
        recognizer = EmotionRecognizer.from_pretrained()
    return Stream(
        source,
        recognizer,
        every=every,
        realtime=realtime,
        smoothing=smoothing,
        max_retries=max_retries,
        retry_delay=retry_delay,
        max_faces=max_faces,
        fps=fps,
    )
