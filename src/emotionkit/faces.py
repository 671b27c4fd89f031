"""Face detection behind a small interface, with a bundled default that needs no download.

The default, [`BlazeFaceDetector`][emotionkit.faces.BlazeFaceDetector], runs Google's MediaPipe BlazeFace
short-range model (a 230 KB TFLite file, Apache-2.0, shipped inside emotionkit with its
ONNX conversion) through onnxruntime when it is installed, else through ``cv2.dnn``. It
returns boxes plus six keypoints (eyes, nose, mouth, ears) used to level the eyes before
classification. [`HaarDetector`][emotionkit.faces.HaarDetector]
wraps OpenCV's Haar cascade where the installed OpenCV ships one.

Any object with a ``detect(image) -> list[DetectedFace]`` method can be passed
to [`EmotionRecognizer`][emotionkit.EmotionRecognizer] as ``detector=``.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

__all__ = [
    "BLAZEFACE_ONNX_SHA256",
    "BLAZEFACE_SHA256",
    "BlazeFaceDetector",
    "DetectedFace",
    "FaceDetector",
    "HaarDetector",
]

BLAZEFACE_TFLITE = "face_detection_short_range.tflite"
BLAZEFACE_SHA256 = "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"
"""sha256 of the bundled ``face_detection_short_range.tflite`` (mediapipe 0.10.14 wheel)."""
BLAZEFACE_ONNX_SHA256 = "c6acbd23b9b19db1b77a3fbd8893ef203b23dd2e125816b21f29d72b41622987"
"""sha256 of the bundled ``face_detection_short_range.onnx`` (that file converted by ``tools/convert_blazeface.py``)."""


@dataclass(frozen=True)
class DetectedFace:
    """One detected face.

    Attributes:
        box: ``(x, y, w, h)`` in the input image's pixels (may extend past its border).
        score: Detector confidence in ``[0, 1]``.
        keypoints: ``(K, 2)`` float array of ``(x, y)`` pixels, or ``None``. For
            BlazeFace: right eye, left eye (from the viewer's side: image-left
            eye first), nose tip, mouth centre, right ear, left ear.
    """

    box: tuple[int, int, int, int]
    score: float
    keypoints: np.ndarray | None = None

    def eye_angle(self) -> float:
        """Return the angle in degrees of the line from the first to the second eye (0 when unknown).

        Returns:
            The roll angle; rotating the image by it levels the eyes.

        Examples:
            >>> DetectedFace((0, 0, 10, 10), 1.0, np.array([[0, 0], [10, 10]], float)).eye_angle()
            45.0
        """
        if self.keypoints is None or len(self.keypoints) < 2:
            return 0.0
        (x0, y0), (x1, y1) = self.keypoints[0], self.keypoints[1]
        return float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))


@runtime_checkable
class FaceDetector(Protocol):
    """What [`EmotionRecognizer`][emotionkit.EmotionRecognizer] needs from a face detector."""

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Find faces.

        Args:
            image: ``uint8`` image, ``(H, W)`` grey or ``(H, W, 3)`` BGR.

        Returns:
            The faces found, in any order.
        """
        ...


def _blazeface_anchors() -> np.ndarray:
    rows = []
    for cells, per_cell in ((16, 2), (8, 6)):
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        centres = np.stack([(xs.ravel() + 0.5) / cells, (ys.ravel() + 0.5) / cells], axis=1)
        rows.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(rows).astype(np.float32)  # (896, 2): x, y in [0, 1]


