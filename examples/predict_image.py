"""Predict the emotion of every face in a photo, print them and save an annotated copy.

python examples/predict_image.py [IMAGE] [--out annotated.png]
"""

import argparse

import cv2

from emotionkit import EmotionRecognizer, annotate
from emotionkit.cli import sample_image

parser = argparse.ArgumentParser()
parser.add_argument("image", nargs="?", default=str(sample_image()))
parser.add_argument("--out", default="annotated.png")
args = parser.parse_args()

# --8<-- [start:predict]
rec = EmotionRecognizer.from_pretrained()  # bundled model, works offline
faces = rec.predict(args.image)  # one FacePrediction per face, largest first
for face in faces:
    print(face.box, face.label, f"{face.score:.0%}")
    print({name: round(p, 3) for name, p in face.probabilities.items()})

image = cv2.imread(args.image)
cv2.imwrite(args.out, annotate(image, faces, bars=True))
# --8<-- [end:predict]
print(f"wrote {args.out}")
