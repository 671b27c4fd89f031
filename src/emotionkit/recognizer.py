"""The public inference API: :class:`EmotionRecognizer` and its :class:`FacePrediction` results."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import cv2
import numpy as np

from emotionkit.faces import BlazeFaceDetector, DetectedFace, FaceDetector
from emotionkit.labels import validate_labels
from emotionkit.preprocessing import ColorOrder, check_image, crop_face, prepare_faces, to_gray

if TYPE_CHECKING:
    from emotionkit.personalize import PersonalizationReport

__all__ = ["FacePrediction", "EmotionRecognizer", "ImageInput", "load_image"]

#: What :meth:`EmotionRecognizer.predict` accepts as one image.
ImageInput = str | Path | np.ndarray


@dataclass(frozen=True)
class FacePrediction:
    """The emotion of one face. Holds plain Python and numpy values only.

    Attributes:
        box: ``(x, y, w, h)`` of the detected face in the input image's pixels
            (for :meth:`EmotionRecognizer.predict_faces`, the whole crop).
        label: The most probable emotion.
        score: Its probability.
        probabilities: Every label's probability (sums to 1).
        detection_score: The face detector's confidence (``None`` for given crops).
        track_id: A stable id across video frames (set by :func:`emotionkit.stream`).
    """

    box: tuple[int, int, int, int]
    label: str
    score: float
    probabilities: dict[str, float]
    detection_score: float | None = None
    track_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary.

        Returns:
            ``{"box": [x, y, w, h], "label": ..., "score": ..., "probabilities": {...}, ...}``.

        Examples:
            >>> FacePrediction((0, 0, 4, 4), "happy", 0.9, {"happy": 0.9, "sad": 0.1}).to_dict()["box"]
            [0, 0, 4, 4]
        """
        out: dict[str, Any] = {
            "box": [int(v) for v in self.box],
            "label": self.label,
            "score": float(self.score),
            "probabilities": {k: float(v) for k, v in self.probabilities.items()},
        }
        if self.detection_score is not None:
            out["detection_score"] = float(self.detection_score)
        if self.track_id is not None:
            out["track_id"] = int(self.track_id)
        return out


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as a BGR ``uint8`` array.

    Args:
        path: Image file (any format OpenCV reads: PNG, JPEG, BMP, TIFF, WebP, ...).

    Returns:
        ``(H, W, 3)`` BGR ``uint8`` array.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it exists but is not a readable image.

    Examples:
        >>> load_image("photo.jpg").shape  # doctest: +SKIP
        (480, 640, 3)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ValueError(f"{path} is not a readable image (accepted: PNG, JPEG, BMP, TIFF, WebP, ...)")
    return image


def _detector_view(image: np.ndarray, color: ColorOrder) -> np.ndarray:
    """A grey or BGR ``uint8`` image for the face detector (a new array when converted)."""
    if image.ndim == 2:
        return image
    channels = image.shape[2]
    if channels == 1:
        return image[:, :, 0]
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2BGR if color == "rgb" else cv2.COLOR_BGRA2BGR)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if color == "rgb" else image


