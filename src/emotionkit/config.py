"""The typed model config: what a model folder's ``config.json`` says, validated once when it is read.

[`ModelConfig.from_dict`][emotionkit.config.ModelConfig.from_dict] is the only place that
interprets the JSON; every other module reads typed fields. An unknown or missing
field, or a field of the wrong type, raises
[`InvalidModelError`][emotionkit.errors.InvalidModelError] (a `ValueError`) that names the
file and the field.
Numbers anywhere in the file must be finite: JSON has no NaN or Infinity, and strict
parsers (browsers, the Hub's viewers) refuse a file that holds one, so a config holding
one is refused when it is built or read, and an unknown value is written as ``null``.

The file (format version 2)::

    {
      "format_version": 2,
      "architecture": {"name": "convnet", "input_size": 48, ...},   # rebuilt by emotionkit.models
      "labels": ["angry", ...],                                    # model output order
      "preprocessing": {"face_margin": 0.09, "face_shift_y": -0.09},
      "inference": {"flip_tta": false},                             # optional
      "files": {"model.weights.h5": "<sha256>"},                    # checked when loading
      "emotionkit_version": "...", "datasets": [...], "metrics": {...},
      "training": {...}, "personalized": {...}                      # provenance, optional
    }

Format version 1 files (emotionkit 0.1) are still read: their ``preprocessing``
block also held ``input_size`` (now only in ``architecture``) and the constant
fields ``color`` and ``scale``, which nothing read.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from emotionkit.errors import InvalidModelError

__all__ = ["ARCHITECTURE_NAMES", "FORMAT_VERSION", "ModelConfig", "Preprocessing"]

FORMAT_VERSION = 2
"""The config format this emotionkit writes (and the newest it reads)."""
ARCHITECTURE_NAMES: tuple[str, ...] = (
    "mobilenetv2",
    "mobilenet",
    "convnet",
    "resnet",
    "personalized",
    "ensemble",
)
"""Architecture names that [`emotionkit.models.build_model`][emotionkit.models.build_model] builds."""

_TOP_LEVEL = (
    "format_version",
    "architecture",
    "labels",
    "preprocessing",
    "inference",
    "files",
    "emotionkit_version",
    "datasets",
    "metrics",
    "training",
    "personalized",
)


def _fail(source: str, field_name: str, problem: str, value: Any) -> InvalidModelError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InvalidModelError(f"{source}: field {field_name!r} {problem}; got {shown}")


def _number(source: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(source, name, "must be a finite number", value)
    return float(value)


def _positive_int(source: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(source, name, "must be a positive integer", value)
    return value


def _object(source: str, name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, name, f"must be a JSON object, not {type(value).__name__}", value)
    return value


def _check_finite(source: str, name: str, value: Any) -> None:
    """Reject NaN and infinities anywhere in a block: JSON has neither, so strict parsers refuse the file."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(source, name, "must be a finite number (JSON has no NaN or Infinity; use null)", value)
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(source, f"{name}.{key}", item)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_finite(source, f"{name}[{i}]", item)


def _check_architecture(source: str, name: str, arch: Any) -> int:
    """Validate the parts of an architecture block that every builder reads; return its input size."""
    arch = _object(source, name, arch)
    kind = arch.get("name")
    if kind not in ARCHITECTURE_NAMES:
        raise _fail(source, f"{name}.name", f"must be one of {', '.join(ARCHITECTURE_NAMES)}", kind)
    size = _positive_int(source, f"{name}.input_size", arch.get("input_size"))
    if kind == "ensemble":
        members = arch.get("members")
        if not isinstance(members, list) or len(members) < 2:
            raise _fail(source, f"{name}.members", "must list at least 2 member architectures", members)
        for i, member in enumerate(members):
            if _check_architecture(source, f"{name}.members[{i}]", member) != size:
                raise _fail(source, f"{name}.members[{i}].input_size", f"must equal {name}.input_size ({size})", member)
    if kind == "personalized":
        if _check_architecture(source, f"{name}.base", arch.get("base")) != size:
            raise _fail(source, f"{name}.base.input_size", f"must equal {name}.input_size ({size})", arch["base"])
        _positive_int(source, f"{name}.num_prototypes", arch.get("num_prototypes"))
    return size


@dataclass(frozen=True)
class Preprocessing:
    """How a detected face box is framed before the shared crop / grey / resize / scale path.

    Attributes:
        face_margin: Border added on each side of the detected box, as a fraction of its side.
        face_shift_y: Vertical shift of the crop centre, as a fraction of the box side (negative is up).

    Examples:
        >>> Preprocessing(0.09, -0.09).face_margin
        0.09
    """

    face_margin: float = 0.0
    face_shift_y: float = 0.0


