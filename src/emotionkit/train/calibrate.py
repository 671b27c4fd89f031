"""Class-bias calibration: shift a trained network's class priors to fit a validation split's labels.

A network trained on targets that differ from the labels it is scored on (FER+ vote
distributions, a teacher's probabilities, class weights) ends up with class priors
that differ too: FER+ voters call many FER-2013 "fear" faces something else, so a
network taught by their votes rarely says "fear". Adding a per-class constant ``b`` to
its log-probabilities (``p' = softmax(log p + b)``) moves the decision boundaries back
without retraining. [`fit_class_bias`][emotionkit.train.calibrate.fit_class_bias] chooses
``b`` on a validation split (FER-2013 ``PublicTest``; never the split you report);
[`calibrate_model_folder`][emotionkit.train.calibrate.calibrate_model_folder] adds it
to the bias of the network's last layer, so the calibrated model folder runs on every
runtime and exports unchanged, at no extra cost per face.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotionkit.train.data import FaceDataset

__all__ = ["Calibration", "apply_class_bias", "calibrate_model_folder", "fit_class_bias"]


def fit_class_bias(
    probabilities: np.ndarray, labels: np.ndarray, *, limit: float = 1.5, step: float = 0.1, rounds: int = 3
) -> np.ndarray:
    """Choose per-class log-probability offsets that maximise accuracy on labelled data.

    Coordinate ascent: for each class in turn, try every offset on the grid
    ``-limit, -limit + step, ..., limit`` with the other offsets fixed and keep the most
    accurate (ties: the smallest offset in absolute value); ``rounds`` passes over the classes.

    Args:
        probabilities: ``(N, K)`` predicted probabilities.
        labels: ``(N,)`` true class indices.
        limit: Largest offset tried, in log-probability units.
        step: Grid step.
        rounds: Passes over the classes.

    Returns:
        ``float64`` ``(K,)`` offsets; all zero if no offset helps.

    Raises:
        ValueError: If the shapes disagree, there is no sample, or the grid is empty.

    Examples:
        >>> p = np.array([[0.6, 0.4], [0.55, 0.45], [0.7, 0.3]])
        >>> fit_class_bias(p, np.array([1, 1, 0])).round(1).tolist()  # class 0 loses the first two faces
        [-0.5, 0.0]
    """
    probabilities = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels)
    if probabilities.ndim != 2 or len(probabilities) != len(labels) or len(labels) == 0:
        raise ValueError(f"need (N, K) probabilities and N labels, N > 0; got {probabilities.shape} and {labels.shape}")
    if not (limit > 0 and step > 0 and rounds >= 1):
        raise ValueError(f"limit and step must be > 0 and rounds >= 1, got {limit}, {step}, {rounds}")
    logp = np.log(np.maximum(probabilities, 1e-12))
    grid = np.round(np.arange(-limit, limit + step / 2, step), 10)
    grid = grid[np.argsort(np.abs(grid), kind="stable")]  # the first best is the smallest shift
    bias = np.zeros(logp.shape[1])
    for _ in range(rounds):
        for c in range(logp.shape[1]):
            scores = []
            for value in grid:
                trial = bias.copy()
                trial[c] = value
                scores.append(np.mean((logp + trial).argmax(1) == labels))
            bias[c] = grid[int(np.argmax(scores))]
    return bias


def apply_class_bias(probabilities: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Shift probabilities by per-class log offsets: ``softmax(log p + b)`` over the last axis.

    The one rule every calibrated teacher follows (bank members, view members): it is
    ``p * exp(b)`` renormalised, so a zero offset returns the (renormalised) input.

    Args:
        probabilities: ``(..., K)`` probabilities (any leading shape: one row per face,
            or one block per augmented view); not modified.
        bias: ``(K,)`` offsets, e.g. from [`fit_class_bias`][emotionkit.train.calibrate.fit_class_bias].

    Returns:
        ``float64`` probabilities of the same shape, each row summing to 1.

    Raises:
        ValueError: If ``bias`` does not have one offset per class.

    Examples:
        >>> apply_class_bias(np.array([[0.5, 0.5]]), np.array([np.log(3.0), 0.0])).round(2).tolist()
        [[0.75, 0.25]]
    """
    probabilities = np.asarray(probabilities, np.float64)
    bias = np.asarray(bias, np.float64)
    if bias.shape != probabilities.shape[-1:]:
        raise ValueError(f"need one offset per class ({probabilities.shape[-1:]}), got bias of shape {bias.shape}")
    shifted = probabilities * np.exp(bias)
    return shifted / shifted.sum(-1, keepdims=True)


@dataclass(frozen=True)
class Calibration:
    """What [`calibrate_model_folder`][emotionkit.train.calibrate.calibrate_model_folder] did.

    Attributes:
        folder: The calibrated model folder.
        bias: The offsets added, one per label.
        accuracy_before: Accuracy on the calibration data before.
        accuracy_after: And after.
    """

    folder: Path
    bias: tuple[float, ...]
    accuracy_before: float
    accuracy_after: float


def calibrate_model_folder(
    folder: str | Path, data: FaceDataset, output: str | Path, *, name: str = "validation"
) -> Calibration:
    """Fit class offsets on ``data`` and write a copy of the model folder with them in its last layer.

    The probabilities come from the model's own inference path (its preprocessing and
    its flip setting), so the offsets fit what users will run.

    Args:
        folder: A model folder of one network (with Keras weights).
        data: Labelled face crops to fit on (a validation split, never the reported test split);
            its classes must be the model's labels.
        output: The folder to write; the input folder is not changed unless ``output`` is the
            same folder (the recipe key ``"calibrate"`` calibrates a trained model in place).
        name: What ``data`` is, recorded in the new config (e.g. ``"FER-2013 PublicTest"``).

    Returns:
        The offsets and the accuracy on ``data`` before and after.

    Raises:
        ValueError: If the classes differ, or the model is not one network with a final
            ``head_logits`` layer (an ensemble: calibrate its members, then combine them).

    Examples:
        >>> calibrate_model_folder("student", load_fer2013_folder(root, "PublicTest"), "student-cal")  # doctest: +SKIP
    """
    from emotionkit.model_files import load_model, read_config, write_model_folder
    from emotionkit.recognizer import EmotionRecognizer
    from emotionkit.train.evaluate import predict_probabilities

    config = read_config(folder)
    if tuple(config.labels) != tuple(data.classes):
        raise ValueError(f"the model predicts {config.labels}, the data has classes {data.classes}")
    model = load_model(folder, config)  # a new Keras model: changing it leaves the folder alone
    try:
        head = model.get_layer("head_logits")
    except ValueError:
        raise ValueError(
            f"{folder} ({config.architecture.get('name')}) has no final 'head_logits' layer: calibrate single "
            "networks (calibrate an ensemble's members, then combine them)"
        ) from None
    recognizer = EmotionRecognizer(model, config, source=str(folder))  # it runs a copy of the model
    probabilities = predict_probabilities(recognizer, data.images)
    bias = fit_class_bias(probabilities, data.labels)
    kernel, offsets = head.get_weights()
    head.set_weights([kernel, (offsets + bias).astype(offsets.dtype)])
    before = float(np.mean(probabilities.argmax(1) == data.labels))
    after = float(np.mean(apply_class_bias(probabilities, bias).argmax(1) == data.labels))
    record = {"class_bias": [round(float(b), 4) for b in bias], "fit_on": name, "accuracy": [before, after]}
    training = {**(config.training or {}), "calibration": record}
    write_model_folder(model, config.replace(training=training), output)
    return Calibration(Path(output), tuple(float(b) for b in bias), before, after)
