"""``emotionkit-train``: train a model folder from a recipe, and keep the teacher bank.

```bash
emotionkit-train --recipe RECIPE --output MODEL --bank-name NAME   # train (resumable); NAME: add it to the bank
emotionkit-train bank add MODEL --name NAME --member 0             # add a trained model (or ensemble member)
emotionkit-train bank select --max-size 8                           # greedy ensemble selection on PublicTest
emotionkit-train bank list
emotionkit-train bank fit [NAME ...]                                # do distilled members follow their teachers?
emotionkit-train bank views MODEL --name NAME                       # its probabilities on 8 augmented views per face
emotionkit-train calibrate MODEL OUTPUT                             # class offsets fitted on PublicTest
emotionkit-train park RUN_DIR training/checkpoints/NAME             # an unfinished run, small enough to commit
emotionkit-train --recipe RECIPE --run-dir RUN --resume-from training/checkpoints/NAME --output MODEL
emotionkit-train --recipe RECIPE --run-dir RUN --output MODEL --stop-after 100 --park-to training/checkpoints/NAME
```

A recipe with ``bank_teachers`` distils a student from those bank members, one with ``view_teachers`` from
their stored augmented views (consistent teaching; see the training guide).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from emotionkit.train.bank import Fer2013Index
    from emotionkit.train.data import FaceDataset
    from emotionkit.train.trainer import TrainConfig
    from emotionkit.train.views import ViewPlan, ViewTargets

__all__ = ["DEFAULT_BANK", "data_root", "main", "resolve_recipe"]

DEFAULT_BANK = Path("training") / "teachers"
"""Where the repository keeps its teacher bank (relative to the working directory)."""


def data_root() -> Path | None:
    """Return ``$EMOTIONKIT_DATA`` (the folder holding ``data/fer2013`` and ``weights/``), or ``None``.

    Returns:
        The folder named by the variable, or ``None`` when it is unset.

    Examples:
        >>> data_root() is None or data_root().name != ""
        True
    """
    env = os.environ.get("EMOTIONKIT_DATA")
    return Path(env) if env else None


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
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bank"]:
        return _bank_main(argv[1:])
    if argv[:1] == ["park"]:
        return _park_main(argv[1:])
    if argv[:1] == ["calibrate"]:
        return _calibrate_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="emotionkit-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipe", default="default", help="bundled recipe name or JSON file (default: default)")
    parser.add_argument(
        "--data",
        type=Path,
        help="FER-2013 folder, or a root/<class>/ image folder with --folder (default: $EMOTIONKIT_DATA/data/fer2013)",
    )
    parser.add_argument("--folder", action="store_true", help="--data is a root/<class>/ folder; 10%% held out")
    parser.add_argument(
        "--weights-dir", type=Path, help="folder of ImageNet backbone weights (default: $EMOTIONKIT_DATA/weights)"
    )
    parser.add_argument("--run-dir", type=Path, default=Path("runs/default"), help="checkpoints and logs (resumable)")
    parser.add_argument(
        "--resume-from", type=Path, help="a parked run (emotionkit-train park) to copy into a new --run-dir first"
    )
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
    parser.add_argument(
        "--bank", type=Path, default=DEFAULT_BANK, help=f"teacher bank folder (default: {DEFAULT_BANK})"
    )
    parser.add_argument("--bank-name", help="after training, add the model to the teacher bank under this name")
    parser.add_argument(
        "--bank-views", action="store_true", help="with --bank-name: also store its probabilities on the views"
    )
    parser.add_argument(
        "--stop-after",
        type=float,
        metavar="MINUTES",
        help="stop at the end of the first epoch that ends this long after the start (exit code 3 if epochs remain)",
    )
    parser.add_argument(
        "--park-to", type=Path, help="with --stop-after: park the paused run in this folder (replacing it)"
    )
    parser.add_argument("--verbose", default="auto", help="Keras progress: auto, 0, 1 or 2")
    args = parser.parse_args(argv)
    if args.stop_after is not None and not args.stop_after >= 0:
        parser.error(f"--stop-after takes minutes >= 0, got {args.stop_after}")
    if args.park_to is not None and args.stop_after is None:
        parser.error("--park-to parks a run that --stop-after paused: give both")
    from emotionkit.train.data import load_fer2013_folder, load_image_folder, mix_ferplus_votes
    from emotionkit.train.trainer import TrainConfig  # imports Keras: after argument parsing

    try:
        recipe = TrainConfig.from_file(resolve_recipe(args.recipe))
        if args.epochs is not None:
            recipe.epochs = args.epochs
        if args.head_epochs is not None:
            recipe.head_epochs = args.head_epochs
        if args.seed is not None:
            recipe.seed = args.seed
        if args.seed is not None or args.teacher:  # one model (this seed, or taught), even from an ensemble recipe
            recipe.ensemble = []
        if args.stop_after is not None and recipe.ensemble:
            raise ValueError("--stop-after pauses one network's training; this recipe trains an ensemble")
        root = data_root()
        if recipe.backbone_weights:
            weights = Path(recipe.backbone_weights)
            if not weights.is_absolute():
                folder = args.weights_dir or (root / "weights" if root else None)
                if folder is None:
                    raise FileNotFoundError(f"the recipe needs {weights}: give --weights-dir or set EMOTIONKIT_DATA")
                weights = folder / weights
            if not weights.is_file():
                raise FileNotFoundError(f"backbone weights not found: {weights} (set --weights-dir)")
            recipe.backbone_weights = str(weights)
        data = _fer2013_folder(args.data)
        if data is None:
            raise FileNotFoundError("no training data: give --data FOLDER or set EMOTIONKIT_DATA")
        val_ds: FaceDataset | None
        if args.folder:
            full = load_image_folder(data)
            order = np.random.default_rng(recipe.seed).permutation(len(full))
            cut = max(1, len(full) // 10)
            train_ds, val_ds = full.subset(order[cut:]), full.subset(order[:cut])
        else:
            train_ds = load_fer2013_folder(data, "Training")
            val_ds = load_fer2013_folder(data, "PublicTest")
        if recipe.train_on_validation:  # a final fit: the validation images train too, and nothing validates
            train_ds, val_ds = train_ds.concatenate(val_ds), None
        if recipe.ferplus_weight and not args.folder:
            train_ds = mix_ferplus_votes(train_ds, data / "ferplus.csv", recipe.ferplus_weight)
        if args.resume_from is not None:  # last: a bad recipe or data path leaves the run folder untouched
            from emotionkit.train.checkpoint import resume_run

            resume_run(args.resume_from, args.run_dir)
            print(f"resuming the run parked in {args.resume_from} in {args.run_dir}", flush=True)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"emotionkit-train: error: {exc}", file=sys.stderr)
        return 2
    train_ds = train_ds.sample(args.limit or 0, recipe.seed)
    validating = "no validation (train_on_validation)" if val_ds is None else f"validating on {len(val_ds)}"
    print(f"training on {len(train_ds)} images {train_ds.counts()}, {validating}", flush=True)
    verbose: int | str = int(args.verbose) if args.verbose.isdigit() else "auto"
    if not recipe.ensemble:
        try:
            taught = _distilled(recipe, train_ds, args.teacher or [])
            if (args.bank_name or recipe.bank_teachers or recipe.view_teachers) and args.folder:
                raise ValueError(
                    "the teacher bank holds FER-2013 probabilities: --bank-name and bank or view"
                    " teachers need FER-2013 data, not --folder"
                )
            if args.bank_views and not args.bank_name:
                raise ValueError("--bank-views stores the views of the model added with --bank-name: give both")
            index = _fer2013_index(data) if args.bank_name or recipe.bank_teachers or recipe.view_teachers else None
            views = None
            if index is not None and (recipe.bank_teachers or recipe.view_teachers):
                rows = _bank_rows(train_ds, data, index)
                if recipe.bank_teachers:
                    taught = _bank_distilled(recipe, taught, index, rows, args.bank)
                if recipe.view_teachers:
                    views = _view_targets(recipe, taught, index, rows, args.bank)
        except (FileNotFoundError, ValueError) as exc:
            print(f"emotionkit-train: error: {exc}", file=sys.stderr)
            return 2
        started = _first_commit(args.run_dir)
        from emotionkit.train.trainer import TrainingPaused

        budget = None if args.stop_after is None else args.stop_after * 60
        try:
            summary = _train_model(
                recipe, taught, val_ds, args.run_dir, args.output, verbose, args.teacher or [], views, budget
            )
        except TrainingPaused as paused:
            print(f"emotionkit-train: {paused}", flush=True)
            if args.park_to is not None:
                from emotionkit.train.checkpoint import park_run

                try:
                    parked = park_run(args.run_dir, args.park_to, overwrite=True)
                except ValueError as exc:  # too big to park: the run folder still holds its backup
                    print(f"emotionkit-train: error: {exc}", file=sys.stderr)
                    return 2
                kept = f"{parked.size_bytes / 1e6:.1f} MB, left out: {', '.join(parked.left_out) or 'nothing'}"
                print(f"parked in {parked.folder} ({kept}); go on with --resume-from {parked.folder}", flush=True)
            return 3
        if args.bank_name:
            history = [json.loads(x) for x in (args.run_dir / "history.jsonl").read_text().splitlines() if x.strip()]
            meta = {"wall_time_s": round(sum(row.get("seconds", 0.0) for row in history)), "commit": started}
            assert index is not None  # loaded above whenever --bank-name is given
            path = _add_to_bank(args.output, index, args.bank, args.bank_name, meta)
            summary["bank"] = str(path)
            if args.bank_views:
                summary["views"] = str(_add_views(args.output, index, args.bank, args.bank_name, {"commit": started}))
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


def _fer2013_index(data: Path) -> Fer2013Index:
    """Every FER-2013 image under ``data`` in bank order: loaded once per command, then passed to each step."""
    from emotionkit.train.bank import Fer2013Index

    return Fer2013Index.load(data)


def _bank_rows(train_ds: FaceDataset, data: Path, index: Fer2013Index) -> np.ndarray:
    """Each training image's row in the bank's image index (``data`` is the folder the index was loaded from)."""
    position = {p: i for i, p in enumerate(index.data.paths)}
    try:
        return np.array([position[Path(p).relative_to(data).as_posix()] for p in train_ds.paths])
    except (KeyError, ValueError):
        raise ValueError(f"the training images are not all FER-2013 images under {data}") from None


def _bank_distilled(
    recipe: TrainConfig, train_ds: FaceDataset, index: Fer2013Index, rows: np.ndarray, bank: Path
) -> FaceDataset:
    """The training set with distillation targets from the recipe's bank members (``rows``: from ``_bank_rows``)."""
    from emotionkit.train.bank import calibrate_members, load_bank, teacher_targets
    from emotionkit.train.distill import distillation_targets

    members = load_bank(bank, index)
    if recipe.calibrate_teachers:
        members = calibrate_members(members, index)
    teacher = teacher_targets(members, recipe.bank_teachers, rows)
    calibrated = " calibrated on PublicTest" if recipe.calibrate_teachers else ""
    print(f"distilling from bank members {', '.join(recipe.bank_teachers)}{calibrated} ({bank})", flush=True)
    return distillation_targets(train_ds, teacher, recipe.distill_weight, recipe.distill_temperature)


