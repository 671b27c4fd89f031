"""Personalise the model from a folder of your own photos and save it.

    python examples/personalize_folder.py PHOTOS_ROOT [--out my-model]

PHOTOS_ROOT holds one sub-folder per emotion (angry, happy, ...) with photos of one person.
"""

import argparse

from emotionkit import EmotionRecognizer

parser = argparse.ArgumentParser()
parser.add_argument("root")
parser.add_argument("--out", default="my-model")
args = parser.parse_args()

# --8<-- [start:personalize]
rec = EmotionRecognizer.from_pretrained()
me = rec.personalize(args.root, validation_split=0.2)  # a NEW recognizer; rec is unchanged
print(me.personalization_report)  # before/after accuracy on your held-out photos
me.save_pretrained(args.out)  # load later with EmotionRecognizer.from_pretrained("my-model")
# --8<-- [end:personalize]
print(f"saved {args.out}")
