"""Convert the bundled BlazeFace TFLite detector to ONNX with a dynamic batch dimension.

    python tools/convert_blazeface.py          # needs tf2onnx and onnx (pip install -e ".[export]")

Writes ``src/emotionkit/assets/face_detection_short_range.onnx`` from
``face_detection_short_range.tflite`` (tf2onnx, opset 17), then makes the batch
dimension dynamic: the two ``Reshape`` shape constants ``[1, -1, k]`` become
``[0, -1, k]`` (0 = keep the input's batch size), so that the whole frame and its
tiles go through onnxruntime in one call. Checks that batched and single outputs
agree exactly and prints the sha256 to put in ``emotionkit.faces.BLAZEFACE_ONNX_SHA256``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from emotionkit.model_files import sha256_file

ASSETS = Path(__file__).resolve().parents[1] / "src" / "emotionkit" / "assets"


def main() -> None:
    source = ASSETS / "face_detection_short_range.tflite"
    dest = ASSETS / "face_detection_short_range.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        subprocess.run(
            [sys.executable, "-m", "tf2onnx.convert", "--tflite", str(source), "--output", str(raw), "--opset", "17"],
            check=True,
        )
        model = onnx.load(str(raw))
    shapes = {n.input[1] for n in model.graph.node if n.op_type == "Reshape"}
    for init in model.graph.initializer:
        if init.name in shapes:
            value = numpy_helper.to_array(init).copy()
            if value[0] != 1:
                raise SystemExit(f"unexpected Reshape shape {value} in {init.name}")
            value[0] = 0
            init.CopyFrom(numpy_helper.from_array(value, init.name))
    for value in list(model.graph.input) + list(model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.checker.check_model(model)
    onnx.save(model, str(dest))
    session = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(0).uniform(-1, 1, (3, 128, 128, 3)).astype(np.float32)
    together = session.run(None, {"input": batch})
    for i in range(len(batch)):
        alone = session.run(None, {"input": batch[i : i + 1]})
        if any(not np.array_equal(a[0], t[i]) for a, t in zip(alone, together)):
            raise SystemExit("batched and single outputs differ")
    print(dest, dest.stat().st_size, "bytes, sha256", sha256_file(dest))


if __name__ == "__main__":
    main()
