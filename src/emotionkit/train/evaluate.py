"""Evaluation reports: accuracy, per-class precision/recall/F1, confusion matrix, curves; JSON + Markdown + PNG.

``emotionkit-evaluate MODEL DATA`` prints the report of a model on a FER-2013
split or an image folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emotionkit.labels import FIVE_CLASSES
from emotionkit.recognizer import EmotionRecognizer
from emotionkit.train.data import FaceDataset

__all__ = ["EvaluationReport", "evaluate", "predict_probabilities", "save_report", "main"]


@dataclass(frozen=True)
class EvaluationReport:
    """Metrics of a model on a labelled set of face crops.

    Attributes:
        dataset: A name for the evaluated data.
        images: Number of images.
        classes: Class names (rows/columns of the confusion matrix).
        accuracy: Top-1 accuracy.
        accuracy_five_class: Accuracy on the images of the five classes angry,
            happy, neutral, sad, surprise, predicting among those five only
            (``None`` if the model lacks one of them).
        per_class: ``{class: {"precision", "recall", "f1", "support"}}``.
        macro_f1: Unweighted mean F1.
        confusion: ``confusion[i][j]`` = images of true class i predicted as j.
        flip_tta: Whether predictions averaged the image and its mirror image.
    """

    dataset: str
    images: int
    classes: list[str]
    accuracy: float
    accuracy_five_class: float | None
    per_class: dict[str, dict[str, float]]
    macro_f1: float
    confusion: list[list[int]]
    flip_tta: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dictionary.

        Returns:
            A new dictionary.
        """
        return asdict(self)

    def to_markdown(self) -> str:
        """Render the report as Markdown tables.

        Returns:
            The Markdown text.
        """
        five = "n/a" if self.accuracy_five_class is None else f"{self.accuracy_five_class:.2%}"
        lines = [
            f"## {self.dataset} ({self.images} images{', flip TTA' if self.flip_tta else ''})",
            "",
            f"- accuracy (7 classes): **{self.accuracy:.2%}**",
            f"- accuracy (5 classes: {', '.join(FIVE_CLASSES)}): **{five}**",
            f"- macro F1: {self.macro_f1:.3f}",
            "",
            "| class | precision | recall | F1 | support |",
            "|---|---|---|---|---|",
        ]
        for name, m in self.per_class.items():
            lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {int(m['support'])} |")
        lines += ["", "Confusion matrix (rows: true, columns: predicted):", ""]
        lines.append("| true \\ pred | " + " | ".join(self.classes) + " |")
        lines.append("|---" * (len(self.classes) + 1) + "|")
        for name, row in zip(self.classes, self.confusion):
            lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
        return "\n".join(lines) + "\n"


def predict_probabilities(
    recognizer: EmotionRecognizer, images: np.ndarray | Sequence[np.ndarray], flip_tta: bool = False
) -> np.ndarray:
    """Class probabilities of face crops through the recognizer's own classify step.

    Args:
        recognizer: The model to evaluate (its own ``flip_tta`` setting applies too).
        images: Face crops (as loaded by [`emotionkit.train.data`][emotionkit.train.data]).
        flip_tta: Average with the horizontally mirrored crops.

    Returns:
        ``(N, len(recognizer.labels))`` probabilities.

    Examples:
        >>> predict_probabilities(rec, load_fer2013_folder(root, "PublicTest").images)  # doctest: +SKIP
    """
    return recognizer.classify(list(images), flip_tta=True if flip_tta else None)


def evaluate(
    recognizer: EmotionRecognizer, data: FaceDataset, *, flip_tta: bool = False, name: str = "dataset"
) -> EvaluationReport:
    """Evaluate a recognizer on labelled face crops.

    Args:
        recognizer: The model (its labels must include the dataset's classes).
        data: Labelled crops.
        flip_tta: Average predictions over the image and its mirror image.
        name: Name of the data in the report.

    Returns:
        The report.

    Raises:
        ValueError: If a dataset class is not among the model's labels.

    Examples:
        >>> report = evaluate(rec, load_fer2013_folder(root, "PrivateTest"))  # doctest: +SKIP
        >>> round(report.accuracy, 3)  # doctest: +SKIP
    """
    labels = list(recognizer.labels)
    missing = [c for c in data.classes if c not in labels]
    if missing:
        raise ValueError(f"the model has no label(s) {missing}; its labels are {labels}")
    truth = np.array([labels.index(data.classes[i]) for i in data.labels])
    probs = predict_probabilities(recognizer, data.images, flip_tta)
    pred = probs.argmax(1)
    k = len(labels)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (truth, pred), 1)
    per_class = {}
    for i, cls in enumerate(labels):
        tp = confusion[i, i]
        precision = tp / confusion[:, i].sum() if confusion[:, i].sum() else 0.0
        recall = tp / confusion[i].sum() if confusion[i].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[cls] = {
            "precision": float(precision),
            "recall": float(recall),
            "f1": float(f1),
            "support": float(confusion[i].sum()),
        }
    five = None
    if all(c in labels for c in FIVE_CLASSES):
        idx = [labels.index(c) for c in FIVE_CLASSES]
        mask = np.isin(truth, idx)
        if mask.any():
            sub_pred = np.array(idx)[probs[mask][:, idx].argmax(1)]
            five = float((sub_pred == truth[mask]).mean())
    present = [m["f1"] for m in per_class.values() if m["support"]]
    return EvaluationReport(
        dataset=name,
        images=len(truth),
        classes=labels,
        accuracy=float((pred == truth).mean()),
        accuracy_five_class=five,
        per_class=per_class,
        macro_f1=float(np.mean(present)) if present else 0.0,
        confusion=confusion.tolist(),
        flip_tta=flip_tta,
    )