class EmotionRecognizer:
    """Detects faces and classifies their emotion with a Keras model.

    Build one with :meth:`from_pretrained`; the constructor is for models built
    in code.

    Args:
        model: A Keras model mapping ``(N, S, S, 1)`` grey faces in ``[0, 1]`` to
            probabilities over ``config["labels"]``.
        config: The model config (``architecture``, ``labels``, ``preprocessing``).
        detector: Face detector; default: :class:`emotionkit.faces.BlazeFaceDetector`.
        classes: Restrict outputs to these labels (probabilities renormalised).
        align: Rotate faces so that the eyes are level (when the detector gives eyes).
        flip_tta: Average each face's prediction with its mirror image (about twice the
            classification cost). ``None`` uses ``config["inference"]["flip_tta"]`` (default off).

    Raises:
        ValueError: If ``classes`` holds unknown labels.

    Examples:
        >>> rec = EmotionRecognizer.from_pretrained()
        >>> faces = rec.predict("tests/data/astronaut.png")  # doctest: +SKIP
        >>> faces[0].label  # doctest: +SKIP
        'happy'
    """

    def __init__(
        self,
        model: Any,
        config: dict[str, Any],
        *,
        detector: FaceDetector | None = None,
        classes: Sequence[str] | None = None,
        align: bool = True,
        flip_tta: bool | None = None,
    ) -> None:
        self.model = model
        self._config = copy.deepcopy(config)
        self._all_labels = tuple(self._config["labels"])
        self._classes = validate_labels(classes, self._all_labels) if classes is not None else self._all_labels
        if len(self._classes) < 2:
            raise ValueError(f"restrict to at least 2 classes, got {self._classes}")
        self._index = np.array([self._all_labels.index(c) for c in self._classes])
        self.detector: FaceDetector = detector if detector is not None else BlazeFaceDetector()
        self.align = align
        self.flip_tta = bool(self._config.get("inference", {}).get("flip_tta", False) if flip_tta is None else flip_tta)
        prep = self._config["preprocessing"]
        self.input_size = int(prep["input_size"])
        self.face_margin = float(prep.get("face_margin", 0.0))
        self.face_shift = float(prep.get("face_shift_y", 0.0))
        self._forward: Any = None
        self.personalization_report: PersonalizationReport | None = None

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        model: str | Path | None = None,
        *,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        detector: FaceDetector | None = None,
        classes: Sequence[str] | None = None,
        align: bool = True,
        flip_tta: bool | None = None,
    ) -> EmotionRecognizer:
        """Load a model: the bundled default, a preset, a local folder, or a Hugging Face Hub repo.

        Args:
            model: ``None`` (bundled default, offline), a preset name, a folder
                written by :meth:`save_pretrained`, or a Hub repo id ``"org/name"``.
            revision: Hub branch, tag or commit.
            cache_dir: Hub cache folder.
            local_files_only: Use cached Hub files only, never the network.
            token: Hub token for private repos.
            detector: Face detector (default: bundled BlazeFace).
            classes: Restrict outputs to these labels, e.g. :data:`emotionkit.FIVE_CLASSES`.
            align: Level the eyes before classification.
            flip_tta: Average with the mirrored face (``None``: the model config's choice).

        Returns:
            A ready recognizer.

        Raises:
            emotionkit.ModelNotFoundError: If the model cannot be found (the
                message lists the accepted forms) or is offline and not cached.
            ValueError: If the config is invalid, the weights do not fit it, or a
                registered file fails its sha256 check.
            ImportError: If no Keras backend is installed.

        Examples:
            >>> rec = EmotionRecognizer.from_pretrained()
            >>> rec.labels
            ('angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise')
        """
        from emotionkit.hub import resolve_model
        from emotionkit.model_files import read_config

        folder = resolve_model(
            model, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token
        )
        config = read_config(folder)
        config.setdefault("source", str(model) if model is not None else "default")
        keras_model = _load_weights(folder, config)
        return cls(keras_model, config, detector=detector, classes=classes, align=align, flip_tta=flip_tta)

    # --------------------------------------------------------------- properties
    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in output order (after any ``classes`` restriction)."""
        return self._classes

    @property
    def config(self) -> dict[str, Any]:
        """A copy of the model config."""
        return copy.deepcopy(self._config)

    def with_classes(self, classes: Sequence[str] | None) -> EmotionRecognizer:
        """Return a recognizer sharing this model whose outputs are restricted to ``classes``.

        Args:
            classes: Labels to keep (``None``: all of the model's labels).

        Returns:
            A new recognizer; this one is unchanged.

        Raises:
            ValueError: If a label is unknown.

        Examples:
            >>> from emotionkit import FIVE_CLASSES
            >>> EmotionRecognizer.from_pretrained().with_classes(FIVE_CLASSES).labels
            ('angry', 'happy', 'neutral', 'sad', 'surprise')
        """
        other = EmotionRecognizer(
            self.model, self._config, detector=self.detector, classes=classes, align=self.align, flip_tta=self.flip_tta
        )
        other._forward = self._forward
        return other

    # ---------------------------------------------------------------- inference
    def _probabilities(self, batch: np.ndarray) -> np.ndarray:
        if self._forward is None:
            from emotionkit.inference import compile_forward

            self._forward = compile_forward(self.model)
        if self.flip_tta:
            both = self._forward(np.concatenate([batch, batch[:, :, ::-1]]))
            probs = (both[: len(batch)] + both[len(batch) :]) / 2.0
        else:
            probs = self._forward(batch)
        probs = probs[:, self._index]
        total = probs.sum(axis=1, keepdims=True)
        return probs / np.maximum(total, 1e-12)

    def _results(
        self, probs: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], scores: Sequence[float | None]
    ) -> list[FacePrediction]:
        out = []
        for p, box, det in zip(probs, boxes, scores):
            best = int(np.argmax(p))
            out.append(
                FacePrediction(
                    box=tuple(int(v) for v in box),  # type: ignore[arg-type]
                    label=self._classes[best],
                    score=float(p[best]),
                    probabilities={name: float(v) for name, v in zip(self._classes, p)},
                    detection_score=None if det is None else float(det),
                )
            )
        return out

    def predict_faces(
        self, faces: Sequence[np.ndarray] | np.ndarray, *, color: ColorOrder = "bgr"
    ) -> list[FacePrediction]:
        """Classify already-cropped faces (no detection), batched.

        Args:
            faces: An ``(N, H, W)`` / ``(N, H, W, C)`` array or a list of crops
                (grey, BGR/RGB, ``uint8`` or float in ``[0, 1]``; any size).
            color: Channel order of colour crops.

        Returns:
            One prediction per crop; ``box`` is the whole crop.

        Raises:
            TypeError: If an item is not an image array.
            ValueError: If an item has a bad shape or range, or no face is given.

        Examples:
            >>> rec = EmotionRecognizer.from_pretrained()
            >>> [p.label for p in rec.predict_faces(np.zeros((2, 48, 48), np.uint8))]  # doctest: +SKIP
            ['neutral', 'neutral']
        """
        batch = prepare_faces(faces, self.input_size, color)
        items = list(faces)
        boxes = [(0, 0, int(f.shape[1]), int(f.shape[0])) for f in items]
        return self._results(self._probabilities(batch), boxes, [None] * len(items))

    def detect(self, image: ImageInput, *, color: ColorOrder = "bgr") -> list[DetectedFace]:
        """Find faces without classifying them, largest first.

        Args:
            image: File path or image array (see :meth:`predict`).
            color: Channel order of colour arrays.

        Returns:
            Detected faces, largest first.

        Raises:
            FileNotFoundError: If a path does not exist.
            TypeError: If the input is not a path or array.
            ValueError: If the array's shape, dtype or range is unsupported.

        Examples:
            >>> EmotionRecognizer.from_pretrained().detect(np.zeros((64, 64), np.uint8))
            []
        """
        array, color = self._as_array(image, color)
        return self._detect(array, color)

    def _as_array(self, image: object, color: ColorOrder) -> tuple[np.ndarray, ColorOrder]:
        if color not in ("bgr", "rgb"):
            raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
        if isinstance(image, (str, Path)):
            return load_image(image), "bgr"
        if isinstance(image, np.ndarray):
            return check_image(image), color
        raise TypeError(
            f"image has type {type(image).__name__}; expected a file path (str or Path), a numpy image "
            "array (H, W[, C]), or a list of those"
        )

    def _detect(self, array: np.ndarray, color: ColorOrder) -> list[DetectedFace]:
        found = self.detector.detect(_detector_view(array, color))
        return sorted(found, key=lambda f: f.box[2] * f.box[3], reverse=True)

    def _crops(self, array: np.ndarray, color: ColorOrder, faces: list[DetectedFace]) -> list[np.ndarray]:
        gray = to_gray(array, color)
        return [
            crop_face(gray, f.box, self.face_margin, self.face_shift, f.eye_angle() if self.align else 0.0)
            for f in faces
        ]

    @overload
    def predict(  # type: ignore[overload-overlap]
        self, images: ImageInput, *, color: ColorOrder = "bgr", max_faces: int | None = None
    ) -> list[FacePrediction]: ...

    @overload
    def predict(
        self, images: Sequence[ImageInput], *, color: ColorOrder = "bgr", max_faces: int | None = None
    ) -> list[list[FacePrediction]]: ...

    def predict(
        self,
        images: ImageInput | Sequence[ImageInput],
        *,
        color: ColorOrder = "bgr",
        max_faces: int | None = None,
    ) -> list[FacePrediction] | list[list[FacePrediction]]:
        """Detect faces and classify their emotion.

        Args:
            images: One image or a list of images. An image is a file path or a
                ``uint8`` array (``(H, W)`` grey, ``(H, W, 3)`` colour, ``(H, W, 4)``
                with alpha; float arrays in ``[0, 1]`` also work). A 4-D array is
                a batch of images. Input arrays are never modified.
            color: Channel order of colour arrays: ``"bgr"`` (OpenCV) or ``"rgb"``
                (PIL, matplotlib). Files are always read correctly.
            max_faces: Keep at most this many faces per image (the largest).

        Returns:
            For one image, its faces, largest first (empty if none). For a list
            or 4-D array, one such list per image. All faces of all images are
            classified in one batch.

        Raises:
            FileNotFoundError: If a path does not exist.
            TypeError: If an input is ``None`` or not a path or array.
            ValueError: If a file is not an image, or an array's shape, dtype or
                value range is unsupported.

        Examples:
            >>> rec = EmotionRecognizer.from_pretrained()
            >>> rec.predict(np.zeros((120, 160, 3), np.uint8))
            []
        """
        single = isinstance(images, (str, Path)) or (isinstance(images, np.ndarray) and images.ndim != 4)
        if images is None:
            raise TypeError("images is None; expected a file path, an image array, or a list of those")
        if single:
            batch_inputs: Sequence[Any] = [images]
        elif isinstance(images, (list, tuple, np.ndarray)):
            batch_inputs = list(images)
        else:
            raise TypeError(
                f"images has type {type(images).__name__}; expected a file path, an image array, or a list of those"
            )
        if max_faces is not None and max_faces < 1:
            raise ValueError(f"max_faces must be at least 1, got {max_faces}")
        per_image: list[list[DetectedFace]] = []
        crops: list[np.ndarray] = []
        for item in batch_inputs:
            array, item_color = self._as_array(item, color)
            faces = self._detect(array, item_color)[:max_faces]
            per_image.append(faces)
            crops.extend(self._crops(array, item_color, faces))
        probs = self._probabilities(prepare_faces(crops, self.input_size)) if crops else np.zeros((0, 0))
        results: list[list[FacePrediction]] = []
        offset = 0
        for faces in per_image:
            n = len(faces)
            results.append(self._results(probs[offset : offset + n], [f.box for f in faces], [f.score for f in faces]))
            offset += n
        return results[0] if single else results

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, folder: str | Path) -> Path:
        """Write ``config.json``, ``model.weights.h5`` and a ``README.md`` model card.

        Args:
            folder: Destination folder (created; existing files are overwritten).

        Returns:
            The folder; load it with :meth:`from_pretrained`.

        Examples:
            >>> EmotionRecognizer.from_pretrained().save_pretrained("my-model")  # doctest: +SKIP
        """
        from emotionkit.model_card import render_model_card
        from emotionkit.model_files import CARD_NAME, write_model_folder

        config = self.config
        config.pop("source", None)
        folder = write_model_folder(self.model, config, folder)
        (folder / CARD_NAME).write_text(render_model_card(config), encoding="utf-8")
        return folder

    def push_to_hub(
        self,
        repo_id: str,
        *,
        token: str | None = None,
        private: bool | None = None,
        revision: str | None = None,
        commit_message: str = "Upload emotionkit model",
    ) -> str:
        """Upload this model to a Hugging Face Hub repo (created if needed).

        Args:
            repo_id: ``"org/name"``.
            token: Hub token (default: the logged-in token).
            private: Create the repo as private.
            revision: Branch to commit to.
            commit_message: The commit message.

        Returns:
            The URL of the commit.

        Examples:
            >>> rec.push_to_hub("me/emotionkit-personal")  # doctest: +SKIP
        """
        import tempfile

        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp)
            info = api.upload_folder(repo_id=repo_id, folder_path=tmp, revision=revision, commit_message=commit_message)
        return str(getattr(info, "commit_url", info))

    def personalize(self, images: Any, labels: Sequence[str] | None = None, **kwargs: Any) -> EmotionRecognizer:
        """Adapt the model to one person; see :func:`emotionkit.personalize.personalize`.

        Args:
            images: Photos, face crops or a ``root/<label>/`` folder.
            labels: One label per image (``None`` for a folder).
            **kwargs: Options of :func:`emotionkit.personalize.personalize`.

        Returns:
            A new recognizer; this one is unchanged.

        Examples:
            >>> me = rec.personalize(["me_happy.jpg", "me_sad.jpg"], ["happy", "sad"])  # doctest: +SKIP
        """
        from emotionkit.personalize import personalize

        return personalize(self, images, labels, **kwargs)

    def __repr__(self) -> str:
        arch = self._config.get("architecture", {}).get("name", "?")
        return (
            f"EmotionRecognizer(architecture={arch!r}, labels={self._classes}, source={self._config.get('source')!r})"
        )


def _load_weights(folder: Path, config: dict[str, Any]) -> Any:
    from emotionkit.backend import import_keras

    import_keras()
    from emotionkit.model_files import WEIGHTS_NAME
    from emotionkit.models import build_model

    model = build_model(config["architecture"], len(config["labels"]))
    try:
        model.load_weights(str(folder / WEIGHTS_NAME))
    except Exception as exc:  # h5py/Keras raise many types for bad files
        raise ValueError(
            f"cannot load {folder / WEIGHTS_NAME} into the architecture of {folder / 'config.json'}: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    return model
