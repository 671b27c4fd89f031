"""Dataset loaders: FER-2013 (Kaggle folders or the original CSV), FER+ votes, and image folders.

All loaders return a [`FaceDataset`][emotionkit.train.data.FaceDataset] of ``uint8`` grey images and integer
labels in [`EMOTIONS`][emotionkit.labels.EMOTIONS] order (or the folder's own class order
for [`load_image_folder`][emotionkit.train.data.load_image_folder]). Images pass through the shared
[`prepare_faces`][emotionkit.preprocessing.prepare_faces] before they reach a model.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emotionkit.labels import EMOTIONS

__all__ = [
    "FaceDataset",
    "FER_SPLITS",
    "load_fer2013_folder",
    "load_fer2013_csv",
    "load_ferplus_votes",
    "mix_ferplus_votes",
    "ferplus_majority",
    "FERPLUS_COLUMNS",
    "load_image_folder",
    "class_weights",
]

FER_SPLITS: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
"""FER-2013 split names as used in file-name prefixes and the CSV ``Usage`` column."""
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
# fer2013.csv emotion codes -> EMOTIONS index
_CSV_CODE_TO_NAME = {0: "angry", 1: "disgust", 2: "fear", 3: "happy", 4: "sad", 5: "surprise", 6: "neutral"}
FERPLUS_COLUMNS = {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happiness",
    "neutral": "neutral",
    "sad": "sadness",
    "surprise": "surprise",
}
"""The ``ferplus.csv`` vote column of each of the seven classes (contempt, unknown and NF have no class)."""


@dataclass(frozen=True)
class FaceDataset:
    """Grey face images with integer labels.

    Attributes:
        images: ``uint8`` array ``(N, H, W)`` when all images share a size,
            else a list of 2-D arrays.
        labels: ``int64`` array ``(N,)`` of indices into ``classes``.
        classes: Class names in label-index order.
        paths: Source of each image (a file path, or ``csv:<row>``).
        soft_labels: Optional ``float32`` ``(N, len(classes))`` label distributions.
    """

    images: np.ndarray | list[np.ndarray]
    labels: np.ndarray
    classes: tuple[str, ...]
    paths: list[str] = field(default_factory=list)
    soft_labels: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def counts(self) -> dict[str, int]:
        """Return the number of images of each class.

        Returns:
            ``{class name: count}`` in class order.

        Examples:
            >>> ds = FaceDataset(np.zeros((2, 4, 4), np.uint8), np.array([0, 0]), ("a", "b"))
            >>> ds.counts()
            {'a': 2, 'b': 0}
        """
        found = np.bincount(self.labels, minlength=len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, found)}

    def targets(self) -> np.ndarray:
        """Return the training targets: ``soft_labels`` if set, else one-hot labels.

        Returns:
            ``float32`` array ``(N, len(classes))``.

        Examples:
            >>> FaceDataset(np.zeros((1, 4, 4), np.uint8), np.array([1]), ("a", "b")).targets()
            array([[0., 1.]], dtype=float32)
        """
        if self.soft_labels is not None:
            return np.asarray(self.soft_labels, np.float32)
        return np.eye(len(self.classes), dtype=np.float32)[self.labels]

    def subset(self, indices: Sequence[int] | np.ndarray) -> FaceDataset:
        """Return the images at ``indices`` as a new dataset.

        Args:
            indices: Positions to keep.

        Returns:
            A new [`FaceDataset`][emotionkit.train.data.FaceDataset].

        Examples:
            >>> ds = FaceDataset(np.zeros((3, 4, 4), np.uint8), np.array([0, 1, 0]), ("a", "b"))
            >>> len(ds.subset([0, 2]))
            2
        """
        idx = np.asarray(indices, dtype=np.int64)
        images = self.images[idx] if isinstance(self.images, np.ndarray) else [self.images[i] for i in idx]
        return FaceDataset(
            images=images,
            labels=self.labels[idx],
            classes=self.classes,
            paths=[self.paths[i] for i in idx] if self.paths else [],
            soft_labels=None if self.soft_labels is None else self.soft_labels[idx],
        )

    def concatenate(self, other: FaceDataset) -> FaceDataset:
        """Return this dataset's images followed by ``other``'s, as a new dataset.

        Where only one of the two has ``soft_labels``, the other's rows are its one-hot labels.

        Args:
            other: A dataset of the same classes.

        Returns:
            A new [`FaceDataset`][emotionkit.train.data.FaceDataset] of ``len(self) + len(other)`` images.

        Raises:
            ValueError: If the classes differ, or one dataset has paths and the other has none.

        Examples:
            >>> a = FaceDataset(np.zeros((2, 4, 4), np.uint8), np.array([0, 1]), ("a", "b"))
            >>> len(a.concatenate(a))
            4
        """
        if tuple(other.classes) != tuple(self.classes):
            raise ValueError(f"cannot join datasets of classes {self.classes} and {other.classes}")
        if bool(self.paths) != bool(other.paths):
            raise ValueError("cannot join a dataset with image paths and one without")
        images: np.ndarray | list[np.ndarray]
        if (
            isinstance(self.images, np.ndarray)
            and isinstance(other.images, np.ndarray)
            and self.images.shape[1:] == other.images.shape[1:]
        ):
            images = np.concatenate([self.images, other.images])
        else:  # images of several sizes are a list
            images = [*self.images, *other.images]
        soft = None
        if self.soft_labels is not None or other.soft_labels is not None:
            soft = np.concatenate([self.targets(), other.targets()])
        return FaceDataset(
            images=images,
            labels=np.concatenate([self.labels, other.labels]),
            classes=self.classes,
            paths=[*self.paths, *other.paths],
            soft_labels=soft,
        )

    def sample(self, n: int, seed: int = 0) -> FaceDataset:
        """Return a fixed random subset of ``n`` images (all of them if ``n`` is 0 or too large), in order.

        Args:
            n: Number of images.
            seed: Random seed; the same seed gives the same subset.

        Returns:
            A new [`FaceDataset`][emotionkit.train.data.FaceDataset].

        Examples:
            >>> ds = FaceDataset(np.zeros((5, 4, 4), np.uint8), np.arange(5) % 2, ("a", "b"))
            >>> len(ds.sample(3))
            3
        """
        if not n or n >= len(self):
            return self
        return self.subset(np.sort(np.random.default_rng(seed).choice(len(self), n, replace=False)))


def _read_gray(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"cannot read image file {path} (not an image, or corrupt)")
    return image


def _stack(images: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    shapes = {im.shape for im in images}
    return np.stack(images) if len(shapes) == 1 else images


def _require_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} folder not found: {path}")


def load_fer2013_folder(root: str | Path, split: str = "Training") -> FaceDataset:
    """Load one FER-2013 split from the Kaggle folder layout.

    The layout is ``root/train/<class>/Training_*.jpg`` and
    ``root/test/<class>/{PublicTest,PrivateTest}_*.jpg``; the split is read
    from the file-name prefix and the label from the folder.

    Args:
        root: The dataset folder (the one holding ``train/`` and ``test/``).
        split: ``"Training"``, ``"PublicTest"`` or ``"PrivateTest"``.

    Returns:
        The split, sorted by path.

    Raises:
        FileNotFoundError: If the folders are missing.
        ValueError: If ``split`` is unknown, a class folder is unknown, a file is
            unreadable (named), or the split holds no image.

    Examples:
        >>> ds = load_fer2013_folder("../shared/data/fer2013", "PublicTest")  # doctest: +SKIP
        >>> len(ds)  # doctest: +SKIP
        3589
    """
    if split not in FER_SPLITS:
        raise ValueError(f"unknown FER-2013 split {split!r}; expected one of {', '.join(FER_SPLITS)}")
    root = Path(root)
    _require_dir(root, "FER-2013")
    sub = root / ("train" if split == "Training" else "test")
    _require_dir(sub, f"FER-2013 {split}")
    images, labels, paths = [], [], []
    for class_dir in sorted(p for p in sub.iterdir() if p.is_dir()):
        if class_dir.name not in EMOTIONS:
            raise ValueError(f"unknown class folder {class_dir} ; expected folders named {', '.join(EMOTIONS)}")
        label = EMOTIONS.index(class_dir.name)
        for path in sorted(class_dir.glob(f"{split}_*")):
            images.append(_read_gray(path))
            labels.append(label)
            paths.append(str(path))
    if not images:
        raise ValueError(f"no {split} images found under {sub}")
    return FaceDataset(_stack(images), np.asarray(labels, np.int64), EMOTIONS, paths)


def load_fer2013_csv(path: str | Path, usage: str = "Training") -> FaceDataset:
    """Load one split of the original ``fer2013.csv`` (columns ``emotion, pixels, Usage``).

    Args:
        path: The CSV file.
        usage: ``"Training"``, ``"PublicTest"`` or ``"PrivateTest"``.

    Returns:
        The split's 48x48 images; labels are re-ordered to [`EMOTIONS`][emotionkit.labels.EMOTIONS].

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If a column is missing, a row is malformed (row number given),
            or the split is empty.

    Examples:
        >>> ds = load_fer2013_csv("fer2013.csv", "PrivateTest")  # doctest: +SKIP
    """
    if usage not in FER_SPLITS:
        raise ValueError(f"unknown FER-2013 usage {usage!r}; expected one of {', '.join(FER_SPLITS)}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FER-2013 CSV not found: {path}")
    images, labels, paths = [], [], []
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
        for row_no, row in enumerate(reader):
            if row["Usage"] != usage:
                continue
            try:
                code = int(row["emotion"])
                pixels = np.array(row["pixels"].split(), dtype=np.uint8)
                name = _CSV_CODE_TO_NAME[code]
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}: data row {row_no} is malformed ({exc})") from None
            if pixels.size != 48 * 48:
                raise ValueError(f"{path}: data row {row_no} has {pixels.size} pixels, expected 2304")
            images.append(pixels.reshape(48, 48))
            labels.append(EMOTIONS.index(name))
            paths.append(f"csv:{row_no}")
    if not images:
        raise ValueError(f"{path} holds no row with Usage {usage!r}")
    return FaceDataset(np.stack(images), np.asarray(labels, np.int64), EMOTIONS, paths)


def load_ferplus_votes(dataset: FaceDataset, votes_csv: str | Path) -> FaceDataset:
    """Attach FER+ vote distributions (soft labels) to a FER-2013 folder dataset.

    Votes for ``contempt``, ``unknown`` and ``NF`` are dropped; images with no
    vote for the seven classes (or none aligned) keep a one-hot soft label of
    their FER-2013 label. Use ``soft_labels.argmax(1)`` for majority labels.

    Args:
        dataset: A dataset from [`load_fer2013_folder`][emotionkit.train.data.load_fer2013_folder].
        votes_csv: The ``ferplus.csv`` file (``path`` column relative to the dataset root).

    Returns:
        A new dataset with ``soft_labels`` set.

    Raises:
        FileNotFoundError: If the CSV is missing.
        ValueError: If a needed column is missing.

    Examples:
        >>> ds = load_ferplus_votes(load_fer2013_folder(root, "Training"), root + "/ferplus.csv")  # doctest: +SKIP
    """
    votes_csv = Path(votes_csv)
    if not votes_csv.is_file():
        raise FileNotFoundError(f"FER+ votes file not found: {votes_csv}")
    by_path: dict[str, np.ndarray] = {}
    with votes_csv.open(newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"path", *FERPLUS_COLUMNS.values()}
        missing = need - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{votes_csv} lacks the column(s) {', '.join(sorted(missing))}")
        for row in reader:
            vals = [row[FERPLUS_COLUMNS[c]] for c in EMOTIONS]
            if all(v.strip() for v in vals):
                by_path[row["path"]] = np.array([float(v) for v in vals], np.float32)
    soft = np.zeros((len(dataset), len(EMOTIONS)), np.float32)
    for i, p in enumerate(dataset.paths):
        parts = Path(p).parts
        key = "/".join(parts[-3:])
        votes = by_path.get(key)
        if votes is None or votes.sum() == 0:
            soft[i, dataset.labels[i]] = 1.0
        else:
            soft[i] = votes / votes.sum()
    return FaceDataset(dataset.images, dataset.labels, dataset.classes, dataset.paths, soft)


def mix_ferplus_votes(dataset: FaceDataset, votes_csv: str | Path, weight: float) -> FaceDataset:
    """Return a copy of a FER-2013 folder dataset whose targets mix its labels with the FER+ votes.

    The target of each image is ``(1 - weight) * one-hot label + weight * vote distribution``;
    images without FER+ votes keep their one-hot label. The input is not modified.

    Args:
        dataset: A dataset from [`load_fer2013_folder`][emotionkit.train.data.load_fer2013_folder].
        votes_csv: The ``ferplus.csv`` file.
        weight: Share of the votes, in ``[0, 1]``.

    Returns:
        A new dataset with ``soft_labels`` set (or ``dataset`` itself when ``weight`` is 0).

    Raises:
        ValueError: If ``weight`` is outside ``[0, 1]``.
        FileNotFoundError: If the CSV is missing.

    Examples:
        >>> ds = mix_ferplus_votes(load_fer2013_folder(root), root + "/ferplus.csv", 0.4)  # doctest: +SKIP
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"ferplus weight must be in [0, 1], got {weight}")
    if weight == 0.0:
        return dataset
    votes = load_ferplus_votes(dataset, votes_csv).soft_labels
    assert votes is not None
    onehot = np.eye(len(dataset.classes), dtype=np.float32)[dataset.labels]
    mixed = (1.0 - weight) * onehot + weight * votes
    return FaceDataset(dataset.images, dataset.labels, dataset.classes, dataset.paths, mixed.astype(np.float32))


