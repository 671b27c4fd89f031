"""Load a model from the Hugging Face Hub (downloaded once, then cached and usable offline).

python examples/load_from_hub.py ORG/NAME [--revision main] [--image photo.jpg]
"""

import argparse

from emotionkit import EmotionRecognizer
from emotionkit.cli import sample_image

parser = argparse.ArgumentParser()
parser.add_argument("repo_id")
parser.add_argument("--revision", default=None)
parser.add_argument("--image", default=str(sample_image()))
args = parser.parse_args()

# --8<-- [start:hub]
rec = EmotionRecognizer.from_pretrained(args.repo_id, revision=args.revision)
# later, without network: EmotionRecognizer.from_pretrained(args.repo_id, local_files_only=True)
for face in rec.predict(args.image):
    print(face.label, f"{face.score:.0%}")
# --8<-- [end:hub]
