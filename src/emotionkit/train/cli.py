"""``emotionkit-train``: train a model folder on FER-2013 (or an image folder) from a recipe."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotionkit.data_paths import shared_root

if TYPE_CHECKING:
    from emotionkit.train.data import FaceDataset
    from emotionkit.train.trainer import TrainConfig

__all__ = ["main", "resolve_recipe"]


def resolve_recipe(name_or_path: str) -> Path:
    """Return the recipe file for a bundled recipe name (``"default"``) or a path.

    Args:
        name_or_path: A bundled recipe name or a JSON file path.

    Returns:
        The recipe file.

    Raises:
        FileNotFoundError: If neither exists.

    Examples:
        >>> resolve_recipe("default").name
        'default.json'
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = Path(str(resources.files("emotionkit.train") / "recipes" / f"{name_or_path}.json"))
    if bundled.is_file():
        return bundled
    raise FileNotFoundError(f"recipe {name_or_path!r} is neither a file nor a bundled recipe name (e.g. 'default')")


def main(argv: list[str] | None = None) -> int:
    """Run the training command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code.

    Examples:
        >>> main(["--recipe", "default", "--output", "my-model"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="emotionkit-train", description=__doc__)
    parser.add_argument("--recipe", default="default", help="bundled recipe name or JSON file (default: default)")
    parser.add_argument("--data", type=Path, help="FER-2013 folder, or a root/<class>/ image folder with --folder")
    parser.add_argument("--folder", action="store_true", help="--data is a root/<class>/ folder; 10%% held out")
    parser.add_argument("--weights-dir", type=Path, help="folder of ImageNet backbone weights")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/default"), help="checkpoints and logs (resumable)")
    parser.add_argument("--output", type=Path, required=True, help="model folder to write")
    parser.add_argument("--epochs", type=int, help="override the recipe's stage-2 epochs")
    parser.add_argument("--head-epochs", type=int, help="override the recipe's stage-1 epochs")
    parser.add_argument("--seed", type=int, help="override the recipe's seed and train one model (no ensemble)")
    parser.add_argument(
        "--teacher",
        type=Path,
        action="append",
        help="distil from this model folder (repeatable; one model, uses the recipe's distill_weight/temperature)",
    )
    parser.add_argument("--limit", type=int, help="use at most this many training images (smoke tests)")
    parser.add_argument("--verbose", default="auto", help="Keras progress: auto, 0, 1 or 2")
    args = parser.parse_args(argv)
    from emotionkit.train.data import load_fer2013_folder, load_image_folder
    from emotionkit.train.trainer import TrainConfig  # imports Keras: after argument parsing

    try:
        recipe = TrainConfig.from_file(resolve_recipe(args.recipe))
        if args.epochs is not None:
            recipe.epochs = args.epochs
        if args.head_epochs is not None:
            recipe.head_epochs = args.head_epochs
        if args.seed is not None:  # one model with this seed, even if the recipe is an ensemble
            recipe.seed = args.seed
            recipe.ensemble = []
        if recipe.backbone_weights:
            weights = Path(recipe.backbone_weights)
            if not weights.is_absolute():
                weights = (args.weights_dir or shared_root() / "weights") / weights
            if not weights.is_file():
                raise FileNotFoundError(f"backbone weights not found: {weights} (set --weights-dir)")
            recipe.backbone_weights = str(weights)
        data = args.data or shared_root() / "data" / "fer2013"
        if args.folder:
            full = load_image_folder(data)
            order = np.random.default_rng(recipe.seed).permutation(len(full))
            cut = max(1, len(full) // 10)
            train_ds, val_ds = full.subset(order[cut:]), full.subset(order[:cut])
        else:
            train_ds = load_fer2013_folder(data, "Training")
            val_ds = load_fer2013_folder(data, "PublicTest")
    except (FileNotFoundError, ValueError) as exc:
        print(f"emotionkit-train: error: {exc}", file=sys.stderr)
        return 2
    train_ds = train_ds.sample(args.limit or 0, recipe.seed)
    print(f"training on {len(train_ds)} images {train_ds.counts()}, validating on {len(val_ds)}", flush=True)
    verbose: int | str = int(args.verbose) if args.verbose.isdigit() else "auto"
    if args.teacher:
        recipe.ensemble = []
    if not recipe.ensemble:
        try:
            taught = _distilled(recipe, train_ds, args.teacher or [])
        except (FileNotFoundError, ValueError) as exc:
            print(f"emotionkit-train: error: {exc}", file=sys.stderr)
            return 2
        summary = _train_model(recipe, taught, val_ds, args.run_dir, args.output, verbose, args.teacher or [])
        print(json.dumps({"output": str(args.output), **summary}))
        return 0

    from emotionkit.model_files import CONFIG_NAME, WEIGHTS_NAME
    from emotionkit.train.ensemble import combine_model_folders

    members: list[Path] = []
    for i, overrides in enumerate(recipe.ensemble):
        member = TrainConfig(**{**recipe.to_dict(), **overrides, "ensemble": [], "combine": None})
        folder = args.run_dir / f"member{i}-model"
        if (folder / CONFIG_NAME).is_file() and (folder / WEIGHTS_NAME).is_file():
            print(f"member {i}: {folder} exists, not retrained", flush=True)
        else:
            print(f"member {i}: training with {overrides}", flush=True)
            taught = _distilled(member, train_ds, [members[t] for t in member.distill_from])
            _train_model(member, taught, val_ds, args.run_dir / f"member{i}", folder, verbose)
        members.append(folder)
    chosen = [members[i] for i in (recipe.combine if recipe.combine is not None else range(len(members)))]
    if len(chosen) == 1:
        shutil.copytree(chosen[0], args.output, dirs_exist_ok=True)
    else:
        combine_model_folders(chosen, args.output, {"recipe": _recipe_dict(recipe)})
    print(json.dumps({"output": str(args.output), "members": [str(m) for m in chosen]}))
    return 0


def _distilled(recipe: TrainConfig, train_ds: FaceDataset, teachers: list[Path]) -> FaceDataset:
    """The training set with distillation targets from ``teachers`` (unchanged if there are none)."""
    if not teachers:
        return train_ds
    from emotionkit.train.distill import distillation_targets, teacher_probabilities

    print(f"distilling from {', '.join(map(str, teachers))}", flush=True)
    probs = teacher_probabilities(teachers, train_ds)
    return distillation_targets(train_ds, probs, recipe.distill_weight, recipe.distill_temperature)


def _recipe_dict(recipe: TrainConfig) -> dict[str, Any]:
    """The recipe as stored in a model config (backbone weights by file name, not local path)."""
    recipe_dict = recipe.to_dict()
    if recipe.backbone_weights:
        recipe_dict["backbone_weights"] = Path(recipe.backbone_weights).name
    return recipe_dict


def _train_model(
    recipe: TrainConfig,
    train_ds: FaceDataset,
    val_ds: FaceDataset,
    run_dir: Path,
    output: Path,
    verbose: int | str,
    teachers: list[Path] | None = None,
) -> dict[str, Any]:
    """Train one classifier and write its model folder (recording any ``--teacher`` folders); returns the summary."""
    from emotionkit import __version__
    from emotionkit.model_files import default_preprocessing, write_model_folder
    from emotionkit.train.trainer import train

    result = train(recipe, train_ds, val_ds, run_dir, verbose=verbose)
    summary: dict[str, Any] = {
        "best_epoch": result.best_epoch,
        "best_val_accuracy": result.best_val_accuracy,
        "selected": result.selected,
    }
    if result.averaged_epochs:
        summary["averaged_epochs"] = list(result.averaged_epochs)
        summary["averaged_val_accuracy"] = result.averaged_val_accuracy
    config = {
        "architecture": recipe.architecture,
        "labels": list(train_ds.classes),
        "preprocessing": default_preprocessing(
            recipe.architecture["input_size"], recipe.face_margin, recipe.face_shift_y
        ),
        "emotionkit_version": __version__,
        "training": {
            "recipe": _recipe_dict(recipe),
            "train_images": len(train_ds),
            "validation_images": len(val_ds),
            **({"teachers": [str(t) for t in teachers]} if teachers else {}),
            **summary,
        },
    }
    write_model_folder(result.model, config, output)
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
