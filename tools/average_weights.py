"""Average the classifier weights of several epoch backups of a run (stochastic weight averaging),
re-estimate BatchNorm statistics on the training images, and write a model folder.

    python tools/average_weights.py RUN_DIR SNAPSHOT.weights.h5... --output averaged-model

The snapshots are copies of ``RUN_DIR/backup_finetune/latest.weights.h5`` taken after each epoch (the
runs of the bundled model predate the recipe key ``average_last_epochs``, which now does the same inside
``emotionkit-train``). The result is meant to be compared with the best single epoch on PublicTest (never
PrivateTest).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import keras
import numpy as np

from emotionkit.config import ModelConfig, Preprocessing
from emotionkit.model_files import write_model_folder
from emotionkit.models import build_model
from emotionkit.preprocessing import prepare_faces
from emotionkit.train.augment import build_augmentation
from emotionkit.train.data import load_fer2013_folder
from emotionkit.train.trainer import TrainConfig, reestimate_batchnorm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from shared_data import shared_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("snapshots", type=Path, nargs="+")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--bn-batches", type=int, default=300)
    args = parser.parse_args()

    recipe = TrainConfig(**json.loads((args.run_dir / "recipe.json").read_text()))
    classifier = build_model(recipe.architecture, 7)
    inputs = keras.Input((48, 48, 1))
    trainer = keras.Model(inputs, classifier(build_augmentation(recipe.augmentation)(inputs)))
    trainer.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="categorical_crossentropy")
    trainer.optimizer.build(trainer.trainable_variables)
    weights = []
    for snap in args.snapshots:
        trainer.load_weights(str(snap))
        weights.append([np.array(w) for w in classifier.get_weights()])
    classifier.set_weights([np.mean(ws, axis=0) for ws in zip(*weights)])

    train = load_fer2013_folder(shared_root() / "data" / "fer2013", "Training")
    reestimate_batchnorm(classifier, prepare_faces(train.images, 48), batches=args.bn_batches)
    config = ModelConfig(
        architecture=recipe.architecture,
        labels=tuple(train.classes),
        preprocessing=Preprocessing(recipe.face_margin, recipe.face_shift_y),
        training={"averaged_snapshots": [p.name for p in args.snapshots]},
    )
    write_model_folder(classifier, config, args.output)
    print(f"wrote {args.output} from {len(args.snapshots)} snapshots")


if __name__ == "__main__":
    main()
