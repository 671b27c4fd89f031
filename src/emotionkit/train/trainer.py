"""Two-stage fine-tuning with checkpoints every epoch, resume, early stopping and a cosine schedule.

Stage 1 trains only the head on a frozen pretrained backbone (skipped for
architectures without one); stage 2 unfreezes everything, warms the learning
rate up and decays it along a cosine. Each stage is backed up after every epoch
with ``keras.callbacks.BackupAndRestore``, so calling [`train`][emotionkit.train.trainer.train] again
with the same ``run_dir`` resumes where an interrupted run stopped.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from emotionkit.models import build_model, fuse_branches
from emotionkit.preprocessing import prepare_faces
from emotionkit.train.augment import build_augmentation
from emotionkit.train.data import FaceDataset, class_weights
from emotionkit.train.mixing import MixedBatches, check_mixing
from emotionkit.train.views import ViewTargets

__all__ = ["TrainConfig", "TrainResult", "TrainingPaused", "reestimate_batchnorm", "train"]


@dataclass
class TrainConfig:
    """A training recipe; stored as JSON next to the run and in the model's config.

    Attributes:
        architecture: Architecture config for [`build_model`][emotionkit.models.build_model].
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
        augmentation: Overrides of [`DEFAULT_AUGMENTATION`][emotionkit.train.augment.DEFAULT_AUGMENTATION].
        mixing: Batch mixing, ``{"mixup": alpha, "cutmix": alpha, "probability": p}``
            (see [`emotionkit.train.mixing`][emotionkit.train.mixing]); empty = off.
        face_margin: Margin recorded in the model config for detected faces at inference.
        face_shift_y: Vertical crop shift recorded in the model config
            (see [`Preprocessing`][emotionkit.config.Preprocessing]).
        seed: Random seed.
        average_last_epochs: Stochastic weight averaging: average the classifier weights
            of the last N stage-2 epochs, re-estimate the BatchNorm statistics on the
            training images, and keep the average if it beats the best single epoch
            on validation (0 = off).
        ensemble: Members of an ensemble, each a dictionary of recipe overrides (e.g.
            ``{"seed": 2027}``); ``emotionkit-train`` trains each member with this
            recipe plus its overrides and averages their probabilities. Empty = one model.
        distill_from: For an ensemble member: indices of earlier members that teach it
            (knowledge distillation from their mean flip-averaged probabilities on the
            training images, see [`emotionkit.train.distill`][emotionkit.train.distill]). Empty = plain labels.
        distill_weight: Share of the teacher in the distillation target, in [0, 1].
        distill_temperature: Temperature applied to the teacher's probabilities.
        combine: Indices of the ensemble members that form the output model (default:
            all); the others only teach.
        ferplus_weight: Share of the FER+ vote distribution in the training targets, in [0, 1]
            (FER-2013 folders with a ``ferplus.csv`` only; images without votes keep their label):
            ``(1 - w) * one-hot label + w * votes``. 0 = labels only.
        calibrate: After training, fit per-class offsets on the validation split and add them to
            the last layer's bias (see [`emotionkit.train.calibrate`][emotionkit.train.calibrate]).
        bank_teachers: Names of teacher-bank members whose mean probabilities on the
            training images teach this model (``distill_weight``, ``distill_temperature``;
            see [`emotionkit.train.bank`][emotionkit.train.bank]). Empty = no bank teacher.
        calibrate_teachers: Class-bias calibrate each bank (and view) teacher on PublicTest before
            averaging (see [`calibrate_members`][emotionkit.train.bank.calibrate_members]), so
            members taught by FER+ votes do not pass their low "fear" prior on to the student.
        view_teachers: Names of view members (see [`emotionkit.train.views`][emotionkit.train.views]):
            consistent teaching, where each training face is drawn as one of the members' stored
            augmented views and the members' mean probabilities on that view join its target
            (``view_weight``, ``distill_temperature``). Empty = off. One model only, not an ensemble.
        view_weight: Share of the view teachers in the target, in [0, 1]; the rest is the
            target without them (labels, FER+ votes, ``bank_teachers``).
        train_on_validation: A final fit: train on the training and the validation images
            together (FER-2013 Training + PublicTest), for a recipe whose settings earlier runs
            chose on validation. Nothing is validated: no early stopping, no best epoch; the
            model is the average of the last ``average_last_epochs`` epochs, or the last epoch.
            It cannot be combined with ``calibrate`` (fitted on validation) or an ensemble, and a
            bank member trained so has no PublicTest accuracy and is never selected.
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
    mixing: dict[str, float] = field(default_factory=dict)
    face_margin: float = 0.09
    face_shift_y: float = -0.09
    seed: int = 1337
    average_last_epochs: int = 0
    ensemble: list[dict[str, Any]] = field(default_factory=list)
    distill_from: list[int] = field(default_factory=list)
    distill_weight: float = 0.6
    distill_temperature: float = 2.0
    combine: list[int] | None = None
    ferplus_weight: float = 0.0
    bank_teachers: list[str] = field(default_factory=list)
    calibrate: bool = False
    calibrate_teachers: bool = False
    train_on_validation: bool = False
    view_teachers: list[str] = field(default_factory=list)
    view_weight: float = 0.5

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a recipe JSON file.

        Args:
            path: The JSON file.

        Returns:
            The recipe.

        Raises:
            FileNotFoundError: If the file is missing.
            ValueError: If it (or an ensemble member's overrides) has unknown keys, a
                member is taught by itself or a later member, ``combine`` names a
                member that does not exist, the ``mixing`` block is invalid,
                ``train_on_validation`` is combined with ``calibrate`` or an ensemble, or
                ``view_teachers`` with an ensemble.

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
        members = data.get("ensemble", [])
        for i, overrides in enumerate(members):
            bad = set(overrides) - set(cls.__dataclass_fields__) | ({"ensemble", "combine"} & set(overrides))
            if bad:
                raise ValueError(f"{path}: ensemble member {i} has unknown or nested key(s) {', '.join(sorted(bad))}")
            teachers = overrides.get("distill_from", [])
            if any(not isinstance(t, int) or not 0 <= t < i for t in teachers):
                raise ValueError(f"{path}: ensemble member {i} can only distil from earlier members, got {teachers}")
        weights = [data.get("ferplus_weight", 0.0)] + [m["ferplus_weight"] for m in members if "ferplus_weight" in m]
        if any(not isinstance(w, (int, float)) or not 0.0 <= w <= 1.0 for w in weights):
            raise ValueError(f"{path}: ferplus_weight must be a number in [0, 1], got {weights}")
        for key in ("bank_teachers", "view_teachers"):
            names = data.get(key, [])
            if not isinstance(names, list) or not all(isinstance(t, str) for t in names):
                raise ValueError(f"{path}: {key} must be a list of bank member names, got {names!r}")
        teachers_in_bank = data.get("bank_teachers", []) + data.get("view_teachers", [])
        view_weight = data.get("view_weight", 0.5)
        if isinstance(view_weight, bool) or not isinstance(view_weight, (int, float)) or not 0 <= view_weight <= 1:
            raise ValueError(f"{path}: view_weight must be a number in [0, 1], got {view_weight!r}")
        if data.get("view_teachers") and members:
            raise ValueError(f"{path}: view_teachers teach one model, not an ensemble; drop one of them")
        for block in [data, *members]:
            if "mixing" in block:
                try:
                    block["mixing"] = check_mixing(block["mixing"])
                except ValueError as exc:
                    raise ValueError(f"{path}: {exc}") from None
        for key in ("calibrate", "calibrate_teachers", "train_on_validation"):
            if not isinstance(data.get(key, False), bool):
                raise ValueError(f"{path}: {key} must be true or false, got {data[key]!r}")
        if data.get("calibrate_teachers") and not teachers_in_bank:
            raise ValueError(f"{path}: calibrate_teachers needs bank_teachers or view_teachers")
        if data.get("train_on_validation") and (data.get("calibrate") or members):
            raise ValueError(
                f"{path}: train_on_validation leaves no validation images to calibrate on or to train an ensemble"
                " with; drop calibrate and ensemble"
            )
        if data.get("distill_from"):
            raise ValueError(f"{path}: distill_from belongs in an ensemble member's overrides")
        combine = data.get("combine")
        if combine is not None and (
            not combine or any(not isinstance(m, int) or not 0 <= m < len(members) for m in combine)
        ):
            raise ValueError(f"{path}: combine must list indices of the {len(members)} ensemble members, got {combine}")
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
    """What [`train`][emotionkit.train.trainer.train] returns.

    Attributes:
        model: The classifier with the weights ``selected`` names loaded.
        history: Per-epoch logs of both stages (``stage``, ``epoch``, ``loss``, ``accuracy``, ...).
        best_epoch: Stage-2 epoch (0-based) with the best validation accuracy, or ``None`` without
            validation (a final fit).
        best_val_accuracy: That accuracy, or ``None`` without validation.
        averaged_epochs: Stage-2 epochs whose weights were averaged (empty if averaging was off).
        averaged_val_accuracy: Validation accuracy of the averaged weights, or ``None``.
        selected: ``"average"`` if ``model`` holds the averaged weights, ``"best_epoch"`` if the best
            epoch's, ``"last_epoch"`` if the last epoch's. Without validation, or when the best epoch's
            weights were not kept (a parked run, see [`emotionkit.train.checkpoint`][emotionkit.train.checkpoint]),
            the average is kept where there is one, else the last epoch.
        architecture: The architecture config of ``model``: the recipe's, without training-time
            branches, which are folded into the plain network
            (see [`fuse_branches`][emotionkit.models.fuse_branches]).
    """

    model: keras.Model
    history: list[dict[str, float]]
    best_epoch: int | None
    best_val_accuracy: float | None
    averaged_epochs: tuple[int, ...] = ()
    averaged_val_accuracy: float | None = None
    selected: str = "best_epoch"
    architecture: dict[str, Any] = field(default_factory=dict)


class TrainingPaused(Exception):
    """[`train`][emotionkit.train.trainer.train] stopped at its time budget before the recipe's last epoch.

    The run folder holds the backup of the last finished epoch: calling ``train`` again with the
    same folder (or parking it with [`park_run`][emotionkit.train.checkpoint.park_run] and
    resuming elsewhere) goes on from there, as after any interruption, without losing a step.

    Attributes:
        run_dir: The run folder.
        epochs_done: Stage-2 epochs finished so far.
        epochs: Stage-2 epochs the recipe asks for.

    Examples:
        >>> try:  # doctest: +SKIP
        ...     result = train(config, train_data, val_data, "runs/student", time_budget_s=150 * 60)
        ... except TrainingPaused as paused:
        ...     park_run(paused.run_dir, "training/checkpoints/student", overwrite=True)
    """

    def __init__(self, run_dir: Path, epochs_done: int, epochs: int) -> None:
        super().__init__(f"paused after {epochs_done} of {epochs} epochs: training again with {run_dir} goes on")
        self.run_dir = run_dir
        self.epochs_done = epochs_done
        self.epochs = epochs


class _StopAtDeadline(keras.callbacks.Callback):
    """Ends ``fit`` at the end of the first epoch that finishes after ``deadline`` (``time.monotonic()``)."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline
        self.fired = False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if time.monotonic() >= self.deadline:
            self.fired = True
            self.model.stop_training = True


class _EpochRecorder(keras.callbacks.Callback):
    """Appends each epoch's logs to ``history.jsonl`` and keeps the best weights by val accuracy."""

    def __init__(
        self, run_dir: Path, stage: str, classifier: keras.Model, draw_seed: int, keep_from: int | None = None
    ) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.draw_seed = draw_seed  # the seed this process drew its shuffles and augmentation from
        self.stage = stage
        self.classifier = classifier
        self.keep_from = keep_from  # also save the weights of every epoch >= keep_from (for averaging)
        self.history_path = run_dir / "history.jsonl"
        self.best_path = run_dir / "best.weights.h5"
        self.best = -math.inf
        self.started = time.perf_counter()
        for row in _read_history(self.history_path):
            if row["stage"] == stage and "val_accuracy" in row:
                self.best = max(self.best, row["val_accuracy"])

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        lr = self.model.optimizer.learning_rate
        row: dict[str, Any] = {"stage": self.stage, "epoch": epoch, **{k: float(v) for k, v in logs.items()}}
        row["seconds"] = round(time.perf_counter() - self.started, 1)
        row["learning_rate"] = float(np.asarray(lr))
        row["draw_seed"] = self.draw_seed
        with self.history_path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        val = row.get("val_accuracy")
        if self.stage == "finetune" and val is not None and val > self.best:
            self.best = val
            self.classifier.save_weights(str(self.best_path))
        if self.keep_from is not None and epoch >= self.keep_from:
            _epoch_weights_path(self.run_dir, epoch).parent.mkdir(exist_ok=True)
            self.classifier.save_weights(str(_epoch_weights_path(self.run_dir, epoch)))


def _epoch_weights_path(run_dir: Path, epoch: int) -> Path:
    return run_dir / "epochs" / f"epoch_{epoch:03d}.weights.h5"


def _nested_layers(model: keras.Layer) -> list[keras.Layer]:
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_nested_layers(layer))
    return found


