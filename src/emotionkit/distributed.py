"""The collection job on a Ray cluster, in Ray Data's batch-inference idiom (``pip install "emotionkit[ray]"``).

[`RayAnnotator`][emotionkit.distributed.RayAnnotator] is the callable class that
``Dataset.map_batches`` runs on each actor: it loads the recognizer once (the model ships inside
the package, so workers download nothing) and annotates a batch of input paths with the same
engine as ``emotionkit annotate`` ([`annotate_groups`][emotionkit.collection.annotate_groups]).
[`annotate_dataset`][emotionkit.distributed.annotate_dataset] goes from paths (or a
``ray.data`` dataset with a ``path`` column) to a dataset of rows with the columns of
``emotionkit annotate``, ready for Ray's own ``write_parquet``::

    import ray
    from emotionkit.distributed import annotate_dataset

    ray.init()                                                   # or ray.init("ray://head:10001")
    rows = annotate_dataset(["s3://bucket/photos/..."], concurrency=8, batch_size=64)
    rows.write_parquet("s3://bucket/emotions/")

Paths must be readable where the actors run (a shared file system or object store mount).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from emotionkit.collection import annotate_groups, arrow_schema, expand_inputs

__all__ = ["RayAnnotator", "annotate_dataset"]


class RayAnnotator:
    """Annotate batches of input paths; one instance per Ray actor, holding one recognizer.

    Args:
        model: Preset name, model folder or Hub repo id (default: the bundled model).
        classes: Restrict outputs to these labels.
        runtime: What runs the classifier (see [`emotionkit.runtimes`][emotionkit.runtimes]); ``"onnx"``
            keeps each actor free of a deep-learning framework.
        **options: Options of [`annotate_groups`][emotionkit.collection.annotate_groups]
            (``every``, ``fps``, ``max_faces``, ``face_crops``, ``batch_size``, ``workers``).

    Examples:
        >>> import numpy as np
        >>> annotator = RayAnnotator()
        >>> table = annotator({"path": np.array(["tests/data/astronaut.png"])})
        >>> table.column("label").to_pylist()
        ['happy']
    """

    def __init__(
        self, model: str | None = None, classes: list[str] | None = None, runtime: str = "auto", **options: Any
    ) -> None:
        from emotionkit.recognizer import EmotionRecognizer

        self.recognizer = EmotionRecognizer.from_pretrained(model, classes=classes, runtime=runtime)
        self.options = options
        self.schema = arrow_schema(self.recognizer.labels)

    def __call__(self, batch: dict[str, Any]) -> Any:
        """Annotate one batch: ``{"path": array of paths}`` in, a ``pyarrow.Table`` of rows out.

        Args:
            batch: A Ray Data batch in ``numpy`` format with a ``path`` column.

        Returns:
            The rows of every input of the batch (at least one per input).
        """
        import pyarrow as pa

        paths = [str(p) for p in batch["path"]]
        labels = self.recognizer.labels
        rows = [
            row.to_dict(labels) for group in annotate_groups(paths, self.recognizer, **self.options) for row in group
        ]
        return pa.Table.from_pylist(rows, schema=self.schema)


def annotate_dataset(
    inputs: Iterable[str | Path] | Any,
    *,
    model: str | None = None,
    classes: list[str] | None = None,
    runtime: str = "auto",
    concurrency: int = 1,
    batch_size: int = 64,
    num_cpus: float = 1,
    num_gpus: float = 0,
    **options: Any,
) -> Any:
    """Return a lazy Ray dataset of annotation rows for many inputs.

    Args:
        inputs: Paths, folders and globs (expanded here, on the driver), or a ``ray.data.Dataset``
            with a ``path`` column (e.g. from ``ray.data.read_binary_files(..., include_paths=True)``
            projected to ``path``).
        model: Preset name, model folder or Hub repo id, loaded once per actor.
        classes: Restrict outputs to these labels.
        runtime: What runs the classifier on each actor (see [`emotionkit.runtimes`][emotionkit.runtimes]).
        concurrency: Number of actors (a fixed ``ActorPoolStrategy``; each holds one recognizer).
        batch_size: Inputs per ``map_batches`` batch.
        num_cpus: CPUs reserved per actor (set it to the CPUs a node has per actor).
        num_gpus: GPUs per actor (e.g. 1 on GPU nodes; the Keras backend then uses it).
        **options: Options of [`annotate_groups`][emotionkit.collection.annotate_groups].

    Returns:
        A ``ray.data.Dataset`` with the columns of ``emotionkit annotate``.

    Raises:
        ImportError: If Ray is not installed (the message says what to install).
        ValueError: If ``concurrency`` or ``batch_size`` is below 1.

    Examples:
        >>> rows = annotate_dataset(["photos/"], concurrency=2)  # doctest: +SKIP
        >>> rows.write_parquet("emotions/")  # doctest: +SKIP
    """
    try:
        import ray.data
    except ImportError as exc:
        raise ImportError(f"the Ray integration needs Ray Data: pip install 'emotionkit[ray]' ({exc})") from None
    if concurrency < 1 or batch_size < 1:
        raise ValueError(f"concurrency and batch_size must be at least 1, got {concurrency} and {batch_size}")
    if isinstance(inputs, ray.data.Dataset):
        dataset = inputs
    else:
        dataset = ray.data.from_items([{"path": path} for path in expand_inputs(inputs)])
    return dataset.map_batches(
        RayAnnotator,
        fn_constructor_kwargs={"model": model, "classes": classes, "runtime": runtime, **options},
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=concurrency),  # a fixed pool of actors, each loading the model once
        num_cpus=num_cpus,
        num_gpus=num_gpus,
    )
