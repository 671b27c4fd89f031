"""Model architectures, built from a plain config dictionary.

Every architecture takes the output of [`prepare_faces`][emotionkit.preprocessing.prepare_faces]
(``(N, S, S, 1)`` float32 grey faces in ``[0, 1]``) and returns softmax
probabilities over the labels. Architecture-specific input handling (upscaling,
channel repetition, ``[-1, 1]`` scaling) lives inside the model, so the shared
preprocessing never changes with the architecture.

Adding an architecture is a local change: write a ``_build_<name>`` function and
add it to [`ARCHITECTURES`][emotionkit.models.ARCHITECTURES].

This module imports Keras; import it only after ``KERAS_BACKEND`` is set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np
from keras import layers

__all__ = [
    "ARCHITECTURES",
    "PrototypeBlend",
    "appearance_vectors",
    "build_model",
    "default_architecture_config",
    "feature_model",
    "fuse_branches",
]


def _imagenet_builder(
    application: Callable[..., keras.Model], default_alpha: float, model_name: str
) -> Callable[[Mapping[str, Any], int, str | None], keras.Model]:
    """A builder around a Keras ImageNet application (MobileNet v1 or v2).

    Grey faces are upscaled to ``backbone_size``, repeated to RGB and scaled to
    [-1, 1] inside the model; ``bn_momentum`` overrides the backbone's BatchNorm momentum.
    """

    def build(cfg: Mapping[str, Any], num_classes: int, backbone_weights: str | None) -> keras.Model:
        size = int(cfg["input_size"])
        backbone_size = int(cfg.get("backbone_size", size))
        inputs = keras.Input((size, size, 1), name="faces")
        x = inputs
        if backbone_size != size:
            x = layers.Resizing(backbone_size, backbone_size, interpolation="bilinear", name="upscale")(x)
        x = layers.Concatenate(name="grey_to_rgb")([x, x, x])
        x = layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(x)
        backbone = application(
            input_shape=(backbone_size, backbone_size, 3),
            alpha=float(cfg.get("alpha", default_alpha)),
            include_top=False,
            weights=backbone_weights,
            pooling="avg",
        )
        backbone.name = "backbone"
        momentum = cfg.get("bn_momentum")
        if momentum is not None:
            for layer in backbone.layers:
                if isinstance(layer, layers.BatchNormalization):
                    layer.momentum = float(momentum)
        return _head(inputs, backbone(x), cfg, num_classes, model_name)

    return build


def _conv_bn(x: Any, filters: int, stride: int, name: str, separable: bool, branched: bool = False) -> Any:
    """``conv -> BN -> ReLU``; ``branched`` trains a full 3x3 conv as summed branches that
    [`fuse_branches`][emotionkit.models.fuse_branches] folds into one: 3x3 conv + BN, 1x1 conv + BN and,
    where shapes allow, BN of the input itself."""
    inputs = x
    if separable:
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
        x = layers.BatchNormalization(name=f"{name}_dw_bn")(x)
        x = layers.ReLU(name=f"{name}_dw_relu")(x)
        x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    else:
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    if branched and not separable:
        side = layers.Conv2D(filters, 1, strides=stride, padding="same", use_bias=False, name=f"{name}_1x1")(inputs)
        branches = [x, layers.BatchNormalization(name=f"{name}_1x1_bn")(side)]
        if stride == 1 and int(inputs.shape[-1]) == filters:
            branches.append(layers.BatchNormalization(name=f"{name}_id_bn")(inputs))
        x = layers.Add(name=f"{name}_sum")(branches)
    return layers.ReLU(name=f"{name}_relu")(x)


def _same_padding_before(size: int, stride: int, kernel: int = 3) -> int:
    """Rows a ``"same"`` convolution pads before the input (Keras pads the odd one after)."""
    out = -(-size // stride)
    return max((out - 1) * stride + kernel - size, 0) // 2


def _build_convnet(cfg: Mapping[str, Any], num_classes: int, backbone_weights: str | None) -> keras.Model:
    """A compact VGG-style network for 48x48 grey faces, trained from scratch.

    With ``"branches": true`` every full 3x3 convolution trains as a sum of branches (RepVGG,
    Ding et al. 2021); [`fuse_branches`][emotionkit.models.fuse_branches] folds them into the
    plain network, so inference costs the same.
    """
    if backbone_weights is not None:
        raise ValueError("the 'convnet' architecture has no pretrained backbone weights")
    size = int(cfg["input_size"])
    widths = [int(w) for w in cfg.get("widths", (32, 64, 128, 256))]
    depths = _per_stage(cfg, "convs_per_stage", len(widths))
    separable_from = int(cfg.get("separable_from_stage", len(widths)))
    branched = cfg.get("branches", False)
    if not isinstance(branched, bool):
        raise ValueError(f"convnet 'branches' must be true or false, got {branched!r}")
    inputs = keras.Input((size, size, 1), name="faces")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(inputs)
    if int(cfg.get("patchify_stem", 0)):
        x = _patchify_stem(x, widths[0])
    for s, (width, depth) in enumerate(zip(widths, depths)):
        for d in range(depth):
            stride = 2 if (d == 0 and s > 0) else 1
            separable = s >= separable_from and d > 0
            x = _conv_bn(x, width, stride, f"s{s}c{d}", separable=separable, branched=branched)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return _head(inputs, x, cfg, num_classes, "convnet")


def _per_stage(cfg: Mapping[str, Any], key: str, stages: int) -> list[int]:
    """``cfg[key]`` (default 2) as one count per stage: a single number repeats; each count must be >= 1."""
    value = cfg.get(key, 2)
    counts = [int(value)] * stages if isinstance(value, (int, float)) else [int(d) for d in value]
    if len(counts) != stages or min(counts) < 1:
        raise ValueError(f"{key} must be a number >= 1 or one per stage ({stages}), got {counts}")
    return counts


def _patchify_stem(x: Any, filters: int) -> Any:
    """A 2x2 stride-2 convolution: every input pixel is seen once, the later layers run at half resolution."""
    x = layers.Conv2D(filters, 2, strides=2, use_bias=False, name="stem")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    return layers.ReLU(name="stem_relu")(x)


def _basic_block(x: Any, filters: int, stride: int, name: str) -> Any:
    """A ResNet basic block: two 3x3 ``conv -> BN`` with a ReLU between, added to the input (through a
    1x1 ``conv -> BN`` projection where the shape changes), then a ReLU. The second BatchNorm starts at zero
    scale, so every block starts as the identity (Goyal et al. 2017)."""
    shortcut = x
    if stride != 1 or int(x.shape[-1]) != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    x = _conv_bn(x, filters, stride, f"{name}c0", separable=False)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}c1")(x)
    x = layers.BatchNormalization(gamma_initializer="zeros", name=f"{name}c1_bn")(x)
    x = layers.Add(name=f"{name}_sum")([shortcut, x])
    return layers.ReLU(name=f"{name}_relu")(x)


def _build_resnet(cfg: Mapping[str, Any], num_classes: int, backbone_weights: str | None) -> keras.Model:
    """A narrow ResNet (He et al. 2016, basic blocks) for 48x48 grey faces, trained from scratch.

    ``widths`` (default 32, 64, 128, 256) and ``blocks_per_stage`` (a number or one per stage, default 2)
    shape it; the stem is a 3x3 convolution at full resolution, or with ``"patchify_stem": 1`` the convnet's
    2x2 stride-2 stem (a quarter of the cost). Every stage after the first halves the resolution.
    """
    if backbone_weights is not None:
        raise ValueError("the 'resnet' architecture has no pretrained backbone weights")
    size = int(cfg["input_size"])
    widths = [int(w) for w in cfg.get("widths", (32, 64, 128, 256))]
    blocks = _per_stage(cfg, "blocks_per_stage", len(widths))
    inputs = keras.Input((size, size, 1), name="faces")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(inputs)
    if int(cfg.get("patchify_stem", 0)):
        x = _patchify_stem(x, widths[0])
    else:
        x = _conv_bn(x, widths[0], 1, "stem", separable=False)
    for s, (width, count) in enumerate(zip(widths, blocks)):
        for b in range(count):
            x = _basic_block(x, width, 2 if (b == 0 and s > 0) else 1, f"s{s}b{b}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return _head(inputs, x, cfg, num_classes, "resnet")


def fuse_branches(model: keras.Model, architecture: Mapping[str, Any]) -> tuple[keras.Model, dict[str, Any]]:
    """Fold a branched convnet's training-time branches into single 3x3 convolutions (RepVGG re-parameterisation).

    Each branch is a convolution followed by BatchNormalization (inference statistics);
    both are linear, so ``BN(conv(x))`` is one convolution with a bias, the 1x1 kernel
    is a 3x3 kernel with one non-zero tap, the identity is a 3x3 kernel with a 1 at the
    centre of each channel, and their sum is one 3x3 convolution. The result is the
    plain ``convnet`` of the same widths (each block ``conv -> BN -> ReLU``, the BN
    holding the folded bias): same outputs up to float rounding, the plain network's cost.

    Args:
        model: A model built from ``architecture`` (trained).
        architecture: A ``convnet`` architecture config; without ``"branches": true`` the
            model is returned as it is.

    Returns:
        ``(model, architecture)``: the plain model with the folded weights and its config
        (``architecture`` without ``"branches"``).

    Raises:
        ValueError: If ``architecture`` is not a ``convnet`` config or does not match ``model``.

    Examples:
        >>> arch = {"name": "convnet", "input_size": 48, "widths": [8, 16], "branches": True}
        >>> plain, plain_arch = fuse_branches(build_model(arch, 7), arch)
        >>> "branches" in plain_arch, plain.count_params() < build_model(arch, 7).count_params()
        (False, True)
    """
    if not architecture.get("branches"):
        return model, dict(architecture)
    if architecture.get("name") != "convnet":
        raise ValueError(f"only 'convnet' architectures have branches to fuse, got {architecture.get('name')!r}")
    plain_arch = {key: value for key, value in architecture.items() if key != "branches"}
    plain = build_model(plain_arch, int(model.output_shape[-1]))
    source = {layer.name: layer for layer in model.layers}
    try:
        for layer in plain.layers:
            if layer.weights:
                layer.set_weights(source[layer.name].get_weights())
    except (KeyError, ValueError) as exc:
        raise ValueError(f"the model does not match its architecture config ({exc})") from None

    def folded(kernel: np.ndarray, norm: keras.layers.BatchNormalization) -> tuple[np.ndarray, np.ndarray]:
        gamma, beta, mean, variance = (np.asarray(w, np.float64) for w in norm.get_weights())
        scale = gamma / np.sqrt(variance + norm.epsilon)
        return kernel * scale, beta - mean * scale

    for name in (n for n in source if f"{n}_1x1" in source):
        conv, side = source[name], source[f"{name}_1x1"]
        kernel, bias = folded(np.asarray(conv.get_weights()[0], np.float64), source[f"{name}_bn"])
        stride = int(conv.strides[0])
        tap = _same_padding_before(int(conv.input.shape[1]), stride)
        side_kernel, side_bias = folded(np.asarray(side.get_weights()[0], np.float64), source[f"{name}_1x1_bn"])
        kernel[tap, tap] += side_kernel[0, 0]
        bias += side_bias
        if f"{name}_id_bn" in source:
            channels = kernel.shape[-1]
            identity = np.zeros_like(kernel)
            identity[1, 1, np.arange(channels), np.arange(channels)] = 1.0
            id_kernel, id_bias = folded(identity, source[f"{name}_id_bn"])
            kernel += id_kernel
            bias += id_bias
        plain.get_layer(name).set_weights([kernel.astype(np.float32)])
        norm = plain.get_layer(f"{name}_bn")  # y = x + bias: gamma = sqrt(1 + eps), mean 0, variance 1
        ones = np.ones(len(bias), np.float32)
        norm.set_weights([ones * np.float32(np.sqrt(1.0 + norm.epsilon)), bias.astype(np.float32), 0 * ones, ones])
    return plain, plain_arch


def _head(inputs: Any, features: Any, cfg: Mapping[str, Any], num_classes: int, name: str) -> keras.Model:
    x = features
    units = int(cfg.get("head_units", 0))
    if units:
        x = layers.Dropout(float(cfg.get("dropout", 0.2)), name="head_dropout1")(x)
        x = layers.Dense(units, activation="relu", name="head_dense")(x)
    x = layers.Dropout(float(cfg.get("dropout", 0.2)), name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="head_logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="emotionkit")
class PrototypeBlend(layers.Layer):
    """Blends base probabilities with a nearest-prototype classifier, gated by similarity to a person's faces.

    All weights are fixed (non-trainable) and written by
    [`personalize`][emotionkit.personalize.personalize]. For a face with L2-normalised
    classifier features ``f``: ``s_c = max cos(f, p)`` over the prototypes ``p``
    of class ``c``; ``q = softmax(s / temperature)`` over classes that have
    prototypes, scaled to the base probability mass of those classes (classes
    without prototypes keep their base probability). The gate looks at the face
    itself: ``a`` = the face average-pooled 2x2, mean-centred and L2-normalised
    (appearance: identity, lighting, pose), ``g = sigmoid(sharpness * (max cos(a,
    a_p) - threshold))`` over the prototypes' ``a_p``; it is near 1 only for faces
    that look like the person's photos, so other people keep the base output:
    ``out = (1 - strength * g) * base + strength * g * q``.

    Args:
        num_prototypes: Number of stored example faces.
        feature_dim: Length of the classifier feature vectors.
        num_classes: Number of classes.
        gate_dim: Length of the appearance vectors (``(input_size // 2) ** 2``).
    """

    def __init__(self, num_prototypes: int, feature_dim: int, num_classes: int, gate_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_prototypes = int(num_prototypes)
        self.feature_dim = int(feature_dim)
        self.num_classes = int(num_classes)
        self.gate_dim = int(gate_dim)

    def build(self, input_shape: Any) -> None:
        def fixed(name: str, shape: tuple[int, ...], value: float = 0.0) -> Any:
            return self.add_weight(
                name=name, shape=shape, initializer=keras.initializers.Constant(value), trainable=False
            )

        self.prototypes = fixed("prototypes", (self.num_prototypes, self.feature_dim))
        self.prototype_labels = fixed("prototype_labels", (self.num_prototypes, self.num_classes))
        self.gate_prototypes = fixed("gate_prototypes", (self.num_prototypes, self.gate_dim))
        self.threshold = fixed("threshold", (), 1.0)
        self.sharpness = fixed("sharpness", (), 40.0)
        self.temperature = fixed("temperature", (), 0.05)
        self.strength = fixed("strength", (), 0.0)

    def call(self, inputs: Any) -> Any:
        from keras import ops

        features, base, faces = inputs
        f = features / (ops.norm(features, axis=-1, keepdims=True) + 1e-8)
        protos = self.prototypes / (ops.norm(self.prototypes, axis=-1, keepdims=True) + 1e-8)
        sims = ops.matmul(f, ops.transpose(protos))  # (N, M)
        labels = self.prototype_labels  # (M, C) one-hot
        masked = ops.expand_dims(sims, -1) * labels - 4.0 * (1.0 - labels)  # cos >= -1, so -4 never wins
        per_class = ops.max(masked, axis=1)  # (N, C)
        has_proto = ops.cast(ops.max(labels, axis=0) > 0, base.dtype)  # (C,)
        logits = per_class / self.temperature - 1e4 * (1.0 - has_proto)
        proto = ops.softmax(logits, axis=-1)
        covered = ops.sum(base * has_proto, axis=-1, keepdims=True)
        blended = proto * covered + base * (1.0 - has_proto)
        look = appearance_vectors(faces)
        nearest = ops.max(ops.matmul(look, ops.transpose(self.gate_prototypes)), axis=-1, keepdims=True)
        gate = ops.sigmoid(self.sharpness * (nearest - self.threshold)) * self.strength
        return (1.0 - gate) * base + gate * blended

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_prototypes": self.num_prototypes,
            "feature_dim": self.feature_dim,
            "num_classes": self.num_classes,
            "gate_dim": self.gate_dim,
        }


def appearance_vectors(faces: Any) -> Any:
    """Faces ``(N, S, S, 1)`` -> 2x2 average-pooled, mean-centred, L2-normalised ``(N, (S // 2) ** 2)`` vectors.

    Works on numpy arrays and backend tensors alike (the personalisation gate's notion of "looks like").

    Args:
        faces: Output of [`prepare_faces`][emotionkit.preprocessing.prepare_faces].

    Returns:
        The appearance vectors.

    Examples:
        >>> import numpy as np
        >>> tuple(appearance_vectors(np.random.rand(2, 48, 48, 1).astype("float32")).shape)
        (2, 576)
    """
    from keras import ops

    size = int(faces.shape[1]) // 2
    x = ops.reshape(faces[:, : 2 * size, : 2 * size, 0], (-1, size, 2, size, 2))
    x = ops.reshape(ops.mean(x, axis=(2, 4)), (-1, size * size))
    x = x - ops.mean(x, axis=-1, keepdims=True)
    return x / (ops.norm(x, axis=-1, keepdims=True) + 1e-8)


def feature_model(model: keras.Model) -> keras.Model:
    """Return a model mapping faces to the features the classifier head sees (shares weights).

    Args:
        model: A model built by [`build_model`][emotionkit.models.build_model] (any registered architecture).

    Returns:
        A Keras model ``faces -> (N, D)`` features.

    Raises:
        ValueError: If the model has no ``head_dropout`` layer (not built here).

    Examples:
        >>> m = build_model({"name": "convnet", "input_size": 48, "widths": [8, 16]}, 7)
        >>> feature_model(m).output_shape
        (None, 16)
    """
    if any(layer.name == "base_with_features" for layer in model.layers):  # personalised: its base's features
        both = model.get_layer("base_with_features")
    else:
        both = _features_and_probabilities(model, "features_and_probabilities")
    return keras.Model(both.inputs[0], both.outputs[0], name="features")


def _features_and_probabilities(model: keras.Model, name: str) -> keras.Model:
    """A model ``faces -> [features, probabilities]`` sharing ``model``'s weights (one pass through the backbone).

    The features are what the classifier head sees; for an ensemble, its members' features concatenated.
    """
    names = [layer.name for layer in model.layers]
    members = [n for n in names if n.startswith("member") and n[6:].isdigit()]
    if members and "ensemble_mean" in names:
        inputs = keras.Input(model.input_shape[1:], name="faces")
        outputs = [model.get_layer(n)(inputs) for n in sorted(members, key=lambda n: int(n[6:]))]
        features = layers.Concatenate(name="ensemble_features")([f for f, _ in outputs])
        return keras.Model(inputs, [features, model.get_layer("ensemble_mean")([p for _, p in outputs])], name=name)
    if "head_dropout" in names:
        return keras.Model(model.inputs[0], [model.get_layer("head_dropout").input, model.output], name=name)
    raise ValueError(f"model {model.name!r} has no 'head_dropout' layer; build it with emotionkit.models")


def _build_personalized(cfg: Mapping[str, Any], num_classes: int, backbone_weights: str | None) -> keras.Model:
    base = build_model(cfg["base"], num_classes, backbone_weights)
    base.name = "base"
    both = _features_and_probabilities(base, "base_with_features")
    inputs = keras.Input(base.input_shape[1:], name="faces")
    features, probs = both(inputs)  # one pass through the backbone
    size = int(base.input_shape[1])
    blend = PrototypeBlend(
        int(cfg["num_prototypes"]), int(features.shape[-1]), num_classes, (size // 2) ** 2, name="personal"
    )
    return keras.Model(inputs, blend([features, probs, inputs]), name="personalized")


def _build_ensemble(cfg: Mapping[str, Any], num_classes: int, backbone_weights: str | None) -> keras.Model:
    """Average the probabilities of several member classifiers that read the same input.

    ``cfg["members"]`` lists the members' architecture configs (one shared
    ``input_size``, also stored as ``cfg["input_size"]``). Member ``i`` is the sub-model ``member{i}`` returning
    ``[features, probabilities]``; the ensemble's features (what personalisation
    uses) are the members' features concatenated.
    """
    members = list(cfg.get("members") or [])
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
    sizes = {int(m["input_size"]) for m in members} | {int(cfg.get("input_size", members[0]["input_size"]))}
    if len(sizes) != 1:
        raise ValueError(f"ensemble members must share one input_size, got {sorted(sizes)}")
    size = sizes.pop()
    inputs = keras.Input((size, size, 1), name="faces")
    probabilities = []
    for i, member_cfg in enumerate(members):
        member = build_model(member_cfg, num_classes, backbone_weights)
        both = _features_and_probabilities(member, f"member{i}")
        probabilities.append(both(inputs)[1])
    outputs = layers.Average(name="ensemble_mean", dtype="float32")(probabilities)
    return keras.Model(inputs, outputs, name="ensemble")


ARCHITECTURES: dict[str, Callable[[Mapping[str, Any], int, str | None], keras.Model]] = {
    "mobilenetv2": _imagenet_builder(keras.applications.MobileNetV2, 0.35, "mobilenetv2"),
    "mobilenet": _imagenet_builder(keras.applications.MobileNet, 0.25, "mobilenet"),
    "convnet": _build_convnet,
    "resnet": _build_resnet,
    "personalized": _build_personalized,
    "ensemble": _build_ensemble,
}
"""Architecture name -> builder ``(config, num_classes, backbone_weights) -> keras.Model``."""


def default_architecture_config(name: str) -> dict[str, Any]:
    """Return the default hyper-parameters of an architecture.

    Args:
        name: A key of [`ARCHITECTURES`][emotionkit.models.ARCHITECTURES].

    Returns:
        A new dictionary with ``"name"`` and the architecture's settings.

    Raises:
        ValueError: If the name is unknown.

    Examples:
        >>> default_architecture_config("convnet")["input_size"]
        48
    """
    defaults: dict[str, dict[str, Any]] = {
        "mobilenetv2": {"input_size": 48, "backbone_size": 96, "alpha": 0.35, "dropout": 0.2},
        "mobilenet": {"input_size": 48, "backbone_size": 128, "alpha": 0.25, "dropout": 0.2},
        "convnet": {"input_size": 48, "widths": [32, 64, 128, 256], "convs_per_stage": 2, "dropout": 0.3},
        "resnet": {"input_size": 48, "widths": [32, 64, 128, 256], "blocks_per_stage": 2, "dropout": 0.3},
    }
    if name not in defaults:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    return {"name": name, **defaults[name]}


def build_model(architecture: Mapping[str, Any], num_classes: int, backbone_weights: str | None = None) -> keras.Model:
    """Build a classifier from an architecture config.

    Args:
        architecture: ``{"name": ..., "input_size": ..., ...}``, as stored under
            ``"architecture"`` in a model folder's ``config.json``.
        num_classes: Number of output classes.
        backbone_weights: Optional path of ImageNet backbone weights (legacy
            ``.h5``) for architectures that have a pretrained backbone.

    Returns:
        An uncompiled Keras model mapping ``(N, S, S, 1)`` faces to probabilities.

    Raises:
        ValueError: If the architecture name is unknown or the config is invalid.

    Examples:
        >>> model = build_model({"name": "convnet", "input_size": 48, "widths": [8, 16]}, 7)
        >>> model.output_shape
        (None, 7)
    """
    name = architecture.get("name")
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
    return ARCHITECTURES[name](architecture, num_classes, backbone_weights)