@dataclass(frozen=True)
class ModelConfig:
    """A validated model config (see the module docs for the file format).

    Build one with [`from_dict`][emotionkit.config.ModelConfig.from_dict] (validates) or
    directly in code; change one with [`replace`][emotionkit.config.ModelConfig.replace].
    The mappings it holds are private copies: treat them as read-only.

    Attributes:
        architecture: The architecture block for [`emotionkit.models.build_model`][emotionkit.models.build_model].
        labels: Class names in model output order.
        preprocessing: Face framing.
        flip_tta: Average each face with its mirror image by default.
        files: sha256 of the model files (``{"model.weights.h5": hex}``), checked when loading.
        emotionkit_version: The version that wrote the model.
        datasets: Training data names (model card metadata).
        metrics: ``{name: {"type": ..., "value": ...}}`` measured metrics (model card).
        training: Free-form training provenance (recipe, epochs, ...).
        personalized: Provenance of a personalised model (base, images, classes).

    Examples:
        >>> cfg = ModelConfig({"name": "convnet", "input_size": 48}, ("happy", "sad"), Preprocessing())
        >>> cfg.input_size
        48
    """

    architecture: dict[str, Any]
    labels: tuple[str, ...]
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    flip_tta: bool = False
    files: dict[str, str] = field(default_factory=dict)
    emotionkit_version: str | None = None
    datasets: tuple[str, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] | None = None
    personalized: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        source = "model config"
        _check_architecture(source, "architecture", self.architecture)
        labels = self.labels
        if (
            not isinstance(labels, tuple)
            or len(labels) < 2
            or not all(isinstance(x, str) and x for x in labels)
            or len(set(labels)) != len(labels)
        ):
            raise _fail(source, "labels", "must be at least 2 distinct, non-empty class names", labels)
        if not isinstance(self.flip_tta, bool):
            raise _fail(source, "inference.flip_tta", "must be true or false", self.flip_tta)
        _check_finite(source, "preprocessing", dataclasses.asdict(self.preprocessing))
        for name in ("architecture", "metrics", "training", "personalized"):
            _check_finite(source, name, getattr(self, name))

    @property
    def input_size(self) -> int:
        """The model's input side in pixels (``architecture["input_size"]``)."""
        return int(self.architecture["input_size"])

    @classmethod
    def from_dict(cls, data: Any, source: str = "config.json") -> ModelConfig:
        """Validate a parsed ``config.json`` and return the typed config.

        Args:
            data: The parsed JSON.
            source: How to name the file in error messages (e.g. its path).

        Returns:
            The config (deep copies of the input's mappings; the input is not modified).

        Raises:
            emotionkit.errors.InvalidModelError: If a field is unknown, missing or invalid; the
                message names ``source`` and the field.

        Examples:
            >>> ModelConfig.from_dict({"format_version": 2, "architecture": {"name": "convnet", "input_size": 48},
            ...     "labels": ["happy", "sad"], "preprocessing": {"face_margin": 0.1, "face_shift_y": 0.0}}).labels
            ('happy', 'sad')
            >>> ModelConfig.from_dict({"labels": "happy"})
            Traceback (most recent call last):
            ...
            emotionkit.errors.InvalidModelError: config.json: field 'format_version' is missing; got None
        """
        if not isinstance(data, dict):
            raise InvalidModelError(f"{source} must hold a JSON object, not a {type(data).__name__}")
        data = copy.deepcopy(data)
        unknown = sorted(set(data) - set(_TOP_LEVEL))
        if unknown:
            raise InvalidModelError(f"{source}: unknown field(s) {', '.join(map(repr, unknown))}; known: {_TOP_LEVEL}")
        for needed in ("format_version", "architecture", "labels", "preprocessing"):
            if needed not in data:
                raise _fail(source, needed, "is missing", None)
        version = data["format_version"]
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
            raise _fail(
                source, "format_version", f"must be 1 to {FORMAT_VERSION} (upgrade emotionkit if newer)", version
            )
        size = _check_architecture(source, "architecture", data["architecture"])
        labels = data["labels"]
        if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) and x for x in labels):
            raise _fail(source, "labels", "must be a list of at least 2 class names", labels)
        if len(set(labels)) != len(labels):
            repeated = sorted({x for x in labels if labels.count(x) > 1})
            raise _fail(source, "labels", f"must not repeat a class name (repeated: {', '.join(repeated)})", labels)
        prep = _object(source, "preprocessing", data["preprocessing"])
        known_prep = {"face_margin", "face_shift_y"}
        if version == 1:  # 0.1 files also stored the input size and two constants that nothing read
            known_prep |= {"input_size", "color", "scale"}
            if "input_size" in prep and prep["input_size"] != size:
                raise _fail(source, "preprocessing.input_size", f"must equal architecture.input_size ({size})", prep)
            if prep.get("color", "gray") != "gray" or prep.get("scale", [0.0, 1.0]) != [0.0, 1.0]:
                raise _fail(source, "preprocessing", "must describe grey faces scaled to [0, 1]", prep)
        else:
            for needed in ("face_margin", "face_shift_y"):
                if needed not in prep:
                    raise _fail(source, f"preprocessing.{needed}", "is missing", None)
        extra = sorted(set(prep) - known_prep)
        if extra:
            raise _fail(source, "preprocessing", f"has unknown field(s) {', '.join(extra)}", prep)
        preprocessing = Preprocessing(
            _number(source, "preprocessing.face_margin", prep.get("face_margin", 0.0)),
            _number(source, "preprocessing.face_shift_y", prep.get("face_shift_y", 0.0)),
        )
        inference = _object(source, "inference", data.get("inference", {}))
        if set(inference) - {"flip_tta"}:
            raise _fail(source, "inference", "may only hold 'flip_tta'", inference)
        flip_tta = inference.get("flip_tta", False)
        if not isinstance(flip_tta, bool):
            raise _fail(source, "inference.flip_tta", "must be true or false", flip_tta)
        files = _object(source, "files", data.get("files", {}))
        for name, digest in files.items():
            if not isinstance(digest, str) or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
                raise _fail(source, f"files.{name}", "must be a sha256 hex digest", digest)
        datasets = data.get("datasets", [])
        if not isinstance(datasets, list) or not all(isinstance(x, str) for x in datasets):
            raise _fail(source, "datasets", "must be a list of names", datasets)
        version_text = data.get("emotionkit_version")
        if version_text is not None and not isinstance(version_text, str):
            raise _fail(source, "emotionkit_version", "must be a string", version_text)
        optional = {}
        for name in ("training", "personalized"):
            if data.get(name) is not None:
                optional[name] = _object(source, name, data[name])
        for name in ("architecture", "metrics", "training", "personalized"):
            _check_finite(source, name, data.get(name))
        return cls(
            architecture=data["architecture"],
            labels=tuple(labels),
            preprocessing=preprocessing,
            flip_tta=flip_tta,
            files=files,
            emotionkit_version=version_text,
            datasets=tuple(datasets),
            metrics=_object(source, "metrics", data.get("metrics", {})),
            **optional,
        )

    @classmethod
    def from_json(cls, text: str, source: str = "config.json") -> ModelConfig:
        """Parse and validate the text of a ``config.json``.

        Args:
            text: The JSON text.
            source: How to name the file in error messages.

        Returns:
            The config.

        Raises:
            emotionkit.errors.InvalidModelError: If the text is not JSON or the config is invalid.

        Examples:
            >>> ModelConfig.from_json("[1, 2]", "my/config.json")
            Traceback (most recent call last):
            ...
            emotionkit.errors.InvalidModelError: my/config.json must hold a JSON object, not a list
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidModelError(f"{source} is not valid JSON: {exc}") from None
        return cls.from_dict(data, source)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form (format version 2), as written to ``config.json``.

        Returns:
            A new dictionary; optional fields that are empty are left out.

        Examples:
            >>> cfg = ModelConfig({"name": "convnet", "input_size": 48}, ("happy", "sad"))
            >>> sorted(cfg.to_dict())
            ['architecture', 'format_version', 'inference', 'labels', 'preprocessing']
        """
        out: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "architecture": copy.deepcopy(self.architecture),
            "labels": list(self.labels),
            "preprocessing": dataclasses.asdict(self.preprocessing),
            "inference": {"flip_tta": self.flip_tta},
        }
        if self.files:
            out["files"] = dict(self.files)
        if self.emotionkit_version is not None:
            out["emotionkit_version"] = self.emotionkit_version
        if self.datasets:
            out["datasets"] = list(self.datasets)
        if self.metrics:
            out["metrics"] = copy.deepcopy(self.metrics)
        for name in ("training", "personalized"):
            value = getattr(self, name)
            if value is not None:
                out[name] = copy.deepcopy(value)
        return out

    def to_json(self) -> str:
        """Return the ``config.json`` text (sorted keys, indented, final newline).

        Returns:
            The text.

        Examples:
            >>> ModelConfig({"name": "convnet", "input_size": 48}, ("a", "b")).to_json().startswith("{")
            True
        """
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"

    def replace(self, **changes: Any) -> ModelConfig:
        """Return a copy with some fields changed (validated again).

        Args:
            **changes: Field names and their new values.

        Returns:
            The new config; this one is unchanged.

        Examples:
            >>> cfg = ModelConfig({"name": "convnet", "input_size": 48}, ("happy", "sad"))
            >>> cfg.replace(flip_tta=True).flip_tta, cfg.flip_tta
            (True, False)
        """
        return dataclasses.replace(self, **changes)
