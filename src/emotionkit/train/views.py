"""Consistent teaching: a teacher's probabilities on fixed, reproducible augmented views of each face.

A student distilled from the bank's stored probabilities learns "what the teacher says about the
clean face" while it trains on shifted, rotated and partly erased copies of it: on an erased mouth
the target still says "happy". Teaching is *consistent* when the teacher has seen the very view the
student sees (Beyer et al. 2022, "Knowledge distillation: A good teacher is patient and consistent";
Shen and Xing 2022 store such targets per crop, "A Fast Knowledge Distillation Framework"). A
teacher's weights are not kept between sessions, so its views are stored instead:

- a [`ViewPlan`][emotionkit.train.views.ViewPlan] draws ``count`` augmentations per image, each one
  reproducible from the plan's seed, the view number and the image's row in the bank order
  ([`Fer2013Index`][emotionkit.train.bank.Fer2013Index]): rotation, zoom, shift, mirror, one erased
  rectangle. Views are drawn on the raw 48 x 48 FER-2013 faces, so teacher and student each apply their
  own preprocessing (the one path of [`prepare_faces`][emotionkit.preprocessing.prepare_faces]);
- [`view_probabilities`][emotionkit.train.views.view_probabilities] runs a trained model on every view
  and [`write_view_member`][emotionkit.train.views.write_view_member] stores them, ``float16``
  ``(count, 35887, classes)`` (about 0.5 MB per view), with a sidecar, in the bank's ``views/`` folder
  (``training/teachers/views/`` in the repository; ``emotionkit-train bank views`` writes them);
- a student recipe names such members in ``view_teachers``; for each face of a batch it draws one of
  the views, renders it, and mixes the members' mean probabilities on that view into its target
  ([`ViewTargets`][emotionkit.train.views.ViewTargets]), by ``view_weight``.

Members written with the same plan agree on every view, so their files average into one ensemble
teacher: compute accumulates across sessions here as in the plain bank.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emotionkit.preprocessing import prepare_faces
from emotionkit.train.bank import Fer2013Index, write_member_files
from emotionkit.train.calibrate import apply_class_bias, fit_class_bias
from emotionkit.train.distill import mix_teacher

__all__ = [
    "ViewPlan",
    "ViewTargets",
    "ViewTeacher",
    "load_view_teacher",
    "view_probabilities",
    "write_view_member",
]


@dataclass(frozen=True)
class ViewPlan:
    """How the views of every image are drawn; the same plan always gives the same views.

    Attributes:
        count: Views per image.
        seed: Seed of the draw (with the view number and the image's bank row).
        rotation: Largest rotation, in degrees either way.
        translation: Largest shift, as a fraction of the side, each axis either way.
        zoom: Largest zoom in or out, as a fraction.
        flip: Mirror half of the views.
        erasing: Probability of filling one rectangle (2-25% of the face) with a constant grey.

    Raises:
        ValueError: If a value is out of range (checked on creation).

    Examples:
        >>> ViewPlan(count=2).count
        2
        >>> ViewPlan(erasing=1.5)
        Traceback (most recent call last):
        ...
        ValueError: view plan: erasing must be a number in [0, 1], got 1.5
    """

    count: int = 8
    seed: int = 0
    rotation: float = 14.0
    translation: float = 0.1
    zoom: float = 0.15
    flip: bool = True
    erasing: float = 0.25

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"view plan: count must be an integer >= 1, got {self.count!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"view plan: seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.flip, bool):
            raise ValueError(f"view plan: flip must be true or false, got {self.flip!r}")
        limits = {"rotation": 180.0, "translation": 0.5, "zoom": 0.9, "erasing": 1.0}
        for name, top in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= top:
                raise ValueError(f"view plan: {name} must be a number in [0, {top:g}], got {value!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ViewPlan:
        """Read a plan from a sidecar or recipe; unknown keys raise.

        Args:
            data: ``{"count": ..., "seed": ..., ...}``, any subset (the rest default).

        Returns:
            The plan.

        Raises:
            ValueError: If a key is unknown or a value is out of range.

        Examples:
            >>> ViewPlan.from_dict({"count": 4}).to_dict()["count"]
            4
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"view plan: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The plan as a JSON-ready dictionary (what sidecars store)."""
        return asdict(self)

    def render(self, faces: np.ndarray, rows: np.ndarray, views: np.ndarray | int) -> np.ndarray:
        """Draw the given views of raw faces.

        Args:
            faces: ``uint8`` ``(N, H, W)`` raw grey faces (not modified).
            rows: Each face's row in the bank order ``(N,)``: with the view number, it fixes the draw.
            views: The view of each face ``(N,)``, or one view number for all, each in ``[0, count)``.

        Returns:
            A new ``uint8`` ``(N, H, W)`` array.

        Raises:
            ValueError: If the shapes disagree, the faces are not ``uint8`` grey images, or a view number is
                out of range.

        Examples:
            >>> faces = np.arange(2 * 8 * 8, dtype=np.uint8).reshape(2, 8, 8)
            >>> plan = ViewPlan(count=2)
            >>> bool(np.array_equal(plan.render(faces, np.array([3, 9]), 1), plan.render(faces, np.array([3, 9]), 1)))
            True
        """
        faces = np.asarray(faces)
        rows = np.asarray(rows).reshape(-1)
        if faces.ndim != 3 or faces.dtype != np.uint8:
            raise ValueError(f"faces must be uint8 grey images (N, H, W), got {faces.dtype} {faces.shape}")
        chosen = np.asarray(views, np.int64)
        chosen = np.full(len(faces), int(chosen)) if chosen.ndim == 0 else chosen.reshape(-1)
        if len(rows) != len(faces) or len(chosen) != len(faces):
            raise ValueError(f"got {len(faces)} faces, {len(rows)} rows and {len(chosen)} view numbers")
        if len(chosen) and (chosen.min() < 0 or chosen.max() >= self.count):
            raise ValueError(f"view numbers must be in [0, {self.count}), got {chosen.min()}..{chosen.max()}")
        out = np.empty_like(faces)
        for i, (face, row, view) in enumerate(zip(faces, rows, chosen)):
            out[i] = self._draw(face, int(row), int(view))
        return out

    def _draw(self, face: np.ndarray, row: int, view: int) -> np.ndarray:
        rng = np.random.default_rng((self.seed, view, row))
        height, width = face.shape
        angle, zoom = rng.uniform(-self.rotation, self.rotation), 1.0 + rng.uniform(-self.zoom, self.zoom)
        shift = rng.uniform(-self.translation, self.translation, 2) * (width, height)
        centre = ((width - 1) / 2.0, (height - 1) / 2.0)
        matrix = np.asarray(cv2.getRotationMatrix2D(centre, float(angle), float(zoom)), np.float64)
        if self.flip and rng.random() < 0.5:  # mirror first: x -> W - 1 - x
            matrix = matrix @ np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        matrix[:, 2] += shift
        view_face = cv2.warpAffine(
            face, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
        erase, area, ratio = rng.random(), rng.uniform(0.02, 0.25), math.exp(rng.uniform(math.log(0.3), math.log(3.3)))
        top_share, left_share, grey = rng.random(), rng.random(), int(rng.integers(256))
        if erase < self.erasing:
            eh = min(height, max(1, round(math.sqrt(area * ratio) * height)))
            ew = min(width, max(1, round(math.sqrt(area / ratio) * width)))
            top, left = int(top_share * (height - eh + 1)), int(left_share * (width - ew + 1))
            view_face[top : top + eh, left : left + ew] = grey
        return view_face


def view_probabilities(recognizer: Any, faces: np.ndarray, rows: np.ndarray, plan: ViewPlan) -> np.ndarray:
    """A model's probabilities on every view of every face (no flip averaging: a view fixes its mirror).

    Uses the recognizer's public classify step, so the teacher's own preprocessing applies.

    Args:
        recognizer: An [`EmotionRecognizer`][emotionkit.EmotionRecognizer].
        faces: ``uint8`` ``(N, H, W)`` raw faces.
        rows: Their bank rows ``(N,)``.
        plan: The views to draw.

    Returns:
        ``float32`` ``(plan.count, N, classes)``.

    Examples:
        >>> probs = view_probabilities(rec, index.data.images, np.arange(len(index.data)), ViewPlan())  # doctest: +SKIP
    """
    faces = np.asarray(faces)
    return np.stack(
        [
            np.asarray(recognizer.classify(plan.render(faces, rows, view), flip_tta=False), np.float32)
            for view in range(plan.count)
        ]
    )


def write_view_member(
    folder: str | Path,
    name: str,
    probabilities: np.ndarray,
    index: Fer2013Index,
    plan: ViewPlan,
    meta: Mapping[str, Any],
) -> Path:
    """Write ``<name>.npy`` (``float16`` ``(count, N, classes)``) and ``<name>.json`` into a views folder.

    Args:
        folder: The views folder (created), ``views/`` inside the bank folder.
        name: Member name (the same rules as the plain bank's; usually the same name as its bank file).
        probabilities: ``(plan.count, len(index.data), classes)``, rows in index order.
        index: The image order they refer to.
        plan: The plan that drew the views.
        meta: Provenance (model folder, commit, ...).

    Returns:
        The ``.npy`` path.

    Raises:
        ValueError: If the name is invalid, the shape does not match the plan and index, or a row is not
            a probability distribution.

    Examples:
        >>> write_view_member("training/teachers/views", "m-s1", probs, index, ViewPlan(), {})  # doctest: +SKIP
    """
    probs = np.asarray(probabilities, np.float64)
    expected = (plan.count, len(index.data), len(index.data.classes))
    if probs.shape != expected:
        raise ValueError(f"view probabilities have shape {probs.shape}, the plan and index need {expected}")
    sidecar = {
        **meta,
        "name": name,
        "views": plan.to_dict(),
        "images": expected[1],
        "classes": list(index.data.classes),
        "order_sha256": index.order_sha256(),
        "dtype": "float16",
    }
    return write_member_files(folder, name, probs, sidecar)


@dataclass(frozen=True)
class ViewTeacher:
    """The mean probabilities of one or more view members, on every view of every bank row.

    Attributes:
        names: The members (a repeat weighs more).
        plan: The plan they share.
        probabilities: ``float32`` ``(plan.count, N, classes)`` in bank order.
    """

    names: tuple[str, ...]
    plan: ViewPlan
    probabilities: np.ndarray


def load_view_teacher(
    folder: str | Path, names: Sequence[str], index: Fer2013Index, calibrate: bool = False
) -> ViewTeacher:
    """Read view members and average them.

    Args:
        folder: The views folder.
        names: Member names (at least one; a repeat weighs more).
        index: The image order; each member must refer to it.
        calibrate: Class-bias calibrate each member on PublicTest (over all its views) first, as
            [`calibrate_members`][emotionkit.train.bank.calibrate_members] does for the plain bank.

    Returns:
        The teacher.

    Raises:
        FileNotFoundError: If a member's files are missing.
        ValueError: If no name is given, or the members disagree on the plan, the order or the shape.

    Examples:
        >>> teacher = load_view_teacher("training/teachers/views", ["m-s1"], index)  # doctest: +SKIP
    """
    if not names:
        raise ValueError("view_teachers names no member")
    folder = Path(folder)
    plan: ViewPlan | None = None
    total: np.ndarray | None = None
    public = index.mask("PublicTest")
    for name in names:
        path, sidecar = folder / f"{name}.npy", folder / f"{name}.json"
        if not path.is_file() or not sidecar.is_file():
            have = sorted(p.stem for p in folder.glob("*.npy")) if folder.is_dir() else []
            raise FileNotFoundError(f"view member {name!r} not found in {folder} (it has {have})")
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        member_plan = ViewPlan.from_dict(meta.get("views", {}))
        if plan is not None and member_plan != plan:
            raise ValueError(f"view member {name!r} drew its views with {member_plan}, the others with {plan}")
        if meta.get("order_sha256") != index.order_sha256():
            raise ValueError(f"view member {name!r} refers to another image order than this FER-2013 folder")
        probs = np.load(path, allow_pickle=False).astype(np.float64)
        if probs.shape != (member_plan.count, len(index.data), len(index.data.classes)):
            raise ValueError(f"view member {name!r} has shape {probs.shape}, expected {member_plan.count} views")
        probs /= probs.sum(-1, keepdims=True)
        if calibrate:
            labels = np.tile(index.data.labels[public], member_plan.count)
            probs = apply_class_bias(probs, fit_class_bias(probs[:, public].reshape(-1, probs.shape[-1]), labels))
        plan, total = member_plan, probs if total is None else total + probs
    assert plan is not None and total is not None
    return ViewTeacher(tuple(names), plan, (total / len(names)).astype(np.float32))


@dataclass(frozen=True)
class ViewTargets:
    """What a student needs to train on views: its raw faces, their rows and the teacher's view probabilities.

    Attributes:
        faces: ``uint8`` ``(N, H, W)`` raw training faces.
        rows: Their bank rows ``(N,)``.
        teacher: The view teacher.
        weight: Share of the teacher's view probabilities in the target, in [0, 1].
        temperature: Temperature ``T > 0`` applied to them (``p ** (1 / T)``, renormalised).
        size: The student's input side.

    Raises:
        ValueError: If the lengths disagree or ``weight`` / ``temperature`` are out of range (checked on creation).
    """

    faces: np.ndarray
    rows: np.ndarray
    teacher: ViewTeacher
    weight: float
    temperature: float
    size: int

    def __post_init__(self) -> None:
        if len(self.faces) != len(self.rows):
            raise ValueError(f"got {len(self.faces)} faces and {len(self.rows)} bank rows")
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"view_weight must be in [0, 1], got {self.weight}")
        if not self.temperature > 0.0:
            raise ValueError(f"distillation temperature must be > 0, got {self.temperature}")

    def batch(
        self, indices: np.ndarray, targets: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw one view per face and return the student's inputs and mixed targets.

        Args:
            indices: Positions of the batch's faces in ``faces``.
            targets: Their other targets ``(len(indices), classes)`` (labels, votes, stored teachers).
            rng: Chooses the views.

        Returns:
            ``(inputs (B, size, size, 1) float32, targets (B, classes) float32)``: the targets are
            ``(1 - weight) * targets + weight * teacher(view)``.

        Examples:
            >>> x, y = view_targets.batch(np.arange(4), y_train[:4], np.random.default_rng(0))  # doctest: +SKIP
        """
        views = rng.integers(self.teacher.plan.count, size=len(indices))
        rows = self.rows[indices]
        rendered = self.teacher.plan.render(self.faces[indices], rows, views)
        mixed = mix_teacher(targets, self.teacher.probabilities[views, rows], self.weight, self.temperature)
        return prepare_faces(rendered, self.size), mixed
