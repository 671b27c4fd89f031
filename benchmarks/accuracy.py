"""Accuracy of a model on FER-2013 PublicTest and PrivateTest, with and without flip TTA.

    KERAS_BACKEND=tensorflow python benchmarks/accuracy.py [--model NAME_OR_PATH] [--output DIR]

Prints a Markdown table (7-class and 5-class accuracy, per-class recall) and,
with --output, writes the full evaluation report with plots for PrivateTest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from shared_data import shared_root

from emotionkit import EmotionRecognizer
from emotionkit.train.data import load_fer2013_folder
from emotionkit.train.evaluate import evaluate, save_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", type=Path, default=shared_root() / "data" / "fer2013")
    parser.add_argument("--output", type=Path, help="write PrivateTest report.json/.md and plots here")
    parser.add_argument("--history", type=Path, help="history.jsonl of the training run (for curves.png)")
    args = parser.parse_args()

    rec = EmotionRecognizer.from_pretrained(args.model, flip_tta=False)  # TTA is measured by evaluate()
    reports = {}
    for split in ("PublicTest", "PrivateTest"):
        data = load_fer2013_folder(args.data, split)
        for tta in (False, True):
            reports[(split, tta)] = evaluate(rec, data, flip_tta=tta, name=split)
    classes = list(rec.labels)
    print(f"model: {args.model or 'bundled default'}\n")
    print(
        "| split | flip TTA | accuracy (7 classes) | accuracy (5 classes) | macro F1 | "
        + " | ".join(f"{c} recall" for c in classes)
        + " |"
    )
    print("|---" * (5 + len(classes)) + "|")
    for (split, tta), r in reports.items():
        recalls = " | ".join(f"{r.per_class[c]['recall']:.1%}" for c in classes)
        five = f"{r.accuracy_five_class:.2%}" if r.accuracy_five_class is not None else "n/a"
        print(f"| {split} | {'on' if tta else 'off'} | {r.accuracy:.2%} | {five} | {r.macro_f1:.3f} | {recalls} |")
    if args.output:
        history = None
        if args.history and args.history.is_file():
            history = [json.loads(x) for x in args.history.read_text().splitlines() if x.strip()]
        private = [reports[("PrivateTest", False)], reports[("PrivateTest", True)]]
        for path in save_report(private, args.output, history):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
