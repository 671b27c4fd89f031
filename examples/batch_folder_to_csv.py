"""Predict on every image of a folder in batches and write one CSV row per face.

python examples/batch_folder_to_csv.py FOLDER [--out emotions.csv]
"""

import argparse
import csv
from pathlib import Path

from emotionkit import EmotionRecognizer

parser = argparse.ArgumentParser()
parser.add_argument("folder", type=Path)
parser.add_argument("--out", default="emotions.csv")
parser.add_argument("--batch", type=int, default=32)
args = parser.parse_args()

# --8<-- [start:batch]
rec = EmotionRecognizer.from_pretrained()
paths = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
with open(args.out, "w", newline="") as fh:
    writer = csv.writer(fh)
    writer.writerow(["file", "face", "x", "y", "w", "h", "label", "score", *rec.labels])
    for start in range(0, len(paths), args.batch):
        chunk = paths[start : start + args.batch]
        for path, faces in zip(chunk, rec.predict(chunk)):  # all faces of the chunk in one batch
            for i, face in enumerate(faces):
                probs = [f"{face.probabilities[c]:.4f}" for c in rec.labels]
                writer.writerow([path.name, i, *face.box, face.label, f"{face.score:.4f}", *probs])
# --8<-- [end:batch]
print(f"wrote {args.out} for {len(paths)} images")
