"""``emotionkit-demo``: live emotion recognition on a webcam, video file or stream URL.

Shows boxes, labels, a probability bar chart per face and the FPS; quits on
``q``, ``Esc`` or Ctrl-C with the camera released. Headless options write an
annotated video and/or one JSON line per frame.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from emotionkit.cli import RUNTIME_HELP, load_recognizer
from emotionkit.runtimes import RUNTIME_NAMES

__all__ = ["main", "has_display"]


def has_display() -> bool:
    """Return whether OpenCV can open a window here (a GUI build and, on Linux, a display).

    Returns:
        ``True`` if ``cv2.imshow`` can be used.

    Examples:
        >>> isinstance(has_display(), bool)
        True
    """
    import re

    import cv2

    gui = re.search(r"^\s*GUI:\s*NONE\s*$", cv2.getBuildInformation(), re.MULTILINE) is None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    return gui


def _writer(path: str, frame: Any, fps: float) -> Any:
    import cv2

    h, w = frame.shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot write video file {path!r} (unsupported extension? use .mp4 or .avi)")
    return writer


def main(argv: list[str] | None = None) -> int:
    """Run the demo.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 if the source cannot be opened, 2 on usage errors.

    Examples:
        >>> main(["--source", "clip.mp4", "--no-window", "--json"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="emotionkit-demo", description=__doc__)
    parser.add_argument("--source", default="0", help="camera index, video file or stream URL (default: 0)")
    parser.add_argument("--model", default=None, help="preset name, model folder or Hub repo id")
    parser.add_argument("--every", type=int, default=1, help="process every n-th frame of a file (default: 1)")
    parser.add_argument("--smoothing", type=float, default=0.6, help="temporal smoothing in [0, 1) (0: raw)")
    parser.add_argument("--no-window", action="store_true", help="do not open a window (headless)")
    parser.add_argument("--output", help="write the annotated video here (.mp4)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per processed frame")
    parser.add_argument("--max-frames", type=int, help="stop after this many processed frames")
    parser.add_argument("--runtime", choices=RUNTIME_NAMES, default="auto", help=RUNTIME_HELP)
    parser.add_argument("--verbose", action="store_true", help="show the deep-learning backend's start-up messages")
    args = parser.parse_args(argv)
    if args.every < 1:
        parser.error("--every must be at least 1")

    import cv2

    from emotionkit.drawing import annotate
    from emotionkit.streaming import stream

    window = not args.no_window
    if window and not has_display():
        print(
            "emotionkit-demo: no display available; running headless (use --no-window to silence this)", file=sys.stderr
        )
        window = False
    try:
        rec = load_recognizer(args.model, args.runtime, verbose=args.verbose)
        frames = stream(args.source, rec, every=args.every, smoothing=args.smoothing)
    except (OSError, ValueError, TypeError, ImportError) as exc:
        print(f"emotionkit-demo: error: {exc}", file=sys.stderr)
        if str(args.source).isdigit():
            print("emotionkit-demo: is a camera connected? Try --source path/to/video.mp4", file=sys.stderr)
        return 1
    writer = None
    processed = 0
    try:
        with frames:
            for result in frames:
                drawn = annotate(result.frame, result.faces, bars=True, text=f"{result.fps:.1f} FPS")
                if args.output:
                    if writer is None:
                        writer = _writer(args.output, drawn, frames.source_fps or 20.0)
                    writer.write(drawn)
                if args.json:
                    print(json.dumps(result.to_dict()), flush=True)
                if window:
                    cv2.imshow("emotionkit", drawn)
                    if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                        break
                processed += 1
                if args.max_frames and processed >= args.max_frames:
                    break
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"emotionkit-demo: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if writer is not None:
            writer.release()
        if window:
            cv2.destroyAllWindows()
    print(f"emotionkit-demo: processed {processed} frames from {frames.description}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
