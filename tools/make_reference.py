"""Write tests/data/reference_top1.json: the bundled model's top-1 on 200 fixed PrivateTest faces (TensorFlow).

KERAS_BACKEND=tensorflow python tools/make_reference.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from emotionkit import EmotionRecognizer
from emotionkit.train.data import load_fer2013_folder
from emotionkit.train.evaluate import predict_probabilities

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from shared_data import shared_root

root = shared_root() / "data" / "fer2013"
data = load_fer2013_folder(root, "PrivateTest")
sample = data.sample(200, seed=42)
recognizer = EmotionRecognizer.from_pretrained(runtime="keras")
probs = predict_probabilities(recognizer, sample.images)
ordered = np.sort(probs, axis=1)
out = {
    "weights_sha256": recognizer.config.files["model.weights.h5"],
    "paths": [str(Path(p).relative_to(root)) for p in sample.paths],
    "top1": probs.argmax(1).tolist(),
    "top1_prob": [round(float(x), 6) for x in probs.max(1)],
    "margins": [round(float(x), 6) for x in ordered[:, -1] - ordered[:, -2]],
}
target = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference_top1.json"
target.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {target}")