def load_image_folder(root: str | Path, classes: Sequence[str] | None = None) -> FaceDataset:
    """Load a ``root/<class>/*`` folder of face images (any size; read as grey).

    Args:
        root: The folder; each sub-folder is a class.
        classes: The class order; default: [`EMOTIONS`][emotionkit.labels.EMOTIONS] when every
            sub-folder is an emotion name, else the sorted sub-folder names.

    Returns:
        The images, sorted by class then path.

    Raises:
        FileNotFoundError: If ``root`` is not a folder.
        ValueError: If a sub-folder is not in ``classes``, a class holds no image,
            or a file cannot be read (named in the message).

    Examples:
        >>> ds = load_image_folder("my_faces")  # doctest: +SKIP
    """
    root = Path(root)
    _require_dir(root, "image")
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not found:
        raise ValueError(f"{root} has no class sub-folders; expected root/<class>/<image files>")
    if classes is None:
        classes = EMOTIONS if set(found) <= set(EMOTIONS) else tuple(found)
    classes = tuple(classes)
    unknown = [name for name in found if name not in classes]
    if unknown:
        raise ValueError(f"unknown class folder(s) {', '.join(unknown)} in {root}; known: {', '.join(classes)}")
    images, labels, paths = [], [], []
    for name in found:
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"class folder {root / name} holds no image file")
        for path in files:
            images.append(_read_gray(path))
            labels.append(classes.index(name))
            paths.append(str(path))
    return FaceDataset(_stack(images), np.asarray(labels, np.int64), classes, paths)


