"""End-to-end stream speed on the shared 640x360 clip: decode + detect + classify + track/smooth.

    KERAS_BACKEND=tensorflow python benchmarks/stream_fps.py [--model NAME_OR_PATH] [--clip PATH]
        [--setups keras/opencv,keras/onnxruntime,onnx/onnxruntime,litert/onnxruntime]

Prints a Markdown table per setup (classifier runtime / BlazeFace engine) with frames
per second and the time split between decoding, face detection, classification and
the rest, then one table comparing the setups, measured in the same run. The first
setup is the reference: ``keras/opencv`` is how emotionkit 0.2 ran (``cv2.dnn``, one
detector pass per region; the onnxruntime engine batches the frame and its tiles
into one pass). ONNX and LiteRT files are exported to a temporary folder unless the
model folder has them.
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


def measure(rec: EmotionRecognizer, clip: Path, runs: int) -> tuple[int, int, float, float, float]:
    """Best of ``runs``: frames, faces, total, detection and classification seconds on the clip."""
    list(stream(clip, rec))  # warm-up run (compiles the model)
    rows = []
    for _ in range(runs):
        detect = TimedDetector(rec.detector)
        timed = TimedRecognizer(rec.runtime, rec.config, detector=detect)
        start = time.perf_counter()
        results = list(stream(clip, timed))
        total = time.perf_counter() - start
        faces = sum(len(r.faces) for r in results)
        rows.append((len(results), faces, total, detect.seconds, timed.seconds))
    return min(rows, key=lambda r: r[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--clip", type=Path, default=shared_root() / CLIP)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--setups", default="keras/opencv", help="comma-separated RUNTIME/ENGINE pairs")
    args = parser.parse_args()
    setups = [tuple(s.strip().split("/")) for s in args.setups.split(",") if s.strip()]
    if not setups or any(len(s) != 2 for s in setups):
        parser.error("--setups takes RUNTIME/ENGINE pairs, e.g. keras/opencv,onnx/onnxruntime")

    import tempfile

    from speed import runtime_recognizers

    from emotionkit import BlazeFaceDetector

    decode = []
    for _ in range(args.runs):
        cap = cv2.VideoCapture(str(args.clip))
        start = time.perf_counter()
        while cap.read()[0]:
            pass
        decode.append(time.perf_counter() - start)
        cap.release()
    dec = float(np.min(decode))

    base = EmotionRecognizer.from_pretrained(args.model, runtime="keras")
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        runtimes = runtime_recognizers(base, args.model, sorted({r for r, _ in setups}), Path(tmp), None)
        for runtime, engine in setups:
            rec = runtimes[runtime]
            rec = EmotionRecognizer(rec.runtime, rec.config, detector=BlazeFaceDetector(engine=engine))
            frames, faces, total, det, cls = measure(rec, args.clip, args.runs)
            other = total - dec - det - cls
            print(f"### {runtime} classifier, BlazeFace via {engine}\n")
            print(f"clip: {args.clip.name}, {frames} frames at 640x360, {faces} faces; best of {args.runs} runs\n")
            print("| stage | ms per frame | share |")
            print("|---|---|---|")
            for name, secs in (
                ("decode (OpenCV)", dec),
                ("face detection (BlazeFace)", det),
                ("classification", cls),
                ("crop, track, smooth, other", other),
            ):
                print(f"| {name} | {1000 * secs / frames:.2f} | {secs / total:.0%} |")
            print(f"| **total** | **{1000 * total / frames:.2f}** | **{frames / total:.1f} FPS** |\n")
            summary.append((f"{runtime} / {engine}", frames / total, 1000 * det / frames, 1000 * cls / frames, faces))
    if len(summary) > 1:
        print("### Setups compared (same run)\n")
        print("| classifier runtime / detector engine | FPS | ratio | detect ms/frame | classify ms/frame | faces |")
        print("|---|---|---|---|---|---|")
        for name, fps, det_ms, cls_ms, faces in summary:
            print(f"| {name} | {fps:.1f} | {fps / summary[0][1]:.2f} x | {det_ms:.2f} | {cls_ms:.2f} | {faces} |")


if __name__ == "__main__":
    main()
