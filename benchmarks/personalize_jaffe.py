"""Personalisation benchmark on jaffe-dev (5 identities) and FER-2013 PrivateTest.

For each identity: personalise with 1 photo per class of that person, evaluate
end to end (detection + classification) on that person's other photos, and
evaluate the personalised model on FER-2013 PrivateTest. Prints a Markdown table.

    python benchmarks/personalize_jaffe.py [--model NAME_OR_PATH] [--fer-limit N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from posed_faces import by_person, end_to_end, labelled_photos
from shared_data import shared_root

from emotionkit import EmotionRecognizer
from emotionkit.train.data import FaceDataset, load_fer2013_folder
from emotionkit.train.evaluate import evaluate


def personalisation_rows(
    base: EmotionRecognizer, photos: list[tuple[Path, str]], fer: FaceDataset | None = None
) -> list[dict[str, Any]]:
    """Per identity: personalise on its first photo of each class, score its other photos end to end.

    Each row has ``person``, ``train`` and ``test`` (photo counts), ``base`` and ``personal`` (accuracy on
    the other photos before and after), ``seconds`` (personalisation time) and, where ``fer`` is given,
    ``fer_after`` (the personalised model's accuracy on those FER-2013 crops).
    """
    rows = []
    for person, own in by_person(photos).items():
        chosen: dict[str, Path] = {}
        for path, label in own:  # the first photo of each class (sorted names: *1 before *2)
            chosen.setdefault(label, path)
        train = [(p, lab) for lab, p in chosen.items()]
        test = [(p, lab) for p, lab in own if p not in chosen.values()]
        start = time.perf_counter()
        personal = base.personalize([p for p, _ in train], [lab for _, lab in train], validation_split=0.0)
        seconds = time.perf_counter() - start
        row = {
            "person": person,
            "train": len(train),
            "test": len(test),
            "base": end_to_end(base, test).accuracy,
            "personal": end_to_end(personal, test).accuracy,
            "seconds": seconds,
        }
        if fer is not None:
            row["fer_after"] = evaluate(personal, fer).accuracy
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", type=Path, default=shared_root() / "data")
    parser.add_argument("--fer-limit", type=int, default=0, help="PrivateTest sample size (0 = all 3,589)")
    args = parser.parse_args()

    base = EmotionRecognizer.from_pretrained(args.model)
    fer = load_fer2013_folder(args.data / "fer2013", "PrivateTest")
    fer = fer.sample(args.fer_limit)
    fer_base = evaluate(base, fer).accuracy
    rows = personalisation_rows(base, labelled_photos(args.data / "jaffe-dev"), fer)
    print(f"model: {args.model or 'bundled default'}; FER-2013 PrivateTest images: {len(fer)}\n")
    print(
        "| identity | train imgs | test imgs | base acc (person) | personalised acc (person) | gain "
        "| PrivateTest before | PrivateTest after | drop | time (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['person']} | {r['train']} | {r['test']} | {r['base']:.1%} | {r['personal']:.1%} | "
            f"{100 * (r['personal'] - r['base']):+.1f} | {fer_base:.2%} | {r['fer_after']:.2%} | "
            f"{100 * (fer_base - r['fer_after']):.2f} | {r['seconds']:.1f} |"
        )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("base", "personal", "fer_after", "seconds")}
    print(
        f"| **mean** | | | {mean['base']:.1%} | {mean['personal']:.1%} | "
        f"{100 * (mean['personal'] - mean['base']):+.1f} | {fer_base:.2%} | {mean['fer_after']:.2%} | "
        f"{100 * (fer_base - mean['fer_after']):.2f} | {mean['seconds']:.1f} |"
    )


if __name__ == "__main__":
    main()
