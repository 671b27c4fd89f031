"""Render docs/assets/annotated_sample.png with the bundled model (run after changing the default model).

KERAS_BACKEND=tensorflow python tools/make_doc_assets.py
"""

from pathlib import Path

import cv2

from emotionkit import EmotionRecognizer, annotate

root = Path(__file__).resolve().parents[1]
image = cv2.imread(str(root / "tests" / "data" / "astronaut.png"))
faces = EmotionRecognizer.from_pretrained().predict(image)
out = root / "docs" / "assets" / "annotated_sample.png"
out.parent.mkdir(parents=True, exist_ok=True)
cv2.imwrite(str(out), cv2.resize(annotate(image, faces, bars=True), (384, 384), interpolation=cv2.INTER_AREA))
print(f"wrote {out}: {[(f.label, round(f.score, 3)) for f in faces]}")
