"""Train a model on FER-2013 with the training helpers (pip install "emotionkit[train]").

    python examples/train_fer2013.py --data ../shared/data/fer2013 --out my-fer-model [--limit 2000 --epochs 2]

The full default recipe (what trained the bundled model) is
``emotionkit-train --recipe default --output my-model``.
"""

import argparse
from pathlib import Path

from emotionkit import EmotionRecognizer
from emotionkit.config import ModelConfig
from emotionkit.model_files import FER_PREPROCESSING, write_model_folder
from emotionkit.train.data import load_fer2013_folder
from emotionkit.train.evaluate import evaluate
from emotionkit.train.trainer import TrainConfig, train

parser = argparse.ArgumentParser()
parser.add_argument("--data", type=Path, required=True)
parser.add_argument("--out", type=Path, default=Path("my-fer-model"))
parser.add_argument("--limit", type=int, default=0, help="train on a random subset (smoke test)")
parser.add_argument("--epochs", type=int, default=20)
args = parser.parse_args()

# --8<-- [start:train]
train_data = load_fer2013_folder(args.data, "Training")
val_data = load_fer2013_folder(args.data, "PublicTest")  # model selection only; PrivateTest is for the report
train_data = train_data.sample(args.limit)  # 0 keeps everything
config = TrainConfig(
    architecture={"name": "convnet", "input_size": 48, "widths": [32, 64, 128], "dropout": 0.3},
    epochs=args.epochs,
    batch_size=64,
)
result = train(config, train_data, val_data, run_dir=args.out / "run")  # resumable: rerun to continue
model_config = ModelConfig(
    architecture=config.architecture,
    labels=train_data.classes,
    preprocessing=FER_PREPROCESSING,  # how detected faces are framed to look like FER-2013's
)
write_model_folder(result.model, model_config, args.out)

rec = EmotionRecognizer.from_pretrained(args.out)
report = evaluate(rec, load_fer2013_folder(args.data, "PrivateTest"), name="PrivateTest")
print(report.to_markdown())
# --8<-- [end:train]
