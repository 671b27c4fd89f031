"""The public inference API: [`EmotionRecognizer`][emotionkit.EmotionRecognizer] and its
[`FacePrediction`][emotionkit.FacePrediction] results.

One pipeline, every step public::

    image ──detect──▶ faces ──crop──▶ grey crops ──classify──▶ (N, classes) probabilities ──predictions──▶ results
            (FaceDetector)   (framing, eye alignment)  (prepare_faces + runtime,           (FacePrediction)
                                                         flip TTA, class restriction)

[`predict`][emotionkit.EmotionRecognizer.predict] chains all four steps over many
images with one batched classification;
[`predict_faces`][emotionkit.EmotionRecognizer.predict_faces] starts at ``classify``.
Streaming, personalisation, evaluation, the CLI and the benchmarks use the same steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import cv2
import numpy as np

from emotionkit.config import ModelConfig
from emotionkit.faces import BlazeFaceDetector, DetectedFace, FaceDetector
from emotionkit.images import ImageInput, as_image, load_image
from emotionkit.labels import validate_labels
from emotionkit.preprocessing import ColorOrder, crop_face, prepare_faces, to_gray
from emotionkit.runtimes import ClassifierRuntime

if TYPE_CHECKING:
    from emotionkit.personalize import PersonalizationReport
    from emotionkit.runtime import KerasRuntime

__all__ = ["FacePrediction", "EmotionRecognizer", "ImageInput", "load_image"]


@dataclass(frozen=True)
class FacePrediction:
    """The emotion of one face. Holds plain Python and numpy values only.

    Attributes:
        box: ``(x, y, w, h)`` of the detected face in the input image's pixels
            (for [`predict_faces`][emotionkit.EmotionRecognizer.predict_faces], the whole crop).
        label: The most probable emotion.
        score: Its probability.
        probabilities: Every label's probability (sums to 1).
        detection_score: The face detector's confidence (``None`` for given crops).
        track_id: A stable id across video frames (set by [`stream`][emotionkit.streaming.stream]).
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
    """Detects faces and classifies their emotion.

    Build one with [`from_pretrained`][emotionkit.EmotionRecognizer.from_pretrained]; the
    constructor is for models built in code. A recognizer is safe to share between
    threads (e.g. a web server's workers).

    Args:
        model: A Keras model mapping ``(N, S, S, 1)`` grey faces in ``[0, 1]`` to
            probabilities over ``config.labels`` (copied: changing it later does not
            change the recognizer), or a runtime
            ([`ClassifierRuntime`][emotionkit.runtimes.ClassifierRuntime]: Keras, ONNX or LiteRT).
        config: The model config (a [`ModelConfig`][emotionkit.config.ModelConfig]; a mapping
            in the ``config.json`` format is validated into one).
        detector: Face detector; default: [`BlazeFaceDetector`][emotionkit.faces.BlazeFaceDetector].
        classes: Restrict outputs to these labels (probabilities renormalised).
        align: Rotate faces so that the eyes are level (when the detector gives eyes).
        flip_tta: Average each face's prediction with its mirror image (about twice the
            classification cost). ``None`` uses ``config.flip_tta``.
        source: Where the model came from (shown in ``repr``; a personalised model records it as its base).

    Raises:
        ValueError: If ``classes`` holds unknown labels, the config is invalid, or the
            model's input or output does not match the config.

    Examples:
        >>> rec = EmotionRecognizer.from_pretrained()
        >>> rec.predict("tests/data/astronaut.png")[0].label
        'happy'
    """

    def __init__(
        self,
        model: Any,
        config: ModelConfig | Mapping[str, Any],
        *,
        detector: FaceDetector | None = None,
        classes: Sequence[str] | None = None,
        align: bool = True,
        flip_tta: bool | None = None,
        source: str | None = None,
    ) -> None:
        if not isinstance(config, ModelConfig):
            if not isinstance(config, Mapping):
                raise TypeError(f"config must be a ModelConfig or a mapping, got {type(config).__name__}")
            config = ModelConfig.from_dict(dict(config), "config")
        if isinstance(model, ClassifierRuntime):
            runtime = model
        else:
            from emotionkit.runtime import KerasRuntime

            runtime = KerasRuntime(model)
        if runtime.input_size != config.input_size or runtime.num_classes != len(config.labels):
            raise ValueError(
                f"the model takes {runtime.input_size} px faces and returns {runtime.num_classes} "
                f"probabilities, but the config says {config.input_size} px and {len(config.labels)} labels"
            )
        all_labels = config.labels
        labels = validate_labels(classes, all_labels) if classes is not None else all_labels
        if len(labels) < 2:
            raise ValueError(f"restrict to at least 2 classes, got {labels}")
        self._config = config
        self._runtime = runtime
        self._labels = labels
        self._index = np.array([all_labels.index(c) for c in labels])
        self.detector: FaceDetector = detector if detector is not None else BlazeFaceDetector()
        self.align = bool(align)
        self.flip_tta = bool(config.flip_tta if flip_tta is None else flip_tta)
        self.source = source
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
        timeout: float | None = None,
        detector: FaceDetector | None = None,
        classes: Sequence[str] | None = None,
        align: bool = True,
        flip_tta: bool | None = None,
        runtime: str = "auto",
    ) -> EmotionRecognizer:
        """Load a model: the bundled default, a preset, a local folder, or a Hugging Face Hub repo.

        Args:
            model: ``None`` (bundled default, offline), a preset name, a folder
                written by [`save_pretrained`][emotionkit.EmotionRecognizer.save_pretrained],
                or a Hub repo id ``"org/name"``.
            revision: Hub branch, tag or commit.
            cache_dir: Hub cache folder.
            local_files_only: Use cached Hub files only, never the network.
            token: Hub token for private repos.
            timeout: Seconds to wait for the Hub to answer each request (default:
                ``$EMOTIONKIT_HUB_TIMEOUT``, else 10); see [`resolve_model`][emotionkit.hub.resolve_model].
            detector: Face detector (default: bundled BlazeFace).
            classes: Restrict outputs to these labels, e.g. [`FIVE_CLASSES`][emotionkit.labels.FIVE_CLASSES].
            align: Level the eyes before classification.
            flip_tta: Average with the mirrored face (``None``: the model config's choice).
            runtime: What runs the classifier: ``"auto"`` (Keras if a backend is installed and
                the folder has Keras weights, else onnxruntime, else LiteRT), ``"keras"``,
                ``"onnx"`` or ``"litert"``; see [`emotionkit.runtimes`][emotionkit.runtimes].

        Returns:
            A ready recognizer. Loading the same unchanged model folder again in this process
            reuses its runtime (its weights cannot be changed from outside), so it is nearly free.

        Raises:
            emotionkit.errors.ModelNotFoundError: If the model cannot be found (the
                message lists the accepted forms), the Hub does not answer in time, or
                it is offline and not cached.
            emotionkit.errors.InvalidModelError: If ``config.json`` is invalid (file and field
                named), a file fails its sha256 check, or the weights do not fit the config.
            ImportError: If no runtime for the model's files is installed (the message says what to install).
            ValueError: If ``runtime`` is not one of the accepted names.

        Examples:
            >>> rec = EmotionRecognizer.from_pretrained()
            >>> rec.labels
            ('angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise')
        """
        from emotionkit.hub import resolve_model
        from emotionkit.model_files import read_config
        from emotionkit.runtimes import RUNTIME_NAMES, load_runtime

        if runtime not in RUNTIME_NAMES:
            raise ValueError(f"unknown runtime {runtime!r}; accepted: {', '.join(RUNTIME_NAMES)}")
        folder = resolve_model(
            model,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            timeout=timeout,
        )
        config = read_config(folder)
        return cls(
            load_runtime(folder, config, runtime),
            config,
            detector=detector,
            classes=classes,
            align=align,
            flip_tta=flip_tta,
            source=str(model) if model is not None else "default",
        )

    # --------------------------------------------------------------- properties
    @property
    def config(self) -> ModelConfig:
        """The model config (immutable)."""
        return self._config

    @property
    def runtime(self) -> ClassifierRuntime:
        """What runs the classifier (shared by recognizers made with ``with_classes``); its
        ``format`` says which: ``"keras"``, ``"onnx"`` or ``"litert"``."""
        return self._runtime

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in output order (after any ``classes`` restriction)."""
        return self._labels

    @property
    def model(self) -> Any:
        """A copy of the Keras model (a new one at each access).

        Changing it does not change this recognizer: to use changed weights, build a
        new one, e.g. ``EmotionRecognizer(changed_model, rec.config)``.

        Raises:
            TypeError: If the recognizer runs an exported file (ONNX, LiteRT): there is no Keras model.
        """
        return self.keras_runtime().keras_model()

    def keras_runtime(self) -> KerasRuntime:
        """Return the runtime if it is a [`KerasRuntime`][emotionkit.runtime.KerasRuntime].

        Returns:
            The Keras runtime (shared, not a copy: it never changes).

        Raises:
            TypeError: If the recognizer runs an exported file (ONNX, LiteRT), naming the way out.
        """
        from emotionkit.runtime import KerasRuntime

        if not isinstance(self._runtime, KerasRuntime):
            raise TypeError(
                f"this recognizer runs a {self._runtime.format} file, not a Keras model; load the original model "
                "folder (it has model.weights.h5) with runtime='keras' to personalise or export it"
            )
        return self._runtime

    @property
    def input_size(self) -> int:
        """Side in pixels of the faces the model reads."""
        return self.config.input_size

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
        return self.with_model(self._runtime, self._config, classes=classes, source=self.source)

    def with_model(
        self,
        model: Any,
        config: ModelConfig,
        *,
        classes: Sequence[str] | None = None,
        source: str | None = None,
    ) -> EmotionRecognizer:
        """Return a recognizer with another model and this one's detector, alignment and flip settings.

        Args:
            model: A Keras model (copied) or a runtime
                ([`ClassifierRuntime`][emotionkit.runtimes.ClassifierRuntime], shared).
            config: Its config.
            classes: Output restriction (``None``: all of the new model's labels).
            source: Where the model came from.

        Returns:
            A new recognizer; this one is unchanged.

        Raises:
            ValueError: If the model and config disagree, or a class is unknown.
        """
        return EmotionRecognizer(
            model,
            config,
            detector=self.detector,
            classes=classes,
            align=self.align,
            flip_tta=self.flip_tta,
            source=source,
        )

    # ------------------------------------------------------------ pipeline steps
    def detect(self, image: ImageInput, *, color: ColorOrder = "bgr") -> list[DetectedFace]:
        """Step 1: find faces without classifying them, largest first.

        Args:
            image: File path or image array (see [`predict`][emotionkit.EmotionRecognizer.predict]).
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
        array, color = as_image(image, color)
        found = self.detector.detect(_detector_view(array, color))
        return sorted(found, key=lambda f: f.box[2] * f.box[3], reverse=True)

    def crop(self, image: ImageInput, faces: Sequence[DetectedFace], *, color: ColorOrder = "bgr") -> list[np.ndarray]:
        """Step 2: cut the faces out as grey crops, framed as the model was trained and eyes levelled.

        Args:
            image: The image the faces were detected in (path or array).
            faces: Faces from [`detect`][emotionkit.EmotionRecognizer.detect].
            color: Channel order of colour arrays.

        Returns:
            One 2-D ``uint8`` crop per face (new arrays).

        Raises:
            FileNotFoundError: If a path does not exist.
            TypeError: If the input is not a path or array.
            ValueError: If the image is unsupported or a box lies outside it.

        Examples:
            >>> from emotionkit.faces import DetectedFace
            >>> rec = EmotionRecognizer.from_pretrained()
            >>> rec.crop(np.zeros((100, 100), np.uint8), [DetectedFace((20, 20, 50, 50), 0.9)])[0].shape
            (59, 59)
        """
        array, color = as_image(image, color)
        gray = to_gray(array, color)
        framing = self._config.preprocessing
        return [
            crop_face(gray, f.box, framing.face_margin, framing.face_shift_y, f.eye_angle() if self.align else 0.0)
            for f in faces
        ]

    def classify(
        self, faces: Sequence[np.ndarray] | np.ndarray, *, color: ColorOrder = "bgr", flip_tta: bool | None = None
    ) -> np.ndarray:
        """Step 3: class probabilities of face crops, in one batched forward pass.

        Args:
            faces: An ``(N, H, W)`` / ``(N, H, W, C)`` array or a list of crops
                (grey, BGR/RGB, ``uint8`` or float in ``[0, 1]``; any size).
            color: Channel order of colour crops.
            flip_tta: Average with the mirrored crops (``None``: this recognizer's setting).

        Returns:
            ``float32`` ``(N, len(labels))`` probabilities in [`labels`][emotionkit.EmotionRecognizer] order.

        Raises:
            TypeError: If an item is not an image array.
            ValueError: If an item has a bad shape or range, or no face is given.

        Examples:
            >>> EmotionRecognizer.from_pretrained().classify(np.zeros((2, 48, 48), np.uint8)).shape
            (2, 7)
        """
        batch = prepare_faces(faces, self.input_size, color)
        if self.flip_tta if flip_tta is None else flip_tta:
            both = self._runtime.probabilities(np.concatenate([batch, batch[:, :, ::-1]]))
            probs = (both[: len(batch)] + both[len(batch) :]) / 2.0
        else:
            probs = self._runtime.probabilities(batch)
        probs = probs[:, self._index]
        return (probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def predictions(
        self,
        probabilities: np.ndarray,
        boxes: Sequence[tuple[int, int, int, int]],
        detection_scores: Sequence[float | None] | None = None,
    ) -> list[FacePrediction]:
        """Step 4: turn probabilities into results.

        Args:
            probabilities: ``(N, len(labels))`` output of [`classify`][emotionkit.EmotionRecognizer.classify].
            boxes: One ``(x, y, w, h)`` per row.
            detection_scores: One detector confidence per row (``None``: not detected).

        Returns:
            One [`FacePrediction`][emotionkit.FacePrediction] per row.

        Raises:
            ValueError: If the lengths or the number of classes disagree.

        Examples:
            >>> rec = EmotionRecognizer.from_pretrained().with_classes(["happy", "sad"])
            >>> rec.predictions(np.array([[0.2, 0.8]]), [(0, 0, 48, 48)])[0].label
            'sad'
        """
        probabilities = np.asarray(probabilities, dtype=np.float64)
        scores = list(detection_scores) if detection_scores is not None else [None] * len(boxes)
        if probabilities.ndim != 2 or probabilities.shape[1] != len(self._labels):
            raise ValueError(f"expected probabilities of shape (N, {len(self._labels)}), got {probabilities.shape}")
        if not len(probabilities) == len(boxes) == len(scores):
            raise ValueError(
                f"got {len(probabilities)} probability rows, {len(boxes)} boxes and {len(scores)} detection scores"
            )
        out = []
        for p, box, det in zip(probabilities, boxes, scores):
            best = int(np.argmax(p))
            out.append(
                FacePrediction(
                    box=(int(box[0]), int(box[1]), int(box[2]), int(box[3])),
                    label=self._labels[best],
                    score=float(p[best]),
                    probabilities={name: float(v) for name, v in zip(self._labels, p)},
                    detection_score=None if det is None else float(det),
                )
            )
        return out

    # ---------------------------------------------------------------- inference
    def predict_faces(
        self, faces: Sequence[np.ndarray] | np.ndarray, *, color: ColorOrder = "bgr"
    ) -> list[FacePrediction]:
        """Classify already-cropped faces (no detection), batched.

        Args:
            faces: An ``(N, H, W)`` / ``(N, H, W, C)`` array or a list of crops
                (grey, BGR/RGB, ``uint8`` or float in ``[0, 1]``; any size). One colour
                crop ``(H, W, 3)`` must be passed as ``[crop]``.
            color: Channel order of colour crops.

        Returns:
            One prediction per crop; ``box`` is the whole crop.

        Raises:
            TypeError: If an item is not an image array.
            ValueError: If an item has a bad shape or range, or no face is given.

        Examples:
            >>> rec = EmotionRecognizer.from_pretrained()
            >>> len(rec.predict_faces(np.zeros((2, 48, 48), np.uint8)))
            2
        """
        probs = self.classify(faces, color=color)
        boxes = [(0, 0, int(f.shape[1]), int(f.shape[0])) for f in faces]
        return self.predictions(probs, boxes)

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
        if images is None:
            raise TypeError("images is None; expected a file path, an image array, or a list of those")
        single = isinstance(images, (str, Path)) or (isinstance(images, np.ndarray) and images.ndim != 4)
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
            array, item_color = as_image(item, color)
            faces = self.detect(array, color=item_color)[:max_faces]
            per_image.append(faces)
            crops.extend(self.crop(array, faces, color=item_color))
        probs = self.classify(crops) if crops else np.zeros((0, len(self._labels)), np.float32)
        results: list[list[FacePrediction]] = []
        offset = 0
        for faces in per_image:
            n = len(faces)
            boxes = [f.box for f in faces]
            results.append(self.predictions(probs[offset : offset + n], boxes, [f.score for f in faces]))
            offset += n
        return results[0] if single else results

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, folder: str | Path) -> Path:
        """Write ``config.json``, the model file and a ``README.md`` model card.

        The model file is ``model.weights.h5`` for a Keras model, or the exported
        ``model.onnx`` / ``model.tflite`` the recognizer runs.

        Args:
            folder: Destination folder (created; existing files are overwritten).

        Returns:
            The folder; load it with [`from_pretrained`][emotionkit.EmotionRecognizer.from_pretrained].

        Examples:
            >>> EmotionRecognizer.from_pretrained().save_pretrained("my-model")  # doctest: +SKIP
        """
        from emotionkit.model_card import render_model_card
        from emotionkit.model_files import CARD_NAME, write_model_folder

        folder = write_model_folder(self._runtime, self._config, folder)
        (folder / CARD_NAME).write_text(render_model_card(self._config), encoding="utf-8")
        return folder

    def export(self, path: str | Path, format: str = "onnx", *, overwrite: bool = False) -> Path:
        """Export the classifier for a runtime without Keras: a model folder holding ``model.onnx`` or ``model.tflite``.

        The folder also holds ``config.json`` (labels, input size, face framing, flip
        TTA, the file's sha256) and a model card, so that
        [`from_pretrained`][emotionkit.EmotionRecognizer.from_pretrained] (or any other
        loader) needs nothing else. Every export is checked before it is kept: the
        exported file is run on a fixed batch of faces and must agree with this
        recognizer within 1e-4; the folder appears only when all of it is written.
        See [`emotionkit.export`][emotionkit.export] for how (and why not Keras's ``model.export``).

        Args:
            path: The folder to create.
            format: ``"onnx"`` or ``"litert"`` (``.tflite``).
            overwrite: Replace an existing folder at ``path``.

        Returns:
            The folder.

        Raises:
            ValueError: If ``format`` is unknown.
            FileExistsError: If ``path`` exists and ``overwrite`` is false.
            TypeError: If this recognizer runs an exported file rather than a Keras model.
            ImportError: If the export tools are missing (``pip install "emotionkit[export]"``).
            RuntimeError: If the exported file disagrees with the Keras model (nothing is left behind).

        Examples:
            >>> EmotionRecognizer.from_pretrained().export("emotion-onnx", format="onnx")  # doctest: +SKIP
            PosixPath('emotion-onnx')
        """
        from emotionkit.export import export_model

        return export_model(self.keras_runtime(), self._config, path, format, overwrite=overwrite)

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
        """Adapt the model to one person; see [`personalize`][emotionkit.personalize.personalize].

        Args:
            images: Photos, face crops or a ``root/<label>/`` folder.
            labels: One label per image (``None`` for a folder).
            **kwargs: Options of [`personalize`][emotionkit.personalize.personalize].

        Returns:
            A new recognizer; this one is unchanged.

        Examples:
            >>> me = rec.personalize(["me_happy.jpg", "me_sad.jpg"], ["happy", "sad"])  # doctest: +SKIP
        """
        from emotionkit.personalize import personalize

        return personalize(self, images, labels, **kwargs)

    def __repr__(self) -> str:
        arch = self._config.architecture.get("name", "?")
        return f"EmotionRecognizer(architecture={arch!r}, labels={self._labels}, source={self.source!r})"
