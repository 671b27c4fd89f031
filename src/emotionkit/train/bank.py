"""The teacher bank: every finished network's class probabilities on every FER-2013 image, kept small.

A *member* is one trained network. Its bank entry is two files in the bank folder
(``training/teachers/`` in the repository):

- ``<name>.npy``: ``float16`` array ``(35887, classes)``, the member's probabilities,
  averaged over each image and its mirror image, for every FER-2013 image in
  [`Fer2013Index`][emotionkit.train.bank.Fer2013Index] order (the order of
  ``MANIFEST.tsv``: relative paths sorted byte-wise, all three splits);
- ``<name>.json``: how it was made (recipe, seed, architecture, epochs, wall time,
  PublicTest accuracy, commit) and the sha256 of the image order it refers to.

Compute accumulates across sessions because ensembles are chosen and students
distilled from these files alone: [`select_ensemble`][emotionkit.train.bank.select_ensemble]
runs greedy forward selection on PublicTest in seconds (PrivateTest is never used
to choose), and [`teacher_targets`][emotionkit.train.bank.teacher_targets] gives a student
the chosen ensemble's mean probabilities on the training images.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotionkit.labels import EMOTIONS
from emotionkit.train.calibrate import apply_class_bias, fit_class_bias
from emotionkit.train.data import FER_SPLITS, FaceDataset, load_fer2013_folder

__all__ = [
    "SELECTION_CRITERIA",
    "BankMember",
    "Fer2013Index",
    "Selection",
    "StudentFit",
    "calibrate_members",
    "load_bank",
    "member_probabilities",
    "select_ensemble",
    "student_fit",
    "teacher_targets",
    "write_member",
    "write_member_files",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Fer2013Index:
    """All FER-2013 images in bank order (``MANIFEST.tsv`` order), with their split and label.

    Attributes:
        data: The images and labels (paths relative to the dataset root).
        splits: The split name of each image.
    """

    data: FaceDataset
    splits: np.ndarray

    @classmethod
    def load(cls, root: str | Path) -> Fer2013Index:
        """Load every image of the three splits and sort them by relative path.

        Args:
            root: The FER-2013 folder (``train/`` and ``test/``).

        Returns:
            The index.

        Raises:
            FileNotFoundError: If the folders are missing.
            ValueError: If a split is empty or a file unreadable.

        Examples:
            >>> index = Fer2013Index.load("../shared/data/fer2013")  # doctest: +SKIP
            >>> len(index.data)  # doctest: +SKIP
            35887
        """
        root = Path(root)
        parts = [load_fer2013_folder(root, split) for split in FER_SPLITS]
        relative = [str(Path(p).relative_to(root).as_posix()) for part in parts for p in part.paths]
        images = np.concatenate([np.asarray(part.images) for part in parts])
        labels = np.concatenate([part.labels for part in parts])
        splits = np.concatenate([np.full(len(part), split) for part, split in zip(parts, FER_SPLITS)])
        order = np.argsort(np.array(relative, dtype=object), kind="stable")
        data = FaceDataset(images[order], labels[order], EMOTIONS, [relative[i] for i in order])
        return cls(data, splits[order])

    def mask(self, split: str) -> np.ndarray:
        """Return the boolean mask of one split.

        Args:
            split: ``"Training"``, ``"PublicTest"`` or ``"PrivateTest"``.

        Returns:
            A boolean array.

        Raises:
            ValueError: If the split is unknown.
        """
        if split not in FER_SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(FER_SPLITS)}")
        return self.splits == split

    def order_sha256(self) -> str:
        """The sha256 of the newline-joined relative paths: identifies the order a bank file refers to.

        Returns:
            64 hex digits.
        """
        return hashlib.sha256("\n".join(self.data.paths).encode()).hexdigest()


@dataclass(frozen=True)
class BankMember:
    """One bank entry.

    Attributes:
        name: File stem in the bank folder.
        probabilities: ``float32`` ``(N, classes)``.
        meta: The sidecar JSON.
    """

    name: str
    probabilities: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def trained_on_public_test(self) -> bool:
        """Whether the member trained on PublicTest (a final fit, sidecar ``trained_on``): selection skips it.

        Returns:
            ``True`` when the sidecar's ``trained_on`` lists ``"PublicTest"``; members written
            before the key existed trained on ``Training`` only.
        """
        return "PublicTest" in self.meta.get("trained_on", ("Training",))


def member_probabilities(recognizer: Any, index: Fer2013Index) -> np.ndarray:
    """Flip-averaged probabilities of a recognizer on every image of the index.

    Uses the recognizer's public classify step, so training, evaluation and the
    bank share one preprocessing path.

    Args:
        recognizer: An [`EmotionRecognizer`][emotionkit.EmotionRecognizer] whose labels are
            the FER-2013 classes.
        index: The images.

    Returns:
        ``float32`` ``(N, classes)``.

    Raises:
        ValueError: If the recognizer's labels are not the dataset's classes.
    """
    if tuple(recognizer.labels) != tuple(index.data.classes):
        raise ValueError(f"the model predicts {recognizer.labels}, the bank holds {index.data.classes}")
    return np.asarray(recognizer.classify(index.data.images, flip_tta=True), np.float32)


def write_member(
    bank: str | Path, name: str, probabilities: np.ndarray, index: Fer2013Index, meta: dict[str, Any]
) -> Path:
    """Write ``<name>.npy`` (float16) and ``<name>.json`` into the bank folder.

    The sidecar gets the PublicTest accuracy, the image count, the classes and the
    order's sha256 added to ``meta``. A member whose ``meta["trained_on"]`` lists
    ``"PublicTest"`` gets ``null`` for its PublicTest accuracy: that split trained it.

    Args:
        bank: The bank folder (created).
        name: Member name: lower-case letters, digits, ``.``, ``_``, ``-``.
        probabilities: ``(N, classes)`` in index order.
        index: The index they refer to.
        meta: Provenance (recipe, seed, architecture, epochs, wall time, commit, the splits it
            trained on as ``trained_on``, ...).

    Returns:
        The ``.npy`` path.

    Raises:
        ValueError: If the name is invalid, the shape does not match the index, or the
            rows are not probability distributions.
    """
    probs = np.asarray(probabilities, np.float64)
    expected = (len(index.data), len(index.data.classes))
    if probs.shape != expected:
        raise ValueError(f"probabilities have shape {probs.shape}, the index needs {expected}")
    public = index.mask("PublicTest")
    accuracy = None
    if "PublicTest" not in meta.get("trained_on", ()):
        accuracy = round(float(np.mean(probs[public].argmax(1) == index.data.labels[public])), 5)
    sidecar = {
        **meta,
        "name": name,
        "public_test_accuracy": accuracy,
        "images": expected[0],
        "classes": list(index.data.classes),
        "order": "MANIFEST.tsv: relative paths of all three splits, sorted byte-wise",
        "order_sha256": index.order_sha256(),
        "dtype": "float16",
        "flip_averaged": True,
    }
    return write_member_files(bank, name, probs, sidecar)


def write_member_files(folder: str | Path, name: str, probabilities: np.ndarray, sidecar: dict[str, Any]) -> Path:
    """Check and write one member's two files: ``<name>.npy`` (``float16``) and ``<name>.json``.

    The step both the plain bank ([`write_member`][emotionkit.train.bank.write_member]) and the views
    folder ([`write_view_member`][emotionkit.train.views.write_view_member]) use; the sidecar is written
    as given.

    Args:
        folder: Where to write (created).
        name: Member name: lower-case letters, digits, ``.``, ``_``, ``-``.
        probabilities: Class probabilities, classes on the last axis.
        sidecar: The JSON sidecar.

    Returns:
        The ``.npy`` path.

    Raises:
        ValueError: If the name is invalid, a row is not a probability distribution (finite, summing to 1)
            or the sidecar holds NaN or an infinity; nothing is written then.

    Examples:
        >>> write_member_files("training/teachers", "m-s1", probs, {"name": "m-s1"})  # doctest: +SKIP
    """
    if not _NAME.match(name):
        raise ValueError(f"member name {name!r} must match {_NAME.pattern}")
    probs = np.asarray(probabilities, np.float64)
    if not np.all(np.isfinite(probs)) or np.abs(probs.sum(-1) - 1).max() > 1e-3:
        raise ValueError("each row must be a probability distribution (finite, summing to 1)")
    try:  # before writing anything, so a bad sidecar leaves no half-written member
        text = json.dumps(sidecar, indent=2, sort_keys=True, allow_nan=False) + "\n"
    except ValueError as err:
        raise ValueError(
            f"member {name!r}: the sidecar must hold finite numbers only (JSON has no NaN): {err}"
        ) from err
    path = Path(folder) / f"{name}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, probs.astype(np.float16))
    path.with_suffix(".json").write_text(text, encoding="utf-8")
    return path


def load_bank(bank: str | Path, index: Fer2013Index | None = None) -> list[BankMember]:
    """Read every member of a bank folder, sorted by name.

    Args:
        bank: The bank folder.
        index: When given, each member must refer to its image order.

    Returns:
        The members (probabilities renormalised to sum to 1 after the float16 round trip).

    Raises:
        FileNotFoundError: If the folder does not exist.
        ValueError: If a member lacks its sidecar, has the wrong shape, or refers to another order.
    """
    folder = Path(bank)
    if not folder.is_dir():
        raise FileNotFoundError(f"teacher bank folder not found: {folder}")
    members = []
    for path in sorted(folder.glob("*.npy")):
        sidecar = path.with_suffix(".json")
        if not sidecar.is_file():
            raise ValueError(f"{path} has no sidecar {sidecar.name}")
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        probs = np.load(path, allow_pickle=False).astype(np.float32)
        if probs.ndim != 2 or probs.shape[0] != meta.get("images"):
            raise ValueError(f"{path} has shape {probs.shape}, its sidecar says {meta.get('images')} images")
        if index is not None and meta.get("order_sha256") != index.order_sha256():
            raise ValueError(f"{path} refers to another image order than this FER-2013 folder")
        probs /= probs.sum(1, keepdims=True)
        members.append(BankMember(path.stem, probs, meta))
    return members


def calibrate_members(
    members: Sequence[BankMember], index: Fer2013Index, split: str = "PublicTest"
) -> list[BankMember]:
    """Class-bias calibrate every member on a validation split.

    Each member's probabilities become ``softmax(log p + b)`` with its own offsets ``b``
    from [`fit_class_bias`][emotionkit.train.calibrate.fit_class_bias] on ``split`` (see
    [`emotionkit.train.calibrate`][emotionkit.train.calibrate]). A member taught by FER+
    votes rarely says "fear" on FER-2013; calibrated, it stops dragging an ensemble (and a
    student taught by it) away from the labels it is scored on.

    Args:
        members: The bank.
        index: The image index.
        split: ``"PublicTest"`` (the validation split) or ``"Training"``; never the reported split.

    Returns:
        New members (same names) whose ``meta`` records ``class_bias`` and ``calibrated_on``;
        the inputs are not modified.

    Raises:
        ValueError: If ``split`` is ``"PrivateTest"`` or unknown.

    Examples:
        >>> calibrated = calibrate_members(load_bank("training/teachers", index), index)  # doctest: +SKIP
    """
    if split == "PrivateTest":
        raise ValueError("PrivateTest is the reported split: calibrate on PublicTest or Training")
    mask = index.mask(split)
    calibrated = []
    for member in members:
        bias = fit_class_bias(member.probabilities[mask], index.data.labels[mask])
        probs = apply_class_bias(member.probabilities, bias).astype(np.float32)
        meta = {**member.meta, "class_bias": [round(float(b), 3) for b in bias], "calibrated_on": split}
        calibrated.append(BankMember(member.name, probs, meta))
    return calibrated


@dataclass(frozen=True)
class Selection:
    """The result of [`select_ensemble`][emotionkit.train.bank.select_ensemble].

    Attributes:
        members: Chosen member names, in the order they were added (a name may repeat: a weight).
        steps: ``(name added, PublicTest accuracy of the ensemble so far)`` per step.
        public_accuracy: PublicTest accuracy of the chosen ensemble.
    """

    members: tuple[str, ...]
    steps: tuple[tuple[str, float], ...]
    public_accuracy: float


SELECTION_CRITERIA: tuple[str, ...] = ("log_loss", "accuracy")
"""What [`select_ensemble`][emotionkit.train.bank.select_ensemble] can optimise on PublicTest."""


def select_ensemble(
    members: Sequence[BankMember],
    index: Fer2013Index,
    max_size: int = 8,
    with_replacement: bool = True,
    criterion: str = "log_loss",
) -> Selection:
    """Greedy forward selection of an ensemble (mean of probabilities) on PublicTest only.

    Start from the best single member; repeatedly add the member that improves the
    ensemble most; stop when nothing improves or ``max_size`` is reached. With
    replacement a member may be added again (a heavier weight). Members that trained on
    PublicTest ([`trained_on_public_test`][emotionkit.train.bank.BankMember.trained_on_public_test])
    are never candidates: that split cannot judge them.

    ``"log_loss"`` (the default) minimises the PublicTest log-loss (ties: the higher
    accuracy): it changes smoothly with every member, and it is what a teacher's
    probabilities are for. ``"accuracy"`` maximises PublicTest accuracy (ties: the lower
    log-loss); on 3,589 images it moves in steps of 0.03% and stops at the first step
    that noise makes flat: with the session-8 bank it stopped at two members whose
    PrivateTest accuracy was lower than that of the four the log-loss chose.

    Args:
        members: The bank.
        index: The image index (for the PublicTest mask and labels).
        max_size: Most members (counting repeats).
        with_replacement: Allow a member to be chosen more than once.
        criterion: One of [`SELECTION_CRITERIA`][emotionkit.train.bank.SELECTION_CRITERIA].

    Returns:
        The selection.

    Raises:
        ValueError: If the bank has no member that did not train on PublicTest, or the criterion is unknown.

    Examples:
        >>> selection = select_ensemble(load_bank("training/teachers"), index)  # doctest: +SKIP
    """
    if criterion not in SELECTION_CRITERIA:
        raise ValueError(f"unknown selection criterion {criterion!r}; known: {', '.join(SELECTION_CRITERIA)}")
    members = [m for m in members if not m.trained_on_public_test]
    if not members:
        raise ValueError("the teacher bank is empty (or holds only members that trained on PublicTest)")
    mask = index.mask("PublicTest")
    truth = index.data.labels[mask]
    probs = {m.name: m.probabilities[mask].astype(np.float64) for m in members}

    def score(total: np.ndarray, count: int) -> tuple[float, float]:
        """``(accuracy, log-loss)`` of the mean of ``count`` members summed in ``total``."""
        mean = total / count
        accuracy = float(np.mean(mean.argmax(1) == truth))
        loss = float(-np.mean(np.log(np.maximum(mean[np.arange(len(truth)), truth], 1e-12))))
        return accuracy, loss

    def rank(scored: tuple[float, float]) -> tuple[float, float]:
        accuracy, loss = scored
        return (accuracy, -loss) if criterion == "accuracy" else (-loss, accuracy)

    chosen: list[str] = []
    steps: list[tuple[str, float]] = []
    total = np.zeros_like(next(iter(probs.values())))
    best = (-np.inf, -np.inf)
    while len(chosen) < max_size:
        candidates = [n for n in probs if with_replacement or n not in chosen]
        scored = [(score(total + probs[n], len(chosen) + 1), n) for n in candidates]
        if not scored:
            break
        top, name = max(scored, key=lambda item: rank(item[0]))
        if chosen and rank(top) <= best:
            break
        chosen.append(name)
        total = total + probs[name]
        best = rank(top)
        steps.append((name, top[0]))
    return Selection(tuple(chosen), tuple(steps), steps[-1][1] if steps else 0.0)


def teacher_targets(members: Sequence[BankMember], names: Sequence[str], rows: np.ndarray) -> np.ndarray:
    """The mean probabilities of the named members (repeats weigh more) on the given rows.

    Args:
        members: The bank.
        names: Member names, e.g. ``Selection.members``.
        rows: Row indices (or a boolean mask) into the bank order.

    Returns:
        ``float32`` ``(len(rows), classes)``.

    Raises:
        ValueError: If a name is not in the bank or no name is given.
    """
    by_name = {m.name: m for m in members}
    missing = [n for n in names if n not in by_name]
    if missing or not names:
        raise ValueError(f"unknown or no bank member(s) {missing or list(names)}; the bank has {sorted(by_name)}")
    total = sum(by_name[n].probabilities[rows].astype(np.float64) for n in names)
    return (np.asarray(total) / len(names)).astype(np.float32)


@dataclass(frozen=True)
class StudentFit:
    """How closely a distilled member follows its teachers: the result of
    [`student_fit`][emotionkit.train.bank.student_fit].

    Attributes:
        student: The member's name.
        teachers: Its recipe's ``bank_teachers`` (a repeat weighs more).
        calibrated_teachers: Whether the teachers were class-bias calibrated first, as the recipe taught it.
        split: The split measured.
        images: Images in that split.
        student_accuracy: The student's accuracy on the split's labels.
        teachers_accuracy: The accuracy of the teachers' mean.
        agreement: The share of images on which the student and the teachers' mean pick the same class.
    """

    student: str
    teachers: tuple[str, ...]
    calibrated_teachers: bool
    split: str
    images: int
    student_accuracy: float
    teachers_accuracy: float
    agreement: float


def student_fit(
    members: Sequence[BankMember], index: Fer2013Index, student: str, split: str = "Training"
) -> StudentFit:
    """Measure how closely a distilled bank member follows the teachers its recipe named.

    On the training images a student that cannot follow its teachers underfits (more capacity or
    a longer schedule may help); one that follows them there but not on PublicTest overfits. The
    teachers are taken as the student saw them: calibrated on PublicTest first when its recipe set
    ``calibrate_teachers``. The student's own stored probabilities are used as they are.

    Args:
        members: The bank (uncalibrated, as [`load_bank`][emotionkit.train.bank.load_bank] returns it).
        index: The image index.
        student: A member whose sidecar recipe names ``bank_teachers``.
        split: ``"Training"`` (the images it was taught on) or ``"PublicTest"``.

    Returns:
        The accuracies and the agreement on that split.

    Raises:
        ValueError: If the student is not in the bank, was not distilled from it, names a member
            the bank lacks, or ``split`` is unknown or ``"PrivateTest"`` (reported, never used to tune).

    Examples:
        >>> bank = load_bank("training/teachers", index)  # doctest: +SKIP
        >>> student_fit(bank, index, "student-p24-branches-s7474").agreement  # doctest: +SKIP
        0.86...
    """
    if split == "PrivateTest":
        raise ValueError("PrivateTest is the reported split: measure the fit on Training or PublicTest")
    mask = index.mask(split)
    by_name = {m.name: m for m in members}
    if student not in by_name:
        raise ValueError(f"no bank member {student!r}; the bank has {sorted(by_name)}")
    recipe = by_name[student].meta.get("recipe") or {}
    teachers = tuple(recipe.get("bank_teachers") or ())
    if not teachers:
        raise ValueError(f"bank member {student!r} was not distilled from the bank (its recipe names no bank_teachers)")
    calibrated = bool(recipe.get("calibrate_teachers", False))
    wanted = set(teachers)
    used = [m for m in members if m.name in wanted]  # calibration is per member: only the teachers
    taught_by = calibrate_members(used, index) if calibrated else members
    truth = index.data.labels[mask]
    mean = teacher_targets(taught_by, teachers, mask).argmax(1)
    own = by_name[student].probabilities[mask].argmax(1)
    return StudentFit(
        student=student,
        teachers=teachers,
        calibrated_teachers=calibrated,
        split=split,
        images=int(mask.sum()),
        student_accuracy=float(np.mean(own == truth)),
        teachers_accuracy=float(np.mean(mean == truth)),
        agreement=float(np.mean(own == mean)),
    )