class _OpenCVBlazeFace:
    """BlazeFace's TFLite file through ``cv2.dnn``: one network per thread, one pass per region."""

    name = "opencv"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._net()  # load once now, so that a bad file fails here and not in the first detect

    def _net(self) -> tuple[Any, list[str]]:
        net = getattr(self._local, "net", None)
        if net is None:
            if hasattr(cv2.dnn, "ENGINE_CLASSIC"):  # OpenCV 5: its new engine returns only one of the two outputs
                loaded = cv2.dnn.readNetFromTFLite(str(self.path), engine=cv2.dnn.ENGINE_CLASSIC)  # type: ignore[call-overload,unused-ignore]
            else:
                loaded = cv2.dnn.readNetFromTFLite(str(self.path))
            net = self._local.net = (loaded, list(loaded.getUnconnectedOutLayersNames()))
        return net

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        net, names = self._net()
        regressors, logits = [], []
        for image in batch:
            net.setInput(np.ascontiguousarray(image.transpose(2, 0, 1)[None]))
            outputs = net.forward(names)
            reg = next((o for o in outputs if o.shape[-1] == 16), None)
            log = next((o for o in outputs if o.shape[-1] == 1), None)
            if reg is None or log is None:
                raise RuntimeError(
                    f"this OpenCV ({cv2.__version__}) returned outputs of shapes {[o.shape for o in outputs]} for "
                    "BlazeFace; use engine='onnxruntime' (pip install 'emotionkit[onnx]')"
                )
            regressors.append(reg.reshape(-1, 16))
            logits.append(log.reshape(-1))
        return np.stack(regressors), np.stack(logits)


class _OnnxBlazeFace:
    """BlazeFace converted to ONNX (dynamic batch) through onnxruntime: all regions in one call."""

    name = "onnxruntime"

    def __init__(self, path: Path) -> None:
        from emotionkit.onnx_runtime import open_session

        self.path = path
        # onnxruntime sessions are safe to share between threads; no spin-waiting between frames (measured:
        # the classifier and the video decoder get the cores sooner, +3-15% frames per second on 2 cores)
        self._session = open_session(path, threads=None, spinning=False)

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        regressors, logits = self._session.run(["regressors", "classificators"], {"input": batch})
        return regressors.reshape(len(batch), -1, 16), logits.reshape(len(batch), -1)


def _asset(name: str) -> Path:
    return Path(str(resources.files("emotionkit") / "assets" / name))


