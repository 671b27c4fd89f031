"""End-to-end stream speed on the shared 640x360 clip: decode + detect + classify + track/smooth.

    KERAS_BACKEND=tensorflow python benchmarks/stream_fps.py [--model NAME_OR_PATH] [--clip PATH]

Prints a Markdown table with frames per second and the time split between
decoding, face detection, classification and the rest.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emotionkit import EmotionRecognizer, stream
from emotionkit.data_paths import shared_root

CLIP = Path("data") / "media" / "tears_of_steel_0500-0510_640x360.mp4"


class Timed:
    """Wraps a callable and adds up the seconds spent in it."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--clip", type=Path, default=shared_root() / CLIP)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    rec = EmotionRecognizer.from_pretrained(args.model)
    list(stream(args.clip, rec))  # warm-up run (compiles the model)

    decode = []
    for _ in range(args.runs):
        cap = cv2.VideoCapture(str(args.clip))
        start = time.perf_counter()
        while cap.read()[0]:
            pass
        decode.append(time.perf_counter() - start)
        cap.release()

    rows = []
    for _ in range(args.runs):
        detect = Timed(rec.detector.detect)
        classify = Timed(rec._probabilities)
        rec.detector.detect = detect  # type: ignore[method-assign]
        rec._probabilities = classify  # type: ignore[method-assign]
        start = time.perf_counter()
        results = list(stream(args.clip, rec))
        total = time.perf_counter() - start
        del rec.detector.detect, rec._probabilities
        faces = sum(len(r.faces) for r in results)
        rows.append((len(results), faces, total, detect.seconds, classify.seconds))
    frames, faces, total, det, cls = min(rows, key=lambda r: r[2])
    dec = float(np.min(decode))
    other = total - dec - det - cls
    print(f"clip: {args.clip.name}, {frames} frames at 640x360, {faces} faces found; best of {args.runs} runs\n")
    print("| stage | ms per frame | share |")
    print("|---|---|---|")
    for name, secs in (
        ("decode (OpenCV)", dec),
        ("face detection (BlazeFace)", det),
        ("classification", cls),
        ("crop, track, smooth, other", other),
    ):
        print(f"| {name} | {1000 * secs / frames:.2f} | {secs / total:.0%} |")
    print(f"| **total** | **{1000 * total / frames:.2f}** | **{frames / total:.1f} FPS** |")


if __name__ == "__main__":
    main()
