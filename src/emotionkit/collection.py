"""Annotate whole collections: many images, folders, globs and videos, one row per face.

[`annotate_collection`][emotionkit.collection.annotate_collection] (rows) and
[`annotate_groups`][emotionkit.collection.annotate_groups] (the rows of one input at a time) are the
Python API behind ``emotionkit annotate``: inputs are expanded (folders recursively, globs), images are decoded
by a thread pool while the recognizer classifies all faces of many images in one batch
(its public ``detect`` -> ``crop`` -> ``classify`` -> ``predictions`` steps), and every
input yields rows: one per face, one for an input without a face, and one with an
``error`` for an input that cannot be read, so nothing silently disappears and one bad
file never stops the job. [`RowWriter`][emotionkit.collection.RowWriter] writes rows to
CSV, JSON Lines or Parquet (``pyarrow``), resumably: inputs already in the file are skipped.
"""

from __future__ import annotations

import csv
import glob
import json
import math
import os
import sys
import time
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from emotionkit.images import IMAGE_SUFFIXES, load_image

if TYPE_CHECKING:
    from emotionkit.recognizer import EmotionRecognizer, FacePrediction

__all__ = [
    "OUTPUT_SUFFIXES",
    "VIDEO_SUFFIXES",
    "AnnotationRow",
    "Progress",
    "RowWriter",
    "annotate_collection",
    "annotate_groups",
    "arrow_schema",
    "columns",
    "expand_inputs",
]

VIDEO_SUFFIXES: frozenset[str] = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})
"""File name suffixes read as videos (every other suffix in ``IMAGE_SUFFIXES`` is an image)."""
OUTPUT_SUFFIXES: tuple[str, ...] = (".csv", ".jsonl", ".parquet")
"""Output formats, chosen by the output file's suffix."""


@dataclass(frozen=True)
class AnnotationRow:
    """One face of one image or video frame, or one input without a face, or one input that failed.

    Attributes:
        input: The input file as given or found.
        frame: Frame index for videos (``None`` for images).
        timestamp: Seconds into a video (``None`` for images).
        face: Index of the face in its image or frame, largest first (``None``: no face, or an error).
        box: ``(x, y, w, h)`` in pixels, or ``None``.
        label: Most probable emotion, or ``None``.
        score: Its probability, or ``None``.
        probabilities: Every label's probability (empty without a face).
        detection_score: The detector's confidence, or ``None``.
        track_id: Face track across a video's frames, or ``None``.
        error: Why the input could not be processed, or ``None``.
    """

    input: str
    frame: int | None = None
    timestamp: float | None = None
    face: int | None = None
    box: tuple[int, int, int, int] | None = None
    label: str | None = None
    score: float | None = None
    probabilities: tuple[tuple[str, float], ...] = ()
    detection_score: float | None = None
    track_id: int | None = None
    error: str | None = None

    def to_dict(self, labels: Sequence[str]) -> dict[str, Any]:
        """Return a flat, JSON-ready dictionary with one ``p_<label>`` column per label.

        Args:
            labels: The recognizer's labels (the probability columns, in order).

        Returns:
            A new dictionary; missing values are ``None``.

        Examples:
            >>> AnnotationRow("a.jpg", error="not an image").to_dict(["happy"])["p_happy"] is None
            True
        """
        x, y, w, h = self.box if self.box is not None else (None, None, None, None)
        probs = dict(self.probabilities)
        return {
            "input": self.input,
            "frame": self.frame,
            "timestamp": self.timestamp,
            "face": self.face,
            "x": x,
            "y": y,
            "w": w,
            "h": h,
            "label": self.label,
            "score": self.score,
            **{f"p_{name}": probs.get(name) for name in labels},
            "detection_score": self.detection_score,
            "track_id": self.track_id,
            "error": self.error,
        }


def expand_inputs(inputs: Iterable[str | Path]) -> list[str]:
    """Expand folders (recursively, images and videos, sorted) and glob patterns into files.

    Args:
        inputs: Files, folders and patterns such as ``"photos/**/*.jpg"``.

    Returns:
        Input files in order, without repeats. A name that is neither a file nor a folder, and a
        pattern that matches no file, are kept, so that they become error rows rather than disappearing.

    Examples:
        >>> expand_inputs(["does-not-exist.jpg"])
        ['does-not-exist.jpg']
    """
    out: list[str] = []
    for item in inputs:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
            out.extend(str(p) for p in sorted(found))
        elif not path.exists() and glob.has_magic(text):
            matches = sorted(p for p in glob.glob(text, recursive=True) if Path(p).is_file())
            out.extend(matches or [text])  # a pattern that matches nothing becomes an error row
        else:
            out.append(text)
    return list(dict.fromkeys(out))


