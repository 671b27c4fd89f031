"""Accuracy of a model on FER-2013 PublicTest and PrivateTest, with and without flip TTA.

    KERAS_BACKEND=tensorflow python benchmarks/accuracy.py [--model NAME_OR_PATH] [--output DIR]

Prints a Markdown table (7-class and 5-class accuracy, FER+ majority-label accuracy, per-class
recall) and, with --output, writes the full evaluation report with plots for PrivateTest.
FER+ majority labels: the class with more than half of an image's FER+ votes (``ferplus.csv``;
2,720 of PrivateTest's 3,589 images have one).

Where the jaffe-dev photos are present (``--posed``, default ``../shared/data/jaffe-dev``), a
second table gives end-to-end accuracy on posed faces: the recognizer detects the face in each
uncropped photo and classifies it (a photo with no face found counts as wrong), the kind of check
FER-2013's cropped faces do not make.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from posed_faces import end_to_end, labelled_photos
from shared_data import shared_root

from emotionkit import EmotionRecognizer
from emotionkit.train.data import FaceDataset, ferplus_majority, load_fer2013_folder
from emotionkit.train.evaluate import evaluate, predict_probabilities, save_report


def ferplus_labels(data: FaceDataset, root: Path) -> np.ndarray:
    """FER+ majority labels of ``data`` (``-1`` where there is none, or everywhere without ``ferplus.csv``)."""
    votes = root / "ferplus.csv"
    return ferplus_majority(data, votes, root) if votes.is_file() else np.full(len(data), -1)


def ferplus_accuracy(rec: EmotionRecognizer, data: FaceDataset, labels: np.ndarray, tta: bool) -> tuple[float, int]:
    """Accuracy on the images that have a FER+ majority label, and how many they are (``nan, 0`` if none)."""
    keep = labels >= 0
    if not keep.any():
        return float("nan"), 0
    probs = predict_probabilities(rec, data.images[keep], flip_tta=tta)
    return float(np.mean(probs.argmax(1) == labels[keep])), int(keep.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", type=Path, default=shared_root() / "data" / "fer2013")
    parser.add_argument("--output", type=Path, help="write PrivateTest report.json/.md and plots here")
    parser.add_argument("--history", type=Path, help="history.jsonl of the training run (for curves.png)")
    parser.add_argument("--posed", type=Path, default=shared_root() / "data" / "jaffe-dev", help="jaffe-dev folder")
    args = parser.parse_args()

    rec = EmotionRecognizer.from_pretrained(args.model, flip_tta=False)  # TTA is measured by evaluate()
    reports, majority = {}, {}
    for split in ("PublicTest", "PrivateTest"):
        data = load_fer2013_folder(args.data, split)
        labels = ferplus_labels(data, args.data)
        for tta in (False, True):
            reports[(split, tta)] = evaluate(rec, data, flip_tta=tta, name=split)
            majority[(split, tta)] = ferplus_accuracy(rec, data, labels, tta)
    classes = list(rec.labels)
    print(f"model: {args.model or 'bundled default'}\n")
    print(
        "| split | flip TTA | accuracy (7 classes) | accuracy (5 classes) | FER+ majority (n) | macro F1 | "
        + " | ".join(f"{c} recall" for c in classes)
        + " |"
    )
    print("|---" * (6 + len(classes)) + "|")
    for (split, tta), r in reports.items():
        recalls = " | ".join(f"{r.per_class[c]['recall']:.1%}" for c in classes)
        five = f"{r.accuracy_five_class:.2%}" if r.accuracy_five_class is not None else "n/a"
        acc, n = majority[(split, tta)]
        ferplus = f"{acc:.2%} ({n:,})" if n else "n/a (no ferplus.csv)"
        print(
            f"| {split} | {'on' if tta else 'off'} | {r.accuracy:.2%} | {five} | {ferplus} | {r.macro_f1:.3f} | "
            f"{recalls} |"
        )
    photos = labelled_photos(args.posed)
    if photos:
        where = f"{args.posed.name}, {len(photos)} photos of {len({label for _, label in photos})} classes"
        print(f"\nPosed faces, detect + classify ({where}):\n")
        print("| flip TTA | accuracy | faces found |")
        print("|---|---|---|")
        with_flip = EmotionRecognizer.from_pretrained(args.model, flip_tta=True)
        for tta, recognizer in ((False, rec), (True, with_flip)):  # rec runs without flip TTA
            scored = end_to_end(recognizer, photos)
            print(f"| {'on' if tta else 'off'} | {scored.accuracy:.2%} | {scored.found} of {scored.photos} |")
    if args.output:
        history = None
        if args.history and args.history.is_file():
            history = [json.loads(x) for x in args.history.read_text().splitlines() if x.strip()]
        private = [reports[("PrivateTest", False)], reports[("PrivateTest", True)]]
        for path in save_report(private, args.output, history):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