def class_weights(labels: np.ndarray, num_classes: int, power: float = 0.5) -> dict[int, float]:
    """Class weights ``(N / (K * n_c)) ** power``, for rare classes such as ``disgust``.

    ``power=1`` is full inverse-frequency balancing, ``0`` no weighting; the
    default square root lifts rare classes without costing much overall accuracy.

    Args:
        labels: Integer labels.
        num_classes: Number of classes ``K``.
        power: Strength of the re-weighting.

    Returns:
        ``{class index: weight}``; a class with no sample gets weight 0.

    Examples:
        >>> class_weights(np.array([0, 0, 0, 1]), 2, power=1.0)
        {0: 0.6666666666666666, 1: 2.0}
    """
    counts = np.bincount(np.asarray(labels, np.int64), minlength=num_classes).astype(np.float64)
    total = counts.sum()
    out = {}
    for c in range(num_classes):
        out[c] = float((total / (num_classes * counts[c])) ** power) if counts[c] else 0.0
    return out


def ferplus_majority(data: FaceDataset, votes_csv: str | Path, root: str | Path | None = None) -> np.ndarray:
    """FER+ majority labels: the class (of the seven) that got more than half of an image's votes.

    Images without such a class (a split vote, or a majority for contempt, unknown or not-a-face) and
    images without FER+ votes get ``-1``. On PrivateTest this keeps 2,720 of 3,589 images.

    Args:
        data: The images; their ``paths`` are matched with the file's ``path`` column.
        votes_csv: ``ferplus.csv`` (``path`` column relative to the FER-2013 folder).
        root: The FER-2013 folder, when ``data.paths`` are not already relative to it
            (as [`load_fer2013_folder`][emotionkit.train.data.load_fer2013_folder] makes them).

    Returns:
        ``int64`` ``(N,)`` labels in ``data.classes`` order, or ``-1``.

    Raises:
        FileNotFoundError: If the file is missing.

    Examples:
        >>> ferplus_majority(load_fer2013_folder(root, "PrivateTest"), root / "ferplus.csv", root)  # doctest: +SKIP
    """
    votes_csv = Path(votes_csv)
    if not votes_csv.is_file():
        raise FileNotFoundError(f"FER+ votes file not found: {votes_csv}")
    paths = data.paths if root is None else [Path(p).relative_to(root).as_posix() for p in data.paths]
    position = {p: i for i, p in enumerate(paths)}
    labels = np.full(len(data), -1, np.int64)
    others = ("contempt", "unknown", "NF")
    with votes_csv.open(newline="") as fh:
        for row in csv.DictReader(fh):
            i = position.get(row["path"])
            if i is None or not row[FERPLUS_COLUMNS[data.classes[0]]].strip():
                continue
            counts = [int(row[FERPLUS_COLUMNS[c]]) for c in data.classes]
            total = sum(counts) + sum(int(row.get(c) or 0) for c in others)
            best = int(np.argmax(counts))
            if 2 * counts[best] > total:
                labels[i] = best
    return labels
