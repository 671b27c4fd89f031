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
from shared_data import shared_root

from emotionkit import EmotionRecognizer, stream

CLIP = Path("data") / "media" / "tears_of_steel_0500-0510_640x360.mp4"


class TimedDetector:
    """A face detector that adds up the seconds spent in another one."""

    def __init__(self, detector: Any) -> None:
        self.detector, self.seconds = detector, 0.0

    def detect(self, image: np.ndarray) -> Any:
        start = time.perf_counter()
        try:
            return self.detector.detect(image)
        finally:
            self.seconds += time.perf_counter() - start


class TimedRecognizer(EmotionRecognizer):
    """A recognizer that adds up the seconds spent in its public classify step."""

    seconds = 0.0

    def classify(self, faces: Any, **kwargs: Any) -> np.ndarray:
        start = time.perf_counter()
        try:
            return super().classify(faces, **kwargs)
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
        detect = TimedDetector(rec.detector)
        timed = TimedRecognizer(rec.runtime, rec.config, detector=detect)
        start = time.perf_counter()
        results = list(stream(args.clip, timed))
        total = time.perf_counter() - start
        faces = sum(len(r.faces) for r in results)
        rows.append((len(results), faces, total, detect.seconds, timed.seconds))
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
