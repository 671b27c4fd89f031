"""Copy a trained model folder into the package as the bundled default and register its sha256 sums.

    python tools/bundle_model.py RUN_MODEL_DIR [--report reports/default/report.json]

Writes ``src/emotionkit/assets/fer2013-mobilenetv2/{config.json,model.weights.h5,model.onnx}`` (the
config in the current format, with the measured metrics from the evaluation report if given, and the
sha256 of both model files; ``model.onnx`` is exported with ``EmotionRecognizer.export``, so the
default also runs with onnxruntime alone), then the preset file
``src/emotionkit/assets/presets/fer2013-mobilenetv2.json`` with the sha256 of ``config.json``, which in
turn records the model files' sums (each checked when loaded). Needs ``pip install -e ".[export]"``.
The model card (README.md in that folder) is maintained by hand.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

from emotionkit.config import Preprocessing
from emotionkit.hub import DEFAULT_PRESET, PRESETS
from emotionkit.model_files import CONFIG_NAME, WEIGHTS_NAME, read_config, sha256_file, write_config
from emotionkit.recognizer import EmotionRecognizer
from emotionkit.runtimes import MODEL_FILES

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "src" / "emotionkit" / "assets"
DEST = ASSETS / "fer2013-mobilenetv2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("--report", type=Path, help="report.json from emotionkit-evaluate --output")
    parser.add_argument("--face-margin", type=float)
    parser.add_argument("--face-shift-y", type=float)
    args = parser.parse_args()
    config = read_config(args.model)
    framing = config.preprocessing
    config = config.replace(
        preprocessing=Preprocessing(
            framing.face_margin if args.face_margin is None else args.face_margin,
            framing.face_shift_y if args.face_shift_y is None else args.face_shift_y,
        ),
        datasets=("fer2013",),
    )
    if args.report:
        metrics = {}
        for r in json.loads(args.report.read_text()):
            suffix = "_flip_tta" if r["flip_tta"] else ""
            metrics[f"{r['dataset']}_accuracy{suffix}"] = {"type": "accuracy", "value": round(r["accuracy"], 4)}
            if r["accuracy_five_class"] is not None:
                metrics[f"{r['dataset']}_accuracy_5class{suffix}"] = {
                    "type": "accuracy",
                    "value": round(r["accuracy_five_class"], 4),
                }
        config = config.replace(metrics=metrics)
    with tempfile.TemporaryDirectory() as tmp:  # the source may be DEST itself
        weights = Path(tmp) / WEIGHTS_NAME
        shutil.copyfile(args.model / WEIGHTS_NAME, weights)
        DEST.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights, DEST / WEIGHTS_NAME)
        keras_config = config.replace(files={WEIGHTS_NAME: sha256_file(DEST / WEIGHTS_NAME)})
        write_config(DEST, keras_config)
        recognizer = EmotionRecognizer.from_pretrained(DEST, runtime="keras")
        exported = recognizer.export(Path(tmp) / "onnx", format="onnx")
        shutil.copyfile(exported / MODEL_FILES["onnx"], DEST / MODEL_FILES["onnx"])
    files = {name: sha256_file(DEST / name) for name in (WEIGHTS_NAME, MODEL_FILES["onnx"])}
    write_config(DEST, config.replace(files=files))
    sums = {CONFIG_NAME: sha256_file(DEST / CONFIG_NAME)}
    preset = dataclasses.replace(PRESETS[DEFAULT_PRESET], sha256=sums)
    path = ASSETS / "presets" / f"{preset.name}.json"
    path.write_text(json.dumps(dataclasses.asdict(preset), indent=2) + "\n", encoding="utf-8")
    sums.update(files)
    print(json.dumps(sums, indent=2))


if __name__ == "__main__":
    main()
