"""Two-stage fine-tuning with checkpoints every epoch, resume, early stopping and a cosine schedule.

Stage 1 trains only the head on a frozen pretrained backbone (skipped for
architectures without one); stage 2 unfreezes everything, warms the learning
rate up and decays it along a cosine. Each stage is backed up after every epoch
with :class:`keras.callbacks.BackupAndRestore`, so calling :func:`train` again
with the same ``run_dir`` resumes where an interrupted run stopped.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from emotionkit.models import build_model
from emotionkit.preprocessing import prepare_faces
from emotionkit.train.augment import build_augmentation
from emotionkit.train.data import FaceDataset, class_weights

__all__ = ["TrainConfig", "TrainResult", "train"]


@dataclass
class TrainConfig:
    """A training recipe; stored as JSON next to the run and in the model's config.

    Attributes:
        architecture: Architecture config for :func:`emotionkit.models.build_model`.
        backbone_weights: Path of ImageNet backbone weights, or ``None`` (random init).
        batch_size: Images per step.
        head_epochs: Stage-1 epochs (head only, frozen backbone); 0 skips stage 1.
        head_learning_rate: Stage-1 learning rate.
        epochs: Stage-2 epochs (all layers).
        learning_rate: Stage-2 peak learning rate.
        warmup_epochs: Linear warm-up length of stage 2.
        weight_decay: AdamW weight decay.
        label_smoothing: Cross-entropy label smoothing.
        class_weight_power: Exponent of the class weights (0 = off, 1 = balanced).
        patience: Early-stopping patience on validation accuracy (epochs).
        augmentation: Overrides of :data:`emotionkit.train.augment.DEFAULT_AUGMENTATION`.
        face_margin: Margin recorded in the model config for detected faces at inference.
        face_shift_y: Vertical crop shift recorded in the model config (see ``default_preprocessing``).
        seed: Random seed.
    """

    architecture: dict[str, Any]
    backbone_weights: str | None = None
    batch_size: int = 64
    head_epochs: int = 2
    head_learning_rate: float = 2e-3
    epochs: int = 40
    learning_rate: float = 1e-3
    warmup_epochs: float = 1.0
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    class_weight_power: float = 0.5
    patience: int = 10
    augmentation: dict[str, float] = field(default_factory=dict)
    face_margin: float = 0.09
    face_shift_y: float = -0.09
    seed: int = 1337

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a recipe JSON file.

        Args:
            path: The JSON file.

        Returns:
            The recipe.

        Raises:
            FileNotFoundError: If the file is missing.
            ValueError: If it has unknown keys.

        Examples:
            >>> TrainConfig.from_file("recipes/default.json")  # doctest: +SKIP
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"recipe file not found: {path}")
        data = json.loads(path.read_text())
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: unknown recipe key(s) {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Return the recipe as a JSON-ready dictionary.

        Returns:
            A new dictionary.

        Examples:
            >>> TrainConfig({"name": "convnet", "input_size": 48}).to_dict()["batch_size"]
            64
        """
        return asdict(self)


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: The classifier with the best validation weights loaded.
        history: Per-epoch logs of both stages (``stage``, ``epoch``, ``loss``, ``accuracy``, ...).
        best_epoch: Stage-2 epoch (0-based) with the best validation accuracy.
        best_val_accuracy: That accuracy.
    """

    model: keras.Model
    history: list[dict[str, float]]
    best_epoch: int
    best_val_accuracy: float


class _EpochRecorder(keras.callbacks.Callback):
    """Appends each epoch's logs to ``history.jsonl`` and keeps the best weights by val accuracy."""

    def __init__(self, run_dir: Path, stage: str, classifier: keras.Model) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.stage = stage
        self.classifier = classifier
        self.history_path = run_dir / "history.jsonl"
        self.best_path = run_dir / "best.weights.h5"
        self.best = -math.inf
        for row in _read_history(self.history_path):
            if row["stage"] == stage and "val_accuracy" in row:
                self.best = max(self.best, row["val_accuracy"])

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        lr = self.model.optimizer.learning_rate
        row: dict[str, Any] = {"stage": self.stage, "epoch": epoch, **{k: float(v) for k, v in logs.items()}}
        row["learning_rate"] = float(np.asarray(lr))
        with self.history_path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        val = row.get("val_accuracy")
        if self.stage == "finetune" and val is not None and val > self.best:
            self.best = val
            self.classifier.save_weights(str(self.best_path))