def _view_targets(
    recipe: TrainConfig, train_ds: FaceDataset, index: Fer2013Index, rows: np.ndarray, bank: Path
) -> ViewTargets:
    """The recipe's view teachers, read from ``bank/views``, for the training images (``rows``: their bank rows)."""
    from emotionkit.train.views import ViewTargets, load_view_teacher

    teacher = load_view_teacher(bank / "views", recipe.view_teachers, index, recipe.calibrate_teachers)
    faces = np.asarray(train_ds.images)
    if faces.dtype != np.uint8 or faces.ndim != 3:
        raise ValueError(f"view teaching needs the raw uint8 faces (N, H, W), got {faces.dtype} {faces.shape}")
    calibrated = " calibrated on PublicTest" if recipe.calibrate_teachers else ""
    print(
        f"consistent teaching from view members {', '.join(recipe.view_teachers)}{calibrated}"
        f" ({teacher.plan.count} views per face, weight {recipe.view_weight})",
        flush=True,
    )
    size = int(recipe.architecture["input_size"])
    return ViewTargets(faces, rows, teacher, recipe.view_weight, recipe.distill_temperature, size)


def _add_views(
    model: Path, index: Fer2013Index, bank: Path, name: str, meta: dict[str, Any], plan: ViewPlan | None = None
) -> Path:
    """Compute a model's probabilities on every view of every FER-2013 image and write them to ``bank/views``."""
    from emotionkit.recognizer import EmotionRecognizer
    from emotionkit.train.views import ViewPlan, view_probabilities, write_view_member

    plan = plan or ViewPlan()
    recognizer = EmotionRecognizer.from_pretrained(model)
    if tuple(recognizer.labels) != tuple(index.data.classes):
        raise ValueError(f"{model} predicts {recognizer.labels}, the bank holds {index.data.classes}")
    probs = view_probabilities(recognizer, np.asarray(index.data.images), np.arange(len(index.data)), plan)
    path = write_view_member(
        bank / "views", name, probs, index, plan, {"source": str(model), "commit": _commit(), **meta}
    )
    public = index.mask("PublicTest")
    accuracy = float(np.mean(probs[:, public].argmax(-1) == index.data.labels[public]))
    print(f"view member {name}: {plan.count} views, PublicTest accuracy on the views {accuracy:.4f}", flush=True)
    return path


