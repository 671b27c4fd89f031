"""``emotionkit``: command-line predictions, bulk annotation of whole collections, and model export.

```bash
emotionkit predict photo.jpg --json --annotate out.png
emotionkit annotate photos/ clip.mp4 "more/**/*.jpg" --output results.csv --fps 2
emotionkit export default emotion-onnx --format onnx      # then: --model emotion-onnx --runtime onnx
```
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from emotionkit.export import EXPORT_FORMATS
from emotionkit.runtimes import RUNTIME_NAMES

__all__ = ["ANNOTATE_SUFFIXES", "RUNTIME_HELP", "load_recognizer", "main", "sample_image"]

ANNOTATE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
"""Image formats ``--annotate`` writes, by file name suffix."""
RUNTIME_HELP = "what runs the classifier: auto (Keras if installed, else onnxruntime, else LiteRT), keras, onnx, litert"
"""``--runtime`` help text shared by ``emotionkit`` and ``emotionkit-demo``."""


def sample_image() -> Path:
    """Return the path of the bundled sample photo (a public-domain portrait, NASA).

    Returns:
        Path of a 256x256 JPEG inside the installed package.

    Examples:
        >>> sample_image().name
        'sample.jpg'
    """
    return Path(str(resources.files("emotionkit") / "assets" / "sample.jpg"))


def load_recognizer(model: str | None, runtime: str, *, five: bool = False, verbose: bool = False) -> Any:
    """Load a recognizer for a command line: quietly, unless ``verbose``.

    When the Keras runtime may be used, Keras is imported first with TensorFlow's
    C++ start-up lines hidden; the ONNX and LiteRT runtimes never import it.

    Args:
        model: Preset name, model folder, Hub repo id, or ``None``/``"default"`` for the bundled default.
        runtime: One of [`RUNTIME_NAMES`][emotionkit.runtimes.RUNTIME_NAMES].
        five: Restrict to [`FIVE_CLASSES`][emotionkit.labels.FIVE_CLASSES].
        verbose: Show the backend's start-up messages.

    Returns:
        An [`EmotionRecognizer`][emotionkit.EmotionRecognizer].

    Raises:
        ImportError: If the runtime is not installed.
        ValueError: If the model or runtime is not accepted.
        FileNotFoundError: If the model cannot be found.

    Examples:
        >>> load_recognizer("default", "auto").labels[:2]
        ('angry', 'disgust')
    """
    from emotionkit.backend import import_keras
    from emotionkit.labels import FIVE_CLASSES
    from emotionkit.recognizer import EmotionRecognizer
    from emotionkit.runtimes import installed_runtimes

    if runtime in ("auto", "keras") and "keras" in installed_runtimes():
        import_keras(quiet=not verbose)  # TensorFlow's C++ start-up lines only with --verbose
    return EmotionRecognizer.from_pretrained(
        None if model == "default" else model, classes=FIVE_CLASSES if five else None, runtime=runtime
    )


def _predict(args: argparse.Namespace) -> int:
    import cv2

    from emotionkit.drawing import annotate
    from emotionkit.images import load_image

    rec = load_recognizer(args.model, args.runtime, five=args.five, verbose=args.verbose)
    status = 0
    if args.annotate and len(args.images) > 1:
        print("emotionkit predict: error: --annotate takes a single image", file=sys.stderr)
        return 2
    for path in args.images:
        try:
            image = load_image(path)
        except (FileNotFoundError, ValueError) as exc:
            print(f"emotionkit predict: error: {exc}", file=sys.stderr)
            status = 1
            continue
        faces = rec.predict(image)
        if args.json:
            print(json.dumps({"image": str(path), "faces": [f.to_dict() for f in faces]}))
        elif not faces:
            print(f"{path}: no face found")
        else:
            for i, face in enumerate(faces):
                x, y, w, h = face.box
                print(f"{path}: face {i} at x={x} y={y} w={w} h={h}: {face.label} ({face.score:.1%})")
        if args.annotate:
            out = Path(args.annotate)
            if not cv2.imwrite(str(out), annotate(image, faces, bars=True)):
                print(f"emotionkit predict: error: cannot write {out}", file=sys.stderr)
                return 1
    return status


def _annotate(args: argparse.Namespace) -> int:
    """``emotionkit annotate``: 0 if every input was processed, 1 if some failed, 2 on usage errors."""
    from emotionkit.collection import OUTPUT_SUFFIXES, Progress, RowWriter, annotate_groups, expand_inputs

    def usage(message: str) -> int:
        print(f"emotionkit annotate: error: {message}", file=sys.stderr)
        return 2

    if Path(args.output).suffix.lower() not in OUTPUT_SUFFIXES:
        return usage(f"cannot write {args.output!r}: --output must end in {', '.join(OUTPUT_SUFFIXES)}")
    if args.every < 1 or args.batch_size < 1 or args.workers < 1 or (args.fps is not None and args.fps <= 0):
        return usage("--every, --batch-size and --workers must be at least 1, and --fps positive")
    try:
        rec = load_recognizer(args.model, args.runtime, five=args.five, verbose=args.verbose)
        writer = RowWriter(args.output, rec.labels, overwrite=args.overwrite)
    except (FileNotFoundError, ValueError, ImportError) as exc:
        return usage(str(exc))
    inputs = [f for f in expand_inputs(args.inputs) if f not in writer.done]
    progress = Progress(len(inputs), enabled=not args.quiet)
    counts = {"inputs": 0, "faces": 0, "no face": 0, "failed": 0}
    start = time.perf_counter()
    local = None
    if args.ray:
        try:
            batches = _ray_batches(args, inputs)
        except (ImportError, ValueError) as exc:
            writer.close()
            return usage(str(exc))
    else:
        local = annotate_groups(
            inputs,
            rec,
            every=args.every,
            fps=args.fps,
            batch_size=args.batch_size,
            workers=args.workers,
            max_faces=args.max_faces,
            face_crops=args.crops,
        )
        batches = ([row.to_dict(rec.labels) for row in group] for group in local)
    interrupted = False
    try:
        for dicts in batches:  # the rows of complete inputs, as output columns
            writer.write_dicts(dicts)
            for rows in _by_input(dicts):
                counts["inputs"] += 1
                counts["failed"] += any(r["error"] for r in rows)
                counts["faces"] += sum(r["face"] is not None for r in rows)
                counts["no face"] += all(r["face"] is None and not r["error"] for r in rows)
                progress.update()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if local is not None:
            local.close()  # stops the decoding threads
        writer.close()
        progress.close()
    if not args.quiet:
        seconds = time.perf_counter() - start
        skipped = f", {len(writer.done)} already in the output" if writer.done else ""
        print(
            f"{args.output}: {counts['inputs']} inputs in {seconds:.1f} s ({counts['faces']} faces, "
            f"{counts['no face']} without a face, {counts['failed']} failed{skipped})"
            + ("; interrupted: run the same command to resume" if interrupted else ""),
            file=sys.stderr,
        )
    return 130 if interrupted else (1 if counts["failed"] else 0)


def _ray_batches(args: argparse.Namespace, inputs: list[str]) -> Iterator[list[dict[str, Any]]]:
    """Batches of rows (complete inputs) computed by Ray actors (``--ray``), in the order Ray returns them."""
    if args.actors < 1:
        raise ValueError("--actors must be at least 1")
    try:
        import ray
    except ImportError as exc:
        raise ImportError(f"--ray needs Ray Data: pip install 'emotionkit[ray]' ({exc})") from None
    from emotionkit.distributed import annotate_dataset
    from emotionkit.labels import FIVE_CLASSES

    if not ray.is_initialized():
        ray.init(address=None if args.ray == "local" else args.ray, log_to_driver=False)
    options = {"every": args.every, "fps": args.fps, "max_faces": args.max_faces, "face_crops": args.crops}
    dataset = annotate_dataset(
        inputs,
        model=args.model,
        classes=list(FIVE_CLASSES) if args.five else None,
        runtime=args.runtime,
        concurrency=args.actors,
        **options,
    )
    return (table.to_pylist() for table in dataset.iter_batches(batch_format="pyarrow", batch_size=None))


def _by_input(dicts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by input, in order of first appearance."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in dicts:
        groups.setdefault(row["input"], []).append(row)
    return list(groups.values())


def _export(args: argparse.Namespace) -> int:
    """``emotionkit export``: 0 on success, 1 if the export failed, 2 on usage errors."""
    try:
        rec = load_recognizer(args.model, "keras", verbose=args.verbose)
        folder = rec.export(args.output, format=args.format, overwrite=args.overwrite)
    except (FileNotFoundError, FileExistsError, ValueError, ImportError, TypeError) as exc:
        print(f"emotionkit export: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"emotionkit export: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {folder} ({args.format}); load it with EmotionRecognizer.from_pretrained({str(folder)!r})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``emotionkit`` command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 on success, 1 if an image could not be read (``predict``) or an input
        failed (``annotate``), 2 on usage errors, 130 if ``annotate`` was interrupted.

    Examples:
        >>> main(["predict", "photo.jpg", "--json"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="emotionkit", description="Facial emotion recognition.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("predict", help="detect faces in images and print their emotions")
    p.add_argument("images", nargs="*", help="image files")
    p.add_argument("--sample", action="store_true", help="also predict on the bundled sample photo")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument("--model", default=None, help="preset name, model folder or Hub repo id (default: bundled)")
    p.add_argument("--annotate", metavar="OUT.png", help="write the image with boxes and labels drawn")
    p.add_argument("--five", action="store_true", help="restrict to angry, happy, neutral, sad, surprise")
    p.add_argument("--runtime", choices=RUNTIME_NAMES, default="auto", help=RUNTIME_HELP)
    p.add_argument("--verbose", action="store_true", help="show the deep-learning backend's start-up messages")
    a = sub.add_parser("annotate", help="one row per face for many images, folders, globs and videos")
    a.add_argument("inputs", nargs="+", help="image or video files, folders (recursive), glob patterns")
    a.add_argument("--output", "-o", required=True, help="results file: .csv, .jsonl or .parquet (needs pyarrow)")
    a.add_argument("--every", type=int, default=1, help="videos: process every n-th frame (default: 1)")
    a.add_argument("--fps", type=float, help="videos: process this many frames per second instead")
    a.add_argument("--overwrite", action="store_true", help="start a new output instead of resuming")
    a.add_argument("--quiet", action="store_true", help="no progress line and no summary")
    a.add_argument("--model", default=None, help="preset name, model folder or Hub repo id (default: bundled)")
    a.add_argument("--batch-size", type=int, default=256, help="faces per forward pass (default: 256)")
    a.add_argument("--workers", type=int, default=4, help="image decoding threads (default: 4)")
    a.add_argument("--max-faces", type=int, help="keep at most this many faces per image or frame")
    a.add_argument("--crops", action="store_true", help="the images are face crops: no detection, one face each")
    a.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run on a Ray cluster (ADDRESS such as ray://head:10001; a local one when omitted); needs emotionkit[ray]",
    )
    a.add_argument("--actors", type=int, default=2, help="with --ray: number of actors (default: 2)")
    a.add_argument("--five", action="store_true", help="restrict to angry, happy, neutral, sad, surprise")
    a.add_argument("--runtime", choices=RUNTIME_NAMES, default="auto", help=RUNTIME_HELP)
    a.add_argument("--verbose", action="store_true", help="show the deep-learning backend's start-up messages")
    e = sub.add_parser("export", help="export a model to ONNX or LiteRT (runs without Keras); needs emotionkit[export]")
    e.add_argument("model", help="'default', a preset name, a model folder or a Hub repo id")
    e.add_argument("output", help="the model folder to create")
    e.add_argument("--format", choices=EXPORT_FORMATS, default="onnx", help="default: onnx")
    e.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    e.add_argument("--verbose", action="store_true", help="show the deep-learning backend's start-up messages")
    args = parser.parse_args(argv)
    if args.version:
        from emotionkit import __version__

        print(__version__)
        return 0
    if args.command == "annotate":
        return _annotate(args)
    if args.command == "export":
        return _export(args)
    if args.command != "predict":
        parser.print_help()
        return 2
    if args.sample:
        args.images.append(str(sample_image()))
    if not args.images:
        parser.error("give image files, or --sample for the bundled sample photo")
    if args.annotate and Path(args.annotate).suffix.lower() not in ANNOTATE_SUFFIXES:
        print(
            f"emotionkit predict: error: cannot write {args.annotate!r}: --annotate takes a file name ending in "
            f"{', '.join(ANNOTATE_SUFFIXES)}",
            file=sys.stderr,
        )
        return 2
    try:
        return _predict(args)
    except (FileNotFoundError, ValueError, ImportError) as exc:
        print(f"emotionkit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
