"""Bulk annotation speed: `emotionkit annotate`'s engine against a plain loop and raw batched classification.

    KERAS_BACKEND=tensorflow python benchmarks/annotate.py [--crops 2000] [--photos 200]

Three workloads, each measured in the same run:

- 2,000 FER-2013 PrivateTest crops written as PNG files (``--crops``): ``annotate_groups`` with
  ``face_crops=True`` (decode in threads + batched classify) against a loop over ``predict_faces``
  per file and against one batched ``predict_faces`` call on the decoded arrays (the ceiling);
- 200 full-size photos (the shared media and test photos, repeated): ``annotate_groups`` (detect +
  batched classify) against a loop over ``predict``;
- the shared clip: frames per second through ``annotate_groups``;
- with ``--ray``: the crops and the photos through ``emotionkit.distributed.annotate_dataset`` on a local
  Ray (``ray.init(num_cpus=2)``) with 1 and 2 actors, timed from dataset creation to the last row (actor
  start-up and model loading included; Ray's own start-up excluded). The fixed cost is measured on its own
  (the same job on one input per actor) and the steady per-actor rate is reported without it.

Prints a Markdown table. Absolute figures vary up to 3x between this project's machines; the ratios
are measured in one run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from shared_data import shared_root

from emotionkit import EmotionRecognizer
from emotionkit.collection import annotate_groups
from emotionkit.images import load_image
from emotionkit.train.data import load_fer2013_folder

ROOT = Path(__file__).resolve().parents[1]
CLIP = Path("data") / "media" / "tears_of_steel_0500-0510_640x360.mp4"


def best_of(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crops", type=int, default=2000)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--model", default=None)
    parser.add_argument("--ray", action="store_true", help="also measure Ray Data with 1 and 2 local actors")
    args = parser.parse_args()
    if args.ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    rec = EmotionRecognizer.from_pretrained(args.model)
    data = shared_root() / "data"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        crops_dir = Path(tmp) / "crops"
        crops_dir.mkdir()
        sample = load_fer2013_folder(data / "fer2013", "PrivateTest").sample(args.crops, seed=0)
        for i, image in enumerate(sample.images):
            cv2.imwrite(str(crops_dir / f"{i:05d}.png"), image)
        files = sorted(crops_dir.iterdir())
        rec.predict_faces(sample.images[:256])  # warm-up
        n = len(files)
        t_annotate = best_of(args.runs, lambda: list(annotate_groups([crops_dir], rec, face_crops=True)))
        t_loop = best_of(args.runs, lambda: [rec.predict_faces([load_image(f)]) for f in files])
        arrays = [load_image(f) for f in files]
        t_raw = best_of(args.runs, lambda: rec.predict_faces(arrays))
        rows.append((f"{n} FER-2013 crops (PNG files)", "annotate, face_crops", n / t_annotate, t_raw / t_annotate))
        rows.append(("", "loop: predict_faces per file", n / t_loop, t_raw / t_loop))
        rows.append(("", "predict_faces, one batch of decoded arrays", n / t_raw, 1.0))
        if args.ray:
            from emotionkit.distributed import annotate_dataset

            for actors in (1, 2):
                t_ray = best_of(
                    1,
                    lambda a=actors: annotate_dataset(  # type: ignore[misc]
                        [crops_dir], model=args.model, concurrency=a, batch_size=256, face_crops=True
                    ).take_all(),
                )
                t_fixed = best_of(
                    1,
                    lambda a=actors: annotate_dataset(  # type: ignore[misc]
                        [str(f) for f in files[:a]], model=args.model, concurrency=a, batch_size=1, face_crops=True
                    ).take_all(),
                )
                rows.append(("", f"Ray Data, {actors} actor(s), face_crops", n / t_ray, t_raw / t_ray))
                rows.append(
                    (
                        "",
                        f"  the same without its fixed cost ({t_fixed:.1f} s)",
                        n / max(t_ray - t_fixed, 1e-9),
                        t_raw / max(t_ray - t_fixed, 1e-9),
                    )
                )

        photos_dir = Path(tmp) / "photos"
        photos_dir.mkdir()
        sources = [data / "media" / "astronaut.png", data / "media" / "camera.png", ROOT / "tests/data/astronaut.png"]
        sources = [s for s in sources if s.is_file()]
        for i in range(args.photos):
            src = sources[i % len(sources)]
            shutil.copy(src, photos_dir / f"{i:04d}{src.suffix}")
        files = sorted(photos_dir.iterdir())
        n = len(files)
        t_annotate = best_of(args.runs, lambda: list(annotate_groups([photos_dir], rec)))
        t_loop = best_of(args.runs, lambda: [rec.predict(f) for f in files])
        rows.append(
            (f"{n} photos ({', '.join(s.name for s in sources)})", "annotate", n / t_annotate, t_loop / t_annotate)
        )
        rows.append(("", "loop: predict per file", n / t_loop, 1.0))
        if args.ray:
            for actors in (1, 2):
                t_ray = best_of(
                    1,
                    lambda a=actors: annotate_dataset(  # type: ignore[misc]
                        [photos_dir], model=args.model, concurrency=a, batch_size=32
                    ).take_all(),
                )
                rows.append(("", f"Ray Data, {actors} actor(s)", n / t_ray, t_loop / t_ray))

    clip = shared_root() / CLIP
    if clip.is_file():
        capture = cv2.VideoCapture(str(clip))
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        t_video = best_of(args.runs, lambda: list(annotate_groups([clip], rec)))
        rows.append((f"{clip.name} ({frames} frames)", "annotate, every frame", frames / t_video, float("nan")))

    print(f"model: {args.model or 'bundled default'}; best of {args.runs} runs\n")
    print("| workload | path | items/s | ratio |")
    print("|---|---|---|---|")
    for workload, path, rate, ratio in rows:
        shown = "" if np.isnan(ratio) else f"{ratio:.2f} x"
        print(f"| {workload} | {path} | {rate:,.1f} | {shown} |")
    print("\nratio: crops rows against one batched predict_faces call; photo rows against the predict loop.")


if __name__ == "__main__":
    main()