def _commit() -> str:
    """The git commit of the working tree (``+dirty`` when it has changes), or ``unknown``."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _first_commit(run_dir: Path) -> str:
    """The commit the run started from (kept in ``run_dir/commit.txt``, so a resumed run keeps its first one)."""
    record = run_dir / "commit.txt"
    if not record.is_file():
        run_dir.mkdir(parents=True, exist_ok=True)
        record.write_text(_commit() + "\n")
    return record.read_text().strip()


def _add_to_bank(
    model: Path, index: Fer2013Index, bank: Path, name: str, meta: dict[str, Any], member: int | None = None
) -> Path:
    """Compute a model's flip-averaged probabilities on all of FER-2013 and write its bank entry.

    The sidecar's provenance (training record, recipe, seed, epochs, architecture) comes from the model's
    config; ``meta`` adds what the config cannot know (wall time, a note, another commit).
    """
    from emotionkit import __version__
    from emotionkit.backend import backend_name
    from emotionkit.recognizer import EmotionRecognizer
    from emotionkit.train.bank import member_probabilities, write_member

    recognizer = EmotionRecognizer.from_pretrained(model)
    training = recognizer.config.training or {}
    if member is not None:
        from emotionkit.models import build_model

        arch = recognizer.config.architecture
        if arch.get("name") != "ensemble" or not 0 <= member < len(arch["members"]):
            raise ValueError(f"{model} is not an ensemble with a member {member}")
        ensemble = recognizer.model
        single = build_model(arch["members"][member], len(recognizer.labels))
        single.set_weights(ensemble.get_layer(f"member{member}").get_weights())
        config = recognizer.config.replace(architecture=arch["members"][member])
        recognizer = recognizer.with_model(single, config, source=f"{model} member {member}")
        members = training.get("members") or []
        training = members[member] if member < len(members) else {}
    recipe: dict[str, Any] = training["recipe"] if isinstance(training.get("recipe"), dict) else {}
    probs = member_probabilities(recognizer, index)
    full = {
        "source": str(model) + (f" (ensemble member {member})" if member is not None else ""),
        "architecture": recognizer.config.architecture,
        "commit": _commit(),
        "emotionkit_version": __version__,
        "backend": backend_name(),
        "training": training or None,
        **({"recipe": recipe, "seed": recipe.get("seed"), "epochs": recipe.get("epochs")} if recipe else {}),
        "trained_on": ["Training", "PublicTest"] if recipe.get("train_on_validation") else ["Training"],
        **meta,
    }
    path = write_member(bank, name, probs, index, full)
    accuracy = json.loads(path.with_suffix(".json").read_text())["public_test_accuracy"]
    shown = "not measured (it trained on PublicTest)" if accuracy is None else f"{accuracy:.4f}"
    print(f"bank member {name}: PublicTest accuracy {shown}", flush=True)
    return path


def _fer2013_folder(given: Path | None) -> Path | None:
    """``--data``, else ``$EMOTIONKIT_DATA/data/fer2013``, else ``None``."""
    root = data_root()
    return given or (root / "data" / "fer2013" if root else None)


def _park_main(argv: list[str]) -> int:
    """``emotionkit-train park RUN_DIR DEST``: keep an unfinished run in a small, committable folder."""
    from emotionkit.train.checkpoint import OPTIMIZER_STATES, PARK_LIMIT_BYTES, park_run

    parser = argparse.ArgumentParser(
        prog="emotionkit-train park",
        description="Copy what resuming a run needs (and what else fits) into a folder under a size limit.",
    )
    parser.add_argument("run_dir", type=Path, help="the run folder (--run-dir of the training)")
    parser.add_argument("dest", type=Path, help="the folder to write (e.g. training/checkpoints/NAME)")
    parser.add_argument("--max-mb", type=float, default=PARK_LIMIT_BYTES / 1e6, help="size limit in MB (default: 10)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier parking of the run")
    parser.add_argument(
        "--optimizer-state",
        choices=OPTIMIZER_STATES,
        default="auto",
        help="keep the optimizer moments exact, compact (float16 signed square roots) or auto: exact when they fit",
    )
    args = parser.parse_args(argv)
    try:
        parked = park_run(
            args.run_dir,
            args.dest,
            int(args.max_mb * 1e6),
            overwrite=args.overwrite,
            optimizer_state=args.optimizer_state,
        )
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"emotionkit-train park: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"parked {parked.epochs_done} epochs in {parked.folder} ({parked.size_bytes / 1e6:.1f} MB, "
        f"{parked.optimizer_state} optimizer state); "
        f"left out: {', '.join(parked.left_out) or 'nothing'}"
    )
    return 0


def _calibrate_main(argv: list[str]) -> int:
    """``emotionkit-train calibrate MODEL OUTPUT``: class offsets fitted on a FER-2013 validation split."""
    parser = argparse.ArgumentParser(
        prog="emotionkit-train calibrate",
        description="Fit per-class offsets on a validation split and write a calibrated copy of a model folder.",
    )
    parser.add_argument("model", type=Path, help="model folder of one network")
    parser.add_argument("output", type=Path, help="calibrated model folder to write")
    parser.add_argument("--data", type=Path, help="FER-2013 folder (default: $EMOTIONKIT_DATA/data/fer2013)")
    parser.add_argument(
        "--split",
        default="PublicTest",
        choices=["PublicTest", "Training"],
        help="split to fit on (default: PublicTest)",
    )
    args = parser.parse_args(argv)
    data = _fer2013_folder(args.data)
    from emotionkit.train.calibrate import calibrate_model_folder
    from emotionkit.train.data import load_fer2013_folder

    try:
        if data is None:
            raise FileNotFoundError("give --data FOLDER or set EMOTIONKIT_DATA")
        split = load_fer2013_folder(data, args.split)
        done = calibrate_model_folder(args.model, split, args.output, name=f"FER-2013 {args.split}")
    except (FileNotFoundError, ValueError) as exc:
        print(f"emotionkit-train calibrate: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"class offsets {dict(zip(split.classes, (round(b, 2) for b in done.bias)))}: {args.split} accuracy "
        f"{done.accuracy_before:.2%} -> {done.accuracy_after:.2%}; wrote {done.folder}"
    )
    return 0


def _bank_main(argv: list[str]) -> int:
    """``emotionkit-train bank add|select|list|fit|views``."""
    parser = argparse.ArgumentParser(prog="emotionkit-train bank", description="Keep the teacher bank.")
    sub = parser.add_subparsers(dest="verb", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--bank", type=Path, default=DEFAULT_BANK, help=f"bank folder (default: {DEFAULT_BANK})")
    common.add_argument("--data", type=Path, help="FER-2013 folder (default: $EMOTIONKIT_DATA/data/fer2013)")
    add = sub.add_parser("add", parents=[common], help="add a trained model folder to the bank")
    add.add_argument("model", type=Path, help="model folder")
    add.add_argument("--name", required=True, help="member name (file stem)")
    add.add_argument("--member", type=int, help="add only this member of an ensemble model folder")
    add.add_argument("--wall-time", type=float, help="training wall time in seconds, for the sidecar")
    add.add_argument("--commit", help="commit that trained the model (default: this checkout's)")
    add.add_argument("--note", help="free text for the sidecar")
    select = sub.add_parser("select", parents=[common], help="greedy ensemble selection on PublicTest")
    select.add_argument("--max-size", type=int, default=8, help="most members, repeats counted (default: 8)")
    select.add_argument("--output", type=Path, help="write the selection as JSON here")
    select.add_argument(
        "--by", choices=["log-loss", "accuracy"], default="log-loss", help="what to optimise on PublicTest"
    )
    select.add_argument(
        "--calibrated",
        action="store_true",
        help="class-bias calibrate each member on PublicTest first (recipe key calibrate_teachers)",
    )
    sub.add_parser("list", parents=[common], help="list the members and their PublicTest accuracy")
    fit = sub.add_parser("fit", parents=[common], help="how closely members distilled from the bank follow it")
    fit.add_argument("names", nargs="*", help="members (default: every member whose recipe names bank_teachers)")
    fit.add_argument("--split", choices=["Training", "PublicTest"], default="Training", help="default: Training")
    views = sub.add_parser(
        "views", parents=[common], help="store a model's probabilities on augmented views (consistent teaching)"
    )
    views.add_argument("model", type=Path, help="model folder")
    views.add_argument("--name", required=True, help="member name (file stem in BANK/views)")
    views.add_argument("--count", type=int, default=8, help="views per image (default: 8)")
    views.add_argument("--seed", type=int, default=0, help="seed of the views (default: 0; members must share it)")
    args = parser.parse_args(argv)
    data = _fer2013_folder(args.data)
    try:
        if args.verb == "list":
            from emotionkit.train.bank import load_bank

            for m in load_bank(args.bank):
                arch = m.meta.get("architecture", {}).get("name", "?")
                accuracy = m.meta.get("public_test_accuracy")
                shown = "trained on it" if m.trained_on_public_test or accuracy is None else f"{accuracy:.4f}"
                print(f"{m.name}\t{arch}\tPublicTest {shown}")
            return 0
        if data is None:
            raise FileNotFoundError("give --data FOLDER or set EMOTIONKIT_DATA")
        index = _fer2013_index(data)
        if args.verb == "add":
            meta: dict[str, Any] = {}
            if args.wall_time is not None:
                meta["wall_time_s"] = args.wall_time
            if args.note:
                meta["note"] = args.note
            if args.commit:
                meta["commit"] = args.commit
            _add_to_bank(args.model, index, args.bank, args.name, meta, args.member)
            return 0
        if args.verb == "fit":
            return _fit(args.bank, index, args.names, args.split)
        if args.verb == "views":
            from emotionkit.train.views import ViewPlan

            _add_views(args.model, index, args.bank, args.name, {}, ViewPlan(count=args.count, seed=args.seed))
            return 0
        return _select(args.bank, data, index, args.max_size, args.output, args.by.replace("-", "_"), args.calibrated)
    except (FileNotFoundError, ValueError) as exc:
        print(f"emotionkit-train bank: error: {exc}", file=sys.stderr)
        return 2


def _select(
    bank: Path,
    data: Path,
    index: Fer2013Index,
    max_size: int,
    output: Path | None,
    criterion: str,
    calibrated: bool,
) -> int:
    """Print the members, the greedy PublicTest selection, and PrivateTest figures (reported, never used).

    ``index`` is FER-2013 loaded from ``data``; ``data`` also holds the FER+ votes.
    """
    from emotionkit.train.bank import calibrate_members, load_bank, select_ensemble, teacher_targets
    from emotionkit.train.data import ferplus_majority

    members = load_bank(bank, index)
    if calibrated:
        members = calibrate_members(members, index)
        print("every member class-bias calibrated on PublicTest (recipe key calibrate_teachers)")
    public, private = index.mask("PublicTest"), index.mask("PrivateTest")
    majority = ferplus_majority(index.data, data / "ferplus.csv")[private] if (data / "ferplus.csv").is_file() else None
    kept = majority >= 0 if majority is not None else None

    def scores(names: Sequence[str]) -> tuple[float, float, float | None]:
        """PublicTest, PrivateTest and PrivateTest FER+ majority accuracy of the mean of ``names``."""
        pub = float(np.mean(teacher_targets(members, names, public).argmax(1) == index.data.labels[public]))
        probs = teacher_targets(members, names, private)
        priv = float(np.mean(probs.argmax(1) == index.data.labels[private]))
        ferplus = None
        if majority is not None and kept is not None and kept.any():
            ferplus = float(np.mean(probs[kept].argmax(1) == majority[kept]))
        return pub, priv, ferplus

    def row(
        label: str, detail: str, figures: tuple[float, float, float | None], trained_on_public: bool = False
    ) -> str:
        pub, priv, ferplus = figures
        shown = "n/a" if ferplus is None else f"{ferplus:.2%}"
        public_cell = "trained on it" if trained_on_public else f"{pub:.2%}"
        return f"| {label} | {detail} | {public_cell} | {priv:.2%} | {shown} |"

    count = "" if kept is None else f" ({int(kept.sum())} images)"
    print(f"| member | architecture | PublicTest | PrivateTest | FER+ majority, PrivateTest{count} |")
    print("|---|---|---|---|---|")
    for m in members:
        architecture = str(m.meta.get("architecture", {}).get("name", "?"))
        print(row(m.name, architecture, scores([m.name]), m.trained_on_public_test))
    selection = select_ensemble(members, index, max_size=max_size, criterion=criterion)
    chosen = scores(selection.members)
    print(row("greedy selection", " + ".join(selection.members), chosen))
    print(
        "(flip-averaged probabilities; selection reads PublicTest only, the other columns are reported; "
        "members that trained on PublicTest are never selected)"
    )
    print(f"\ngreedy selection on PublicTest ({criterion.replace('_', '-')}; PublicTest accuracy after each step):")
    for name, step_accuracy in selection.steps:
        print(f"  + {name}: {step_accuracy:.2%}")
    _, accuracy, ferplus = chosen
    print(
        f"chosen ensemble {list(selection.members)}: PublicTest {selection.public_accuracy:.2%}, "
        f"PrivateTest {accuracy:.2%} (reported, never used to choose)"
    )
    if output:
        output.write_text(
            json.dumps(
                {
                    "criterion": criterion,
                    "calibrated_on": "PublicTest" if calibrated else None,
                    "members": list(selection.members),
                    "steps": [list(step) for step in selection.steps],
                    "public_test_accuracy": selection.public_accuracy,
                    "private_test_accuracy": accuracy,
                    "private_test_ferplus_majority_accuracy": ferplus,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


def _fit(bank: Path, index: Fer2013Index, names: Sequence[str], split: str) -> int:
    """Print each distilled member's accuracy, its teachers' and their agreement on one split."""
    from emotionkit.train.bank import load_bank, student_fit

    members = load_bank(bank, index)
    names = list(names) or [m.name for m in members if (m.meta.get("recipe") or {}).get("bank_teachers")]
    if not names:
        raise ValueError(f"no member of {bank} was distilled from the bank")
    print(f"| student | teachers | {split}: student accuracy | teachers' mean accuracy | agreement |")
    print("|---|---|---|---|---|")
    for name in names:
        fit = student_fit(members, index, name, split)
        teachers = f"{len(fit.teachers)}{', calibrated' if fit.calibrated_teachers else ''}"
        print(
            f"| {fit.student} | {teachers} | {fit.student_accuracy:.2%} | {fit.teachers_accuracy:.2%} | "
            f"{fit.agreement:.2%} |"
        )
    print(f"({split}, {fit.images} images; teachers: the members each recipe named, a repeat weighing more)")
    return 0


def _recipe_dict(recipe: TrainConfig) -> dict[str, Any]:
    """The recipe as stored in a model config (backbone weights by file name, not local path)."""
    recipe_dict = recipe.to_dict()
    if recipe.backbone_weights:
        recipe_dict["backbone_weights"] = Path(recipe.backbone_weights).name
    return recipe_dict


def _train_model(
    recipe: TrainConfig,
    train_ds: FaceDataset,
    val_ds: FaceDataset | None,
    run_dir: Path,
    output: Path,
    verbose: int | str,
    teachers: list[Path] | None = None,
    views: ViewTargets | None = None,
    time_budget_s: float | None = None,
) -> dict[str, Any]:
    """Train one classifier and write its model folder (recording any ``--teacher`` folders); returns the summary.

    Raises ``TrainingPaused`` (nothing written) when ``time_budget_s`` ends the run before its last epoch.
    """
    from emotionkit import __version__
    from emotionkit.config import ModelConfig, Preprocessing
    from emotionkit.model_files import write_model_folder
    from emotionkit.train.trainer import train

    result = train(recipe, train_ds, val_ds, run_dir, verbose=verbose, views=views, time_budget_s=time_budget_s)
    summary: dict[str, Any] = {  # a final fit (train_on_validation) has no best epoch: both are None (null)
        "best_epoch": result.best_epoch,
        "best_val_accuracy": result.best_val_accuracy,
        "selected": result.selected,
    }
    if result.averaged_epochs:
        summary["averaged_epochs"] = list(result.averaged_epochs)
        summary["averaged_val_accuracy"] = result.averaged_val_accuracy
    config = ModelConfig(
        architecture=result.architecture,
        labels=tuple(train_ds.classes),
        preprocessing=Preprocessing(recipe.face_margin, recipe.face_shift_y),
        emotionkit_version=__version__,
        training={
            "recipe": _recipe_dict(recipe),
            "train_images": len(train_ds),
            "validation_images": 0 if val_ds is None else len(val_ds),
            **({"teachers": [str(t) for t in teachers]} if teachers else {}),
            **summary,
        },
    )
    write_model_folder(result.model, config, output)
    if recipe.calibrate and val_ds is not None:  # TrainConfig rejects calibrate with train_on_validation
        from emotionkit.train.calibrate import calibrate_model_folder

        done = calibrate_model_folder(output, val_ds, output, name="validation split")
        summary["calibration"] = {
            "class_bias": list(done.bias),
            "accuracy": [done.accuracy_before, done.accuracy_after],
        }
        print(f"calibrated: validation accuracy {done.accuracy_before:.4f} -> {done.accuracy_after:.4f}", flush=True)
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