def _plot_confusion(report: EvaluationReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.array(report.confusion, dtype=float)
    norm = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(report.classes)), report.classes, rotation=45, ha="right")
    ax.set_yticks(range(len(report.classes)), report.classes)
    for i in range(len(report.classes)):
        for j in range(len(report.classes)):
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{report.dataset}: accuracy {report.accuracy:.1%}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_curves(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
    for row_key, style in (("accuracy", "-"), ("val_accuracy", "--")):
        ax_acc.plot([r.get(row_key, np.nan) for r in history], style, label=row_key)
    for row_key, style in (("loss", "-"), ("val_loss", "--")):
        ax_loss.plot([r.get(row_key, np.nan) for r in history], style, label=row_key)
    for ax, title in ((ax_acc, "accuracy"), (ax_loss, "loss")):
        ax.set_xlabel("epoch (head stage first)")
        ax.set_title(title)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_report(
    reports: Sequence[EvaluationReport], folder: str | Path, history: list[dict[str, Any]] | None = None
) -> list[Path]:
    """Write ``report.json``, ``report.md``, one confusion-matrix PNG per report, and ``curves.png``.

    Args:
        reports: One or more reports (e.g. with and without flip TTA).
        folder: Destination folder (created).
        history: Per-epoch training logs (``history.jsonl`` rows) for the curves plot.

    Returns:
        The files written.

    Examples:
        >>> save_report([report], "reports/private-test")  # doctest: +SKIP
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "report.json", folder / "report.md"]
    written[0].write_text(json.dumps([r.to_dict() for r in reports], indent=2) + "\n")
    written[1].write_text("\n".join(r.to_markdown() for r in reports))
    for r in reports:
        png = folder / f"confusion{'_tta' if r.flip_tta else ''}.png"
        _plot_confusion(r, png)
        written.append(png)
    if history:
        _plot_curves(history, folder / "curves.png")
        written.append(folder / "curves.png")
    return written


def main(argv: list[str] | None = None) -> int:
    """Run ``emotionkit-evaluate MODEL DATA``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code.

    Examples:
        >>> main(["default", "../shared/data/fer2013", "--split", "PrivateTest"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="emotionkit-evaluate", description=__doc__)
    parser.add_argument("model", help="preset name, model folder or Hub repo id ('default' for the bundled model)")
    parser.add_argument("data", type=Path, help="FER-2013 folder, or a root/<class>/ image folder with --folder")
    parser.add_argument("--split", default="PrivateTest", help="FER-2013 split (default: PrivateTest)")
    parser.add_argument("--folder", action="store_true", help="DATA is a root/<class>/ folder of face crops")
    parser.add_argument("--tta", action="store_true", help="also report horizontal-flip test-time augmentation")
    parser.add_argument("--limit", type=int, help="evaluate a fixed random sample of this many images")
    parser.add_argument("--history", type=Path, help="history.jsonl of the training run, for curves.png")
    parser.add_argument("--output", type=Path, help="write report.json, report.md and PNG plots here")
    args = parser.parse_args(argv)

    from emotionkit.train.data import load_fer2013_folder, load_image_folder

    try:
        rec = EmotionRecognizer.from_pretrained(None if args.model == "default" else args.model)
        data = load_image_folder(args.data) if args.folder else load_fer2013_folder(args.data, args.split)
    except (FileNotFoundError, ValueError) as exc:
        print(f"emotionkit-evaluate: error: {exc}", file=sys.stderr)
        return 2
    data = data.sample(args.limit or 0)
    name = str(args.data.name if args.folder else args.split)
    reports = [evaluate(rec, data, name=name)]
    if args.tta:
        reports.append(evaluate(rec, data, flip_tta=True, name=name))
    for r in reports:
        print(r.to_markdown())
    if args.output:
        history = None
        if args.history and args.history.is_file():
            history = [json.loads(x) for x in args.history.read_text().splitlines() if x.strip()]
        for path in save_report(reports, args.output, history):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
