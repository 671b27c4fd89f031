"""With only onnxruntime: predict, predict_faces, stream, the CLI and the demo, never importing Keras.

Each test runs a child Python in which Keras and every deep-learning framework are
unimportable (a meta-path hook refuses them), so it checks the framework-free path
in any test environment. CI also runs this module in a venv where they are not
installed at all, with OpenCV 5 (``.ci/run``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from conftest import ASTRONAUT

pytest.importorskip("onnxruntime", reason="the framework-free runtime needs onnxruntime: pip install -e '.[onnx]'")

BLOCK = """
import importlib.abc, json, sys
BLOCKED = {"keras", "tensorflow", "torch", "jax", "jaxlib", "tf2onnx"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{name} is unavailable in this test")
sys.meta_path.insert(0, Block())
def report(**values):
    values["frameworks_imported"] = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
    print("RESULT " + json.dumps(values))
"""


def run_child(code: str, tmp_path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK + code], capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result.pop("frameworks_imported") == []
    return result


def test_the_default_model_runs_on_onnxruntime_without_keras(tmp_path: Path) -> None:
    code = f"""
from emotionkit import EmotionRecognizer, stream
rec = EmotionRecognizer.from_pretrained()
faces = rec.predict({str(ASTRONAUT)!r})
image = __import__("cv2").imread({str(ASTRONAUT)!r})
crop = rec.crop(image, rec.detect(image))[0]
class Capture:
    def __init__(self):
        self.left = 3
    def read(self):
        self.left -= 1
        return (self.left >= 0), __import__("cv2").imread({str(ASTRONAUT)!r})
    def release(self):
        pass
frames = [r.faces[0].label for r in stream(Capture(), rec, realtime=False)]
report(runtime=rec.runtime.format, engine=rec.detector.engine, label=faces[0].label,
       crop_label=rec.predict_faces([crop])[0].label, frames=frames)
"""
    result = run_child(code, tmp_path)
    assert result == {
        "runtime": "onnx",
        "engine": "onnxruntime",
        "label": "happy",
        "crop_label": "happy",
        "frames": ["happy"] * 3,
    }


def test_the_command_line_and_the_demo_run_without_keras(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    frame = cv2.resize(cv2.imread(str(ASTRONAUT)), (256, 256))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (256, 256))
    for _ in range(4):
        writer.write(frame)
    writer.release()
    code = f"""
import contextlib, io
from emotionkit.cli import main
from emotionkit.demo import main as demo
out = io.StringIO()
with contextlib.redirect_stdout(out):
    predict_code = main(["predict", {str(ASTRONAUT)!r}, "--json"])
    demo_code = demo(["--source", {str(video)!r}, "--no-window", "--json", "--max-frames", "2"])
lines = out.getvalue().splitlines()
report(predict_code=predict_code, demo_code=demo_code, label=__import__("json").loads(lines[0])["faces"][0]["label"],
       frames=len(lines) - 1)
"""
    assert run_child(code, tmp_path) == {"predict_code": 0, "demo_code": 0, "label": "happy", "frames": 2}


def test_opencv_and_onnxruntime_detectors_agree(tmp_path: Path) -> None:
    """The same BlazeFace through cv2.dnn (classic engine on OpenCV 5) and onnxruntime: same boxes."""
    code = f"""
import cv2
from emotionkit.faces import BlazeFaceDetector
image = cv2.imread({str(ASTRONAUT)!r})
wide = cv2.copyMakeBorder(image, 0, 0, 300, 300, cv2.BORDER_CONSTANT)  # tiles as well as the whole frame
boxes = {{}}
for engine in ("onnxruntime", "opencv"):
    detector = BlazeFaceDetector(engine=engine)
    boxes[engine] = [[list(f.box) for f in detector.detect(im)] for im in (image, wide)]
report(boxes=boxes, opencv=cv2.__version__)
"""
    result = run_child(code, tmp_path)
    onnx, opencv = result["boxes"]["onnxruntime"], result["boxes"]["opencv"]
    assert len(onnx[0]) == 1 and len(onnx[1]) == 1, result
    for a, b in zip(onnx, opencv):
        assert len(a) == len(b)
        for box_a, box_b in zip(a, b):
            assert max(abs(p - q) for p, q in zip(box_a, box_b)) <= 2, result