def _image_rows(
    recognizer: EmotionRecognizer, item: str, faces: Sequence[FacePrediction], frame: int | None, stamp: float | None
) -> list[AnnotationRow]:
    if not faces:
        return [AnnotationRow(item, frame, stamp)]
    return [
        AnnotationRow(
            item,
            frame,
            stamp,
            i,
            f.box,
            f.label,
            f.score,
            tuple((name, f.probabilities[name]) for name in recognizer.labels),
            f.detection_score,
            f.track_id,
        )
        for i, f in enumerate(faces)
    ]


def _decode(path: str) -> tuple[str, np.ndarray | None, str | None]:
    try:
        return path, load_image(path), None
    except (OSError, ValueError) as exc:
        return path, None, str(exc) or type(exc).__name__


def _video_rows(
    recognizer: EmotionRecognizer, path: str, every: int, fps: float | None, max_faces: int | None
) -> Iterator[AnnotationRow]:
    """Rows of one video file: every ``every``-th frame, or ``fps`` frames per second, faces tracked."""
    from emotionkit.streaming import stream

    try:
        frames = stream(
            path,
            recognizer,
            every=every if fps is None else 1,
            fps=fps,
            realtime=False,
            smoothing=0.0,
            max_retries=0,
            max_faces=max_faces,
        )
    except (OSError, ValueError) as exc:  # missing or unreadable file, no frame rate for fps
        yield AnnotationRow(path, error=str(exc))
        return
    produced = False
    with frames:
        for result in frames:
            produced = True
            yield from _image_rows(recognizer, path, result.faces, result.index, round(result.timestamp, 4))
    if not produced:
        yield AnnotationRow(path, error=f"{path} holds no readable frame")