def _read_history(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _targets(ds: FaceDataset) -> np.ndarray:
    if ds.soft_labels is not None:
        return ds.soft_labels.astype(np.float32)
    return np.eye(len(ds.classes), dtype=np.float32)[ds.labels]


def train(
    config: TrainConfig,
    train_data: FaceDataset,
    val_data: FaceDataset,
    run_dir: str | Path,
    verbose: int | str = "auto",
) -> TrainResult:
    """Train a classifier with the two-stage recipe, resuming from ``run_dir`` if it holds a backup.

    Args:
        config: The recipe.
        train_data: Training images and labels.
        val_data: Validation images (model selection and early stopping only).
        run_dir: Folder for backups, per-epoch history and best weights.
        verbose: Keras progress-bar setting (``"auto"``, 0, 1 or 2).

    Returns:
        The trained model (best validation weights) and its history.

    Raises:
        ValueError: If the two datasets disagree on the classes.

    Examples:
        >>> result = train(TrainConfig({"name": "convnet", "input_size": 48}), tr, va, "runs/x")  # doctest: +SKIP
    """
    if tuple(train_data.classes) != tuple(val_data.classes):
        raise ValueError(f"train classes {train_data.classes} differ from validation classes {val_data.classes}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "recipe.json").write_text(json.dumps(config.to_dict(), indent=2))
    keras.utils.set_random_seed(config.seed)
    num_classes = len(train_data.classes)
    size = int(config.architecture["input_size"])
    x_train, y_train = prepare_faces(train_data.images, size), _targets(train_data)
    x_val, y_val = prepare_faces(val_data.images, size), _targets(val_data)
    weights = class_weights(train_data.labels, num_classes, config.class_weight_power)

    classifier = build_model(config.architecture, num_classes, config.backbone_weights)
    augmentation = build_augmentation(config.augmentation, seed=config.seed)
    inputs = keras.Input((size, size, 1))
    trainer = keras.Model(inputs, classifier(augmentation(inputs)), name="trainer")
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)
    fit_args: dict[str, Any] = dict(
        batch_size=config.batch_size,
        validation_data=(x_val, y_val),
        class_weight=weights,
        verbose=verbose,
        shuffle=True,
    )

    def compile_with(learning_rate: Any) -> None:
        optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=config.weight_decay)
        trainer.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])

    backbone = next((layer for layer in classifier.layers if layer.name == "backbone"), None)
    head_done = run_dir / "head.weights.h5"
    if backbone is not None and config.head_epochs > 0:
        if head_done.is_file():
            classifier.load_weights(str(head_done))
        else:
            backbone.trainable = False
            compile_with(config.head_learning_rate)
            trainer.fit(
                x_train,
                y_train,
                epochs=config.head_epochs,
                callbacks=[
                    keras.callbacks.BackupAndRestore(str(run_dir / "backup_head"), delete_checkpoint=False),
                    _EpochRecorder(run_dir, "head", classifier),
                ],
                **fit_args,
            )
            classifier.save_weights(str(head_done))
        backbone.trainable = True

    warmup_steps = int(config.warmup_epochs * steps_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate * 0.01,
        decay_steps=max(1, config.epochs * steps_per_epoch - warmup_steps),
        alpha=0.01,
        warmup_target=config.learning_rate,
        warmup_steps=warmup_steps,
    )
    compile_with(schedule)
    recorder = _EpochRecorder(run_dir, "finetune", classifier)
    trainer.fit(
        x_train,
        y_train,
        epochs=config.epochs,
        callbacks=[
            keras.callbacks.BackupAndRestore(str(run_dir / "backup_finetune"), delete_checkpoint=False),
            recorder,
            keras.callbacks.EarlyStopping("val_accuracy", mode="max", patience=config.patience),
        ],
        **fit_args,
    )
    if recorder.best_path.is_file():
        classifier.load_weights(str(recorder.best_path))
    history = _read_history(run_dir / "history.jsonl")
    finetune = [row for row in history if row["stage"] == "finetune" and "val_accuracy" in row]
    best = (
        max(finetune, key=lambda row: row["val_accuracy"]) if finetune else {"epoch": -1, "val_accuracy": float("nan")}
    )
    return TrainResult(classifier, history, int(best["epoch"]), float(best["val_accuracy"]))