class BlazeFaceDetector:
    """MediaPipe BlazeFace short-range, run by onnxruntime or ``cv2.dnn`` (bundled, offline, a few ms per frame).

    Designed for faces within about 2 m of the camera (webcams, selfies,
    portraits). The frame is padded to a square and shrunk to 128x128, so huge
    images cost no more than small ones. Elongated frames (e.g. 16:9 video) are
    also searched in overlapping square tiles along the long side, which finds
    faces down to about 1/10 of the short side; smaller faces are often missed.
    Tiles are only used when the short side has at least
    [`MIN_TILE_SIDE`][emotionkit.faces.BlazeFaceDetector.MIN_TILE_SIDE] pixels, and at most
    [`MAX_TILES`][emotionkit.faces.BlazeFaceDetector.MAX_TILES] are searched, so degenerate
    images (1 x 2000 pixels, 4 x 30000) cost no more than a normal frame.

    Two engines run the same network: ``"onnxruntime"`` (the bundled ONNX
    conversion, ``face_detection_short_range.onnx``; the frame and its tiles go
    through in one batched call) and ``"opencv"`` (the original TFLite file through
    ``cv2.dnn``, one pass per region; on OpenCV 5 with its classic engine, which
    returns both outputs). ``"auto"`` takes onnxruntime when it is installed.

    Safe to share between threads: onnxruntime sessions are, and with OpenCV each
    thread runs its own copy of the network (``cv2.dnn`` networks keep per-call
    state and give wrong boxes when shared).

    Args:
        score_threshold: Minimum confidence of a returned face.
        nms_threshold: Overlap (IoU) above which the weaker of two boxes is dropped.
        model_path: Another BlazeFace short-range file (``.tflite`` for OpenCV, ``.onnx``
            with a dynamic batch for onnxruntime); default: the bundled one for the engine.
        tiling: Search elongated images in square tiles too.
        engine: ``"auto"``, ``"onnxruntime"`` or ``"opencv"``.

    Raises:
        FileNotFoundError: If ``model_path`` does not exist.
        ValueError: If a threshold is outside ``[0, 1]`` or the engine is unknown.
        ImportError: If ``engine="onnxruntime"`` and onnxruntime is not installed.

    Examples:
        >>> detector = BlazeFaceDetector()
        >>> detector.detect(np.zeros((64, 64, 3), np.uint8))
        []
    """

    input_size = 128
    MIN_TILE_SIDE = 32
    """Shortest image side (pixels) for which elongated images are also searched in tiles."""
    MAX_TILES = 8
    """Most tiles searched besides the whole image."""
    ENGINES = ("auto", "onnxruntime", "opencv")
    """Accepted ``engine`` values."""

    def __init__(
        self,
        score_threshold: float = 0.5,
        nms_threshold: float = 0.3,
        model_path: str | Path | None = None,
        tiling: bool = True,
        engine: str = "auto",
    ) -> None:
        for name, value in (("score_threshold", score_threshold), ("nms_threshold", nms_threshold)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if engine not in self.ENGINES:
            raise ValueError(f"unknown engine {engine!r}; accepted: {', '.join(self.ENGINES)}")
        if engine == "auto":
            suffix = Path(model_path).suffix.lower() if model_path is not None else None
            has_ort = importlib.util.find_spec("onnxruntime") is not None
            engine = "onnxruntime" if suffix == ".onnx" or (suffix is None and has_ort) else "opencv"
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.tiling = tiling
        if model_path is None:
            path = _asset("face_detection_short_range.onnx" if engine == "onnxruntime" else BLAZEFACE_TFLITE)
        else:
            path = Path(model_path)
            if not path.is_file():
                raise FileNotFoundError(f"BlazeFace model file not found: {path}")
        self.model_path = path
        self._engine: _OnnxBlazeFace | _OpenCVBlazeFace = (
            _OnnxBlazeFace(path) if engine == "onnxruntime" else _OpenCVBlazeFace(path)
        )
        self._anchors = _blazeface_anchors()

    @property
    def engine(self) -> str:
        """The engine in use: ``"onnxruntime"`` or ``"opencv"``."""
        return self._engine.name

    def _square(self, region: np.ndarray) -> tuple[np.ndarray, float]:
        """The region padded to a square, shrunk to the input size, RGB in ``[-1, 1]``; and the square's side."""
        h, w = region.shape[:2]
        side = max(h, w)
        scale = self.input_size / side
        small = cv2.resize(region, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        small = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB if small.ndim == 2 else cv2.COLOR_BGR2RGB)
        canvas = np.zeros((self.input_size, self.input_size, 3), np.uint8)
        canvas[: small.shape[0], : small.shape[1]] = small
        return canvas.astype(np.float32) / np.float32(127.5) - np.float32(1.0), float(side)

    def _decode(
        self, regressors: np.ndarray, logits: np.ndarray, side: float, x0: int, y0: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes ``(n, 4)``, scores ``(n,)`` and keypoints ``(n, 6, 2)`` in image pixels of one region's outputs."""
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        keep = np.flatnonzero(scores >= self.score_threshold)
        reg = regressors[keep] / self.input_size
        anchors = self._anchors[keep]
        cx, cy = reg[:, 0] + anchors[:, 0], reg[:, 1] + anchors[:, 1]
        boxes = np.stack([cx - reg[:, 2] / 2, cy - reg[:, 3] / 2, reg[:, 2], reg[:, 3]], axis=1) * side
        points = (reg[:, 4:].reshape(-1, 6, 2) + anchors[:, None, :]) * side
        offset = np.array([x0, y0], np.float32)
        boxes[:, :2] += offset
        return boxes, scores[keep], points + offset

    def regions(self, h: int, w: int) -> list[tuple[int, int, int, int]]:
        """Return the regions searched in an ``h`` x ``w`` image: the whole image, plus overlapping
        square tiles along the long side of elongated images (see the class docs for the limits).

        Args:
            h: Image height in pixels.
            w: Image width in pixels.

        Returns:
            ``(x, y, width, height)`` of each region.

        Examples:
            >>> len(BlazeFaceDetector().regions(360, 640))
            4
        """
        regions = [(0, 0, w, h)]
        short, long_ = min(h, w), max(h, w)
        if self.tiling and long_ > 1.25 * short and short >= self.MIN_TILE_SIDE:
            count = min(int(np.ceil((long_ - short) / (short / 2))) + 1, self.MAX_TILES)
            for start in np.linspace(0, long_ - short, count).round().astype(int):
                regions.append((int(start), 0, short, short) if w > h else (0, int(start), short, short))
        return regions

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Find faces in a ``uint8`` grey or BGR image.

        Args:
            image: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` BGR ``uint8`` array (not modified).

        Returns:
            Faces above the score threshold after non-maximum suppression.

        Examples:
            >>> BlazeFaceDetector().detect(np.zeros((10, 10), np.uint8))
            []
        """
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        h, w = image.shape[:2]
        regions = self.regions(h, w)
        squares = [self._square(image[y : y + rh, x : x + rw]) for x, y, rw, rh in regions]
        regressors, logits = self._engine.run(np.stack([sq for sq, _ in squares]))
        found = [
            self._decode(regressors[i], logits[i], side, x, y)
            for i, ((x, y, _, _), (_, side)) in enumerate(zip(regions, squares))
        ]
        boxes = np.concatenate([f[0] for f in found])
        scores = np.concatenate([f[1] for f in found])
        points = np.concatenate([f[2] for f in found])
        if len(scores) == 0:
            return []
        chosen = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.score_threshold, self.nms_threshold)
        faces = []
        for i in np.asarray(chosen, dtype=np.int64).reshape(-1):
            x, y, bw, bh = boxes[i]
            if bw <= 1 or bh <= 1:
                continue
            faces.append(
                DetectedFace(
                    box=(int(round(x)), int(round(y)), int(round(bw)), int(round(bh))),
                    score=float(scores[i]),
                    keypoints=points[i].astype(np.float32),
                )
            )
        return faces


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (only where the installed OpenCV ships it, e.g. 4.x wheels).

    Slower (40-90 ms per 640x360 frame here) and frontal-only; kept for
    comparison and for users who already rely on it.

    Args:
        cascade_path: A cascade XML file; default: ``haarcascade_frontalface_default.xml`` from ``cv2.data``.
        scale_factor: Image pyramid step.
        min_neighbors: Detections needed to keep a face.
        max_side: Frames are shrunk to at most this side before detection.

    Raises:
        RuntimeError: If this OpenCV has no ``CascadeClassifier`` or no bundled cascade.
        FileNotFoundError: If ``cascade_path`` does not exist.

    Examples:
        >>> detector = HaarDetector() if HaarDetector.available() else None  # OpenCV 5 wheels ship no cascades
        >>> detector is None or detector.detect(np.zeros((64, 64), np.uint8)) == []
        True
    """

    @staticmethod
    def available() -> bool:
        """Return whether this OpenCV has ``CascadeClassifier`` and ships the default cascade file.

        Returns:
            ``True`` for opencv-python 4.x wheels, ``False`` for 5.x (pass ``cascade_path`` there).

        Examples:
            >>> isinstance(HaarDetector.available(), bool)
            True
        """
        folder = getattr(getattr(cv2, "data", None), "haarcascades", "")
        default = Path(folder) / "haarcascade_frontalface_default.xml" if folder else None
        return hasattr(cv2, "CascadeClassifier") and default is not None and default.is_file()

    def __init__(
        self,
        cascade_path: str | Path | None = None,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        max_side: int = 640,
    ) -> None:
        if not hasattr(cv2, "CascadeClassifier"):
            raise RuntimeError(f"OpenCV {cv2.__version__} has no CascadeClassifier; use BlazeFaceDetector")
        if cascade_path is None:
            folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
            if not folder:
                raise RuntimeError(f"OpenCV {cv2.__version__} ships no Haar cascade files; pass cascade_path")
            cascade_path = Path(folder) / "haarcascade_frontalface_default.xml"
        cascade_path = Path(cascade_path)
        if not cascade_path.is_file():
            raise FileNotFoundError(f"Haar cascade file not found: {cascade_path}")
        self._cascade = cv2.CascadeClassifier(str(cascade_path))
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.max_side = max_side

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Find frontal faces in a ``uint8`` grey or BGR image.

        Args:
            image: ``(H, W)`` or ``(H, W, 3)`` BGR ``uint8`` array (not modified).

        Returns:
            The faces, with score 1.0 and no keypoints.

        Examples:
            >>> if HaarDetector.available():
            ...     assert HaarDetector().detect(np.zeros((64, 64, 3), np.uint8)) == []
        """
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        scale = min(1.0, self.max_side / max(gray.shape[:2]))
        if scale < 1.0:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found = self._cascade.detectMultiScale(gray, self.scale_factor, self.min_neighbors, minSize=(24, 24))
        return [
            DetectedFace(tuple(int(round(v / scale)) for v in box), 1.0)  # type: ignore[arg-type]
            for box in np.asarray(found).reshape(-1, 4)
        ]