def annotate_groups(
    inputs: Iterable[str | Path],
    recognizer: EmotionRecognizer | None = None,
    *,
    every: int = 1,
    fps: float | None = None,
    batch_size: int = 256,
    workers: int = 4,
    max_faces: int | None = None,
    skip: Iterable[str] = (),
    face_crops: bool = False,
) -> Generator[list[AnnotationRow], None, None]:
    """Yield the annotation rows of many images and videos, one input at a time; never stops for one bad input.

    Images are decoded by ``workers`` threads ahead of the classifier; their faces are
    classified in batches of about ``batch_size`` faces. Inputs come out in input order,
    each as the complete list of its rows (what a writer stores at once).

    Args:
        inputs: Files, folders, globs (see [`expand_inputs`][emotionkit.collection.expand_inputs]).
        recognizer: The recognizer (default: the bundled model).
        every: For videos, process every n-th frame.
        fps: For videos, process this many frames per second instead (overrides ``every``).
        batch_size: Faces per forward pass (about).
        workers: Image decoding threads.
        max_faces: Keep at most this many faces per image or frame (the largest).
        skip: Inputs to leave out (e.g. those already in an output file).
        face_crops: The images are face crops already: no detection, each image is one face
            (as [`predict_faces`][emotionkit.EmotionRecognizer.predict_faces]).

    Yields:
        The [`AnnotationRow`][emotionkit.collection.AnnotationRow] list of each input.

    Raises:
        ValueError: If ``every``, ``fps``, ``batch_size`` or ``workers`` is out of range.

    Examples:
        >>> [len(rows) for rows in annotate_groups(["tests/data/astronaut.png", "missing.jpg"])]
        [1, 1]
    """
    if every < 1 or batch_size < 1 or workers < 1:
        raise ValueError(f"every, batch_size and workers must be at least 1, got {every}, {batch_size}, {workers}")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    if recognizer is None:
        from emotionkit.recognizer import EmotionRecognizer

        recognizer = EmotionRecognizer.from_pretrained()
    done = set(skip)
    files = [f for f in expand_inputs(inputs) if f not in done]
    # per input: its face boxes, detection scores, crops, or the error that stopped it
    pending: list[tuple[str, list[Any], list[float | None], list[np.ndarray], str | None]] = []
    pending_faces = 0

    def flush() -> Iterator[list[AnnotationRow]]:
        nonlocal pending, pending_faces
        crops = [c for *_, cs, _ in pending for c in cs]
        probs = recognizer.classify(crops) if crops else np.zeros((0, len(recognizer.labels)))
        offset = 0
        for item, boxes, scores, _, error in pending:
            if error is not None:
                yield [AnnotationRow(item, error=error)]
                continue
            n = len(boxes)
            predictions = recognizer.predictions(probs[offset : offset + n], boxes, scores)
            offset += n
            yield _image_rows(recognizer, item, predictions, None, None)
        pending, pending_faces = [], 0

    images = iter([f for f in files if Path(f).suffix.lower() not in VIDEO_SUFFIXES])
    with ThreadPoolExecutor(workers, thread_name_prefix="emotionkit-decode") as pool:
        ahead: deque[Future[tuple[str, np.ndarray | None, str | None]]] = deque()

        def next_decoded() -> tuple[str, np.ndarray | None, str | None]:
            while len(ahead) < 4 * workers:  # read ahead a few images per thread, never the whole collection
                path = next(images, None)
                if path is None:
                    break
                ahead.append(pool.submit(_decode, path))
            return ahead.popleft().result()

        for item in files:
            if Path(item).suffix.lower() in VIDEO_SUFFIXES:
                yield from flush()
                try:
                    yield list(_video_rows(recognizer, item, every, fps, max_faces))
                except (cv2.error, OSError, ValueError) as exc:
                    yield [AnnotationRow(item, error=f"{type(exc).__name__}: {exc}")]
                continue
            _, image, error = next_decoded()
            boxes: list[Any] = []
            scores: list[float | None] = []
            crops: list[np.ndarray] = []
            if image is not None and face_crops:  # the image is the face
                boxes, scores, crops = [(0, 0, image.shape[1], image.shape[0])], [None], [image]
            elif image is not None:
                try:
                    faces = recognizer.detect(image)[:max_faces]
                    crops = recognizer.crop(image, faces)
                    boxes, scores = [f.box for f in faces], [f.score for f in faces]
                except (cv2.error, ValueError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
            pending.append((item, boxes, scores, crops, error))
            pending_faces += len(crops)
            if pending_faces >= batch_size:
                yield from flush()
        yield from flush()


def annotate_collection(
    inputs: Iterable[str | Path], recognizer: EmotionRecognizer | None = None, **options: Any
) -> Iterator[AnnotationRow]:
    """Yield annotation rows for many images and videos
    ([`annotate_groups`][emotionkit.collection.annotate_groups], flattened).

    Args:
        inputs: Files, folders, globs.
        recognizer: The recognizer (default: the bundled model).
        **options: ``every``, ``fps``, ``batch_size``, ``workers``, ``max_faces``, ``skip``, ``face_crops``.

    Yields:
        One row per face, one per input without a face, one per input that failed.

    Examples:
        >>> rows = list(annotate_collection(["tests/data/astronaut.png"]))
        >>> rows[0].label
        'happy'
    """
    for rows in annotate_groups(inputs, recognizer, **options):
        yield from rows


def columns(labels: Sequence[str]) -> list[str]:
    """The output columns for a recognizer's labels (what every writer and the Ray integration produce).

    Args:
        labels: The recognizer's labels.

    Returns:
        Column names in order.

    Examples:
        >>> columns(["happy", "sad"])[8:12]
        ['label', 'score', 'p_happy', 'p_sad']
    """
    return list(AnnotationRow("").to_dict(labels))


def arrow_schema(labels: Sequence[str]) -> Any:
    """The Arrow schema of the output columns (needs ``pyarrow``).

    Args:
        labels: The recognizer's labels.

    Returns:
        A ``pyarrow.Schema``: integers for frame, face, box and track, strings for input, label
        and error, floats for the rest; every column nullable.

    Raises:
        ImportError: Without ``pyarrow`` (the message says what to install).
    """
    try:
        import pyarrow as pa
    except ImportError as exc:
        raise ImportError(f"Arrow and Parquet output need pyarrow: pip install 'emotionkit[parquet]' ({exc})") from None
    integers = {"frame", "face", "x", "y", "w", "h", "track_id"}
    texts = {"input", "label", "error"}
    return pa.schema(
        [
            (name, pa.int64() if name in integers else pa.string() if name in texts else pa.float64())
            for name in columns(labels)
        ]
    )


class RowWriter:
    """Writes rows to ``.csv``, ``.jsonl`` or ``.parquet``; resumable; a valid file after every input.

    CSV and JSON Lines are appended and flushed input by input. Parquet (needs ``pyarrow``)
    is written in row groups to a temporary file that replaces the output on
    [`close`][emotionkit.collection.RowWriter.close], keeping the rows already there, so an
    interrupted run leaves the previous file intact plus what was closed.

    Args:
        path: The output file; its suffix picks the format.
        labels: The recognizer's labels (probability columns).
        overwrite: Start a new file instead of extending an existing one.

    Raises:
        ValueError: If the suffix is not one of [`OUTPUT_SUFFIXES`][emotionkit.collection.OUTPUT_SUFFIXES],
            or an existing file has other columns.
        ImportError: For Parquet without ``pyarrow`` (the message says what to install).
    """

    def __init__(self, path: str | Path, labels: Sequence[str], *, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in OUTPUT_SUFFIXES:
            raise ValueError(f"cannot write {self.path}: the output must end in {', '.join(OUTPUT_SUFFIXES)}")
        self.labels = tuple(labels)
        self.columns = columns(self.labels)
        self.done: set[str] = set()
        if overwrite and self.path.exists():
            self.path.unlink()
        self._parquet: Any = None
        self._tmp = self.path.with_name(f".{self.path.name}.partial")
        if self.format == ".parquet":
            self._schema = arrow_schema(self.labels)
            import pyarrow.parquet as pq

            previous = pq.read_table(self.path) if self.path.exists() else None
            if previous is not None:
                self._check_columns(previous.column_names)
                self.done = set(previous.column("input").to_pylist())
            self._parquet = pq.ParquetWriter(self._tmp, self._schema)
            if previous is not None:
                self._parquet.write_table(previous.cast(self._schema))
            self._fh = None
        else:
            exists = self.path.exists() and self.path.stat().st_size > 0
            if exists:
                self._read_done()
            self._fh = self.path.open("a", newline="", encoding="utf-8")
            self._csv = csv.DictWriter(self._fh, self.columns) if self.format == ".csv" else None
            if self._csv is not None and not exists:
                self._csv.writeheader()

    def _check_columns(self, found: Sequence[str]) -> None:
        if list(found) != self.columns:
            raise ValueError(
                f"{self.path} has other columns ({', '.join(found)}); use --overwrite or another output file"
            )

    def _read_done(self) -> None:
        with self.path.open(newline="", encoding="utf-8") as fh:
            if self.format == ".csv":
                reader = csv.DictReader(fh)
                self._check_columns(reader.fieldnames or [])
                self.done = {row["input"] for row in reader}
            else:
                for line in fh:
                    if line.strip():
                        row = json.loads(line)
                        self._check_columns(list(row))
                        self.done.add(row["input"])

    def write(self, rows: Sequence[AnnotationRow]) -> None:
        """Write the rows of one input (flushed to disk before returning).

        Args:
            rows: The input's rows.
        """
        self.write_dicts([r.to_dict(self.labels) for r in rows])

    def write_dicts(self, dicts: Sequence[dict[str, Any]]) -> None:
        """Write rows given as dictionaries with exactly the output columns (e.g. from Ray).

        Args:
            dicts: Rows of complete inputs.

        Raises:
            ValueError: If a row has other columns.
        """
        for d in dicts:
            if list(d) != self.columns:
                raise ValueError(f"a row has the columns {list(d)}, this file has {self.columns}")
        if self._parquet is not None:
            import pyarrow as pa

            self._parquet.write_table(pa.Table.from_pylist(dicts, schema=self._schema))
        elif self._csv is not None:
            self._csv.writerows(dicts)
        else:
            assert self._fh is not None
            self._fh.writelines(json.dumps(d) + "\n" for d in dicts)
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        """Finish the file (for Parquet: write its footer and move it into place)."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
            os.replace(self._tmp, self.path)
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class Progress:
    """A one-line progress display (inputs done, rate, ETA) on a terminal's stderr; silent otherwise.

    Args:
        total: Inputs to process.
        enabled: Show it (``False`` for ``--quiet``); it is also off when stderr is not a terminal.
    """

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total = total
        self.enabled = enabled and sys.stderr.isatty()
        self.start = time.perf_counter()
        self.done = 0
        self._last = 0.0

    def update(self, count: int = 1) -> None:
        """Count finished inputs and redraw at most ten times a second."""
        self.done += count
        now = time.perf_counter()
        if self.enabled and (now - self._last > 0.1 or self.done == self.total):
            self._last = now
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            sys.stderr.write(f"\r{self.done}/{self.total} inputs, {rate:.1f}/s, ETA {eta:.0f} s ")
            sys.stderr.flush()

    def close(self) -> None:
        """End the line."""
        if self.enabled:
            sys.stderr.write("\n")
