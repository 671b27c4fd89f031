"""Run emotion recognition on a webcam or video file with your own drawing loop.

    python examples/stream_video.py [SOURCE] [--out annotated.mp4] [--max-frames N]

SOURCE is a camera index (default 0), a video file or a stream URL.
"""

import argparse

import cv2

from emotionkit import EmotionRecognizer, stream

parser = argparse.ArgumentParser()
parser.add_argument("source", nargs="?", default="0")
parser.add_argument("--out", default="annotated.mp4")
parser.add_argument("--max-frames", type=int, default=0)
args = parser.parse_args()

# --8<-- [start:stream]
rec = EmotionRecognizer.from_pretrained()
writer = None
with stream(args.source, recognizer=rec, smoothing=0.6) as frames:
    for r in frames:  # r.index, r.timestamp, r.frame (BGR), r.faces, r.fps, r.skipped
        canvas = r.frame.copy()
        for face in r.faces:
            x, y, w, h = face.box
            cv2.rectangle(canvas, (x, y), (x + w, y + h), (0, 255, 0), 2)
            cv2.putText(
                canvas, f"#{face.track_id} {face.label}", (x, y - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 2
            )
        if writer is None:
            writer = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*"mp4v"), 24, canvas.shape[1::-1])
        writer.write(canvas)
        print(r.index, f"{r.fps:.0f} fps", [(f.track_id, f.label, round(f.score, 2)) for f in r.faces])
        if args.max_frames and r.index + 1 >= args.max_frames:
            break
if writer is not None:
    writer.release()
# --8<-- [end:stream]
