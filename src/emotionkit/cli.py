"""``emotionkit``: command-line predictions on image files."""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import resources
from pathlib import Path

__all__ = ["main", "sample_image"]


def sample_image() -> Path:
    """Return the path of the bundled sample photo (a public-domain portrait, NASA).

    Returns:
        Path of a 256x256 JPEG inside the installed package.

    Examples:
        >>> sample_image().name
        'sample.jpg'
    """
    return Path(str(resources.files("emotionkit") / "assets" / "sample.jpg"))


def _predict(args: argparse.Namespace) -> int:
    import cv2

    from emotionkit.drawing import annotate
    from emotionkit.labels import FIVE_CLASSES
    from emotionkit.recognizer import EmotionRecognizer, load_image

    rec = EmotionRecognizer.from_pretrained(args.model, classes=FIVE_CLASSES if args.five else None)
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


def main(argv: list[str] | None = None) -> int:
    """Run the ``emotionkit`` command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 on success, 1 if an image could not be read, 2 on usage errors.

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
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off the terminal
    if args.version:
        from emotionkit import __version__

        print(__version__)
        return 0
    if args.command != "predict":
        parser.print_help()
        return 2
    if args.sample:
        args.images.append(str(sample_image()))
    if not args.images:
        parser.error("give image files, or --sample for the bundled sample photo")
    try:
        return _predict(args)
    except (FileNotFoundError, ValueError, ImportError) as exc:
        print(f"emotionkit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