def reestimate_batchnorm(
    classifier: keras.Model, images: np.ndarray, batches: int = 300, batch_size: int = 64, seed: int = 0
) -> None:
    """Recompute BatchNorm moving statistics by running training-mode forward passes (weights unchanged).

    Needed after averaging weights: the averaged network's activations no longer
    match any epoch's stored statistics.

    Args:
        classifier: The model; its BatchNorm moving means and variances are updated in place.
        images: Preprocessed training faces ``(N, S, S, 1)``; no augmentation is applied.
        batches: Number of batches to run.
        batch_size: Images per batch, the same for every batch (all the images when there are fewer).
        seed: Seed of the batch order.

    Examples:
        >>> reestimate_batchnorm(model, prepare_faces(train.images, 48))  # doctest: +SKIP
    """
    norms = [layer for layer in _nested_layers(classifier) if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.98
    order = np.random.default_rng(seed).permutation(len(images))
    size = min(batch_size, len(images))
    for i in range(batches):
        # Every batch has the same size (the order wraps around): no small remainder batch skews the statistics,
        # and on JAX, where each eager op compiles once per shape, the model's ops compile once, not per remainder.
        classifier(images[order[np.arange(i * size, (i + 1) * size) % len(images)]], training=True)
    for layer, momentum in zip(norms, saved):
        layer.momentum = momentum


def _accuracy(classifier: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    predicted = classifier.predict(x, batch_size=256, verbose=0).argmax(1)
    return float(np.mean(predicted == y.argmax(1)))


def _average_last_epochs(classifier: keras.Model, run_dir: Path, epochs: range, x_train: np.ndarray) -> tuple[int, ...]:
    """Load the mean of the saved weights of ``epochs`` (those that ran) into ``classifier``."""
    done = tuple(e for e in epochs if _epoch_weights_path(run_dir, e).is_file())
    if not done:
        return ()
    total: list[np.ndarray] | None = None
    for epoch in done:
        classifier.load_weights(str(_epoch_weights_path(run_dir, epoch)))
        current = [np.asarray(w, np.float64) for w in classifier.get_weights()]
        total = current if total is None else [t + c for t, c in zip(total, current)]
    assert total is not None
    classifier.set_weights([t / len(done) for t in total])
    reestimate_batchnorm(classifier, x_train)
    return done


def _read_history(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def train(
    config: TrainConfig,
    train_data: FaceDataset,
    val_data: FaceDataset | None,
    run_dir: str | Path,
    verbose: int | str = "auto",
    views: ViewTargets | None = None,
    time_budget_s: float | None = None,
) -> TrainResult:
    """Train a classifier with the two-stage recipe, resuming from ``run_dir`` if it holds a backup.

    Args:
        config: The recipe.
        train_data: Training images and labels.
        val_data: Validation images (model selection and early stopping only), or ``None`` for a
            recipe with ``train_on_validation`` (its validation images are already in ``train_data``).
        run_dir: Folder for backups, per-epoch history and best weights.
        verbose: Keras progress-bar setting (``"auto"``, 0, 1 or 2).
        views: For a recipe with ``view_teachers``: the raw training faces, their bank rows and the
            view teacher (see [`ViewTargets`][emotionkit.train.views.ViewTargets]), in ``train_data``'s
            order; ``None`` for any other recipe.
        time_budget_s: Stop at the end of the first stage-2 epoch that ends this many seconds after
            the call, and raise [`TrainingPaused`][emotionkit.train.trainer.TrainingPaused] if epochs
            remain (a session's end: park the run, resume it next time). ``None``: no limit.

    Returns:
        The trained model (the best epoch's weights, or the average of the last epochs where that
        is as good on validation or nothing validates) and its history.

    Raises:
        ValueError: If the two datasets disagree on the classes, or ``val_data`` is given to a recipe
            with ``train_on_validation`` or missing from one without, or ``views`` is missing from a
            recipe with ``view_teachers`` (or given to one without, or of another length than ``train_data``),
            or ``time_budget_s`` is negative.
        TrainingPaused: If ``time_budget_s`` ran out before the last epoch.

    Examples:
        >>> result = train(TrainConfig({"name": "convnet", "input_size": 48}), tr, va, "runs/x")  # doctest: +SKIP
    """
    if time_budget_s is not None and not time_budget_s >= 0:
        raise ValueError(f"time_budget_s must be >= 0 seconds or None, got {time_budget_s}")
    deadline = None if time_budget_s is None else time.monotonic() + time_budget_s
    if (val_data is None) != config.train_on_validation:
        raise ValueError(
            "a recipe with train_on_validation trains without validation data (pass val_data=None, its images"
            " joined to train_data); any other recipe needs val_data"
        )
    if bool(config.view_teachers) != (views is not None):
        raise ValueError("a recipe with view_teachers needs views (ViewTargets), and only such a recipe takes them")
    if views is not None and len(views.faces) != len(train_data):
        raise ValueError(f"views hold {len(views.faces)} faces, the training data {len(train_data)}")
    if val_data is not None and tuple(train_data.classes) != tuple(val_data.classes):
        raise ValueError(f"train classes {train_data.classes} differ from validation classes {val_data.classes}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "recipe.json").write_text(json.dumps(config.to_dict(), indent=2))
    # A resumed run draws its shuffles and augmentation from a seed moved by the epochs already trained, so that
    # it does not replay the draws of the epochs after its first start; a fresh run uses the recipe's seed.
    trained = _read_history(run_dir / "history.jsonl")  # the epochs of both stages that earlier calls finished
    draw_seed = config.seed + len(trained)
    keras.utils.set_random_seed(draw_seed)
    num_classes = len(train_data.classes)
    size = int(config.architecture["input_size"])
    x_train, y_train = prepare_faces(train_data.images, size), train_data.targets()
    validation = None if val_data is None else (prepare_faces(val_data.images, size), val_data.targets())
    weights = class_weights(train_data.labels, num_classes, config.class_weight_power)

    classifier = build_model(config.architecture, num_classes, config.backbone_weights)
    augmentation = build_augmentation(config.augmentation, seed=draw_seed)
    inputs = keras.Input((size, size, 1))
    trainer = keras.Model(inputs, classifier(augmentation(inputs)), name="trainer")
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)
    fit_args: dict[str, Any] = dict(validation_data=validation, class_weight=weights, verbose=verbose)
    mixing = check_mixing(config.mixing)
    if mixing["mixup"] > 0 or mixing["cutmix"] > 0 or views is not None:
        batches = MixedBatches(x_train, y_train, config.batch_size, mixing, seed=config.seed, views=views)
        fit_data: dict[str, Any] = dict(x=batches)
    else:
        batches = None
        fit_data = dict(x=x_train, y=y_train, batch_size=config.batch_size, shuffle=True)

    def compile_with(learning_rate: Any) -> None:
        optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=config.weight_decay)
        trainer.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])

    backbone = next((layer for layer in classifier.layers if layer.name == "backbone"), None)
    head_done = run_dir / "head.weights.h5"
    finetune_done = sum(1 for row in trained if row["stage"] == "finetune")
    if backbone is not None and config.head_epochs > 0 and not finetune_done:  # stage 2's backup holds it all
        if head_done.is_file():
            classifier.load_weights(str(head_done))
        else:
            backbone.trainable = False
            compile_with(config.head_learning_rate)
            trainer.fit(
                **fit_data,
                epochs=config.head_epochs,
                callbacks=[
                    keras.callbacks.BackupAndRestore(str(run_dir / "backup_head"), delete_checkpoint=False),
                    _EpochRecorder(run_dir, "head", classifier, draw_seed),
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
    first_averaged = config.epochs - config.average_last_epochs if config.average_last_epochs > 0 else None
    recorder = _EpochRecorder(run_dir, "finetune", classifier, draw_seed, keep_from=first_averaged)
    if batches is not None:  # a resumed run goes on with the shuffles and mixes of the epochs it has not done
        batches.epoch = config.head_epochs + finetune_done
    callbacks = [keras.callbacks.BackupAndRestore(str(run_dir / "backup_finetune"), delete_checkpoint=False), recorder]
    early = None
    if validation is not None:
        early = keras.callbacks.EarlyStopping("val_accuracy", mode="max", patience=config.patience)
        callbacks.append(early)
    stopper = None if deadline is None else _StopAtDeadline(deadline)
    if stopper is not None:
        callbacks.append(stopper)  # last: the backup and the history already hold the epoch it stops after
    trainer.fit(**fit_data, epochs=config.epochs, callbacks=callbacks, **fit_args)
    history = _read_history(run_dir / "history.jsonl")
    done = sum(1 for row in history if row["stage"] == "finetune")
    if stopper is not None and stopper.fired and done < config.epochs and not (early and early.stopped_epoch > 0):
        raise TrainingPaused(run_dir, done, config.epochs)
    finetune = [row for row in history if row["stage"] == "finetune" and "val_accuracy" in row]
    best = max(finetune, key=lambda row: row["val_accuracy"]) if finetune else None
    averaged: tuple[int, ...] = ()
    averaged_accuracy = None
    if first_averaged is not None:
        averaged = _average_last_epochs(classifier, run_dir, range(first_averaged, config.epochs), x_train)
        if averaged and validation is not None:
            averaged_accuracy = _accuracy(classifier, *validation)
            print(f"average of epochs {averaged[0]}-{averaged[-1]}: val_accuracy {averaged_accuracy:.4f}", flush=True)
    if best is None or not recorder.best_path.is_file():
        # Nothing to choose by (no validation), or the best epoch's weights were not kept (a run resumed from a
        # parked folder that had no room for them): the average where there is one, else the last epoch.
        selected = "average" if averaged else "last_epoch"
    elif averaged_accuracy is not None and averaged_accuracy >= best["val_accuracy"]:
        selected = "average"
    else:
        selected = "best_epoch"
        classifier.load_weights(str(recorder.best_path))
    classifier, architecture = fuse_branches(classifier, config.architecture)
    return TrainResult(
        classifier,
        history,
        None if best is None else int(best["epoch"]),
        None if best is None else float(best["val_accuracy"]),
        averaged,
        averaged_accuracy,
        selected,
        architecture,
    )
