"""Copy a trained model folder into the package as the bundled default and print its preset sha256 sums.

    python tools/bundle_model.py RUN_MODEL_DIR [--report reports/default/report.json]

Writes ``src/emotionkit/assets/fer2013-mobilenetv2/{config.json,model.weights.h5}``,
adds the measured metrics from the evaluation report (if given) to config.json,
and rewrites the sha256 sums of the default preset in ``src/emotionkit/hub.py``.
The model card (README.md in that folder) is maintained by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

from emotionkit.hub import sha256_file

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "src" / "emotionkit" / "assets" / "fer2013-mobilenetv2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("--report", type=Path, help="report.json from emotionkit-evaluate --output")
    parser.add_argument("--face-margin", type=float)
    parser.add_argument("--face-shift-y", type=float)
    args = parser.parse_args()
    DEST.mkdir(parents=True, exist_ok=True)
    config = json.loads((args.model / "config.json").read_text())
    if args.face_margin is not None:
        config["preprocessing"]["face_margin"] = args.face_margin
    if args.face_shift_y is not None:
        config["preprocessing"]["face_shift_y"] = args.face_shift_y
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
        config["metrics"] = metrics
    config["datasets"] = ["fer2013"]
    (DEST / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    shutil.copyfile(args.model / "model.weights.h5", DEST / "model.weights.h5")
    sums = {name: sha256_file(DEST / name) for name in ("config.json", "model.weights.h5")}
    hub = ROOT / "src" / "emotionkit" / "hub.py"
    text = hub.read_text()
    for name, digest in sums.items():
        text = re.sub(rf'("{re.escape(name)}": ")[0-9a-f]{{64}}(")', rf"\g<1>{digest}\g<2>", text)
    hub.write_text(text)
    print(json.dumps(sums, indent=2))


if __name__ == "__main__":
    main()
