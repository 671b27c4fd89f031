"""The collection job on a local Ray cluster gives what the single-machine path gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT, CAMERA

ray = pytest.importorskip("ray", reason="the Ray integration needs Ray Data: pip install 'emotionkit[ray]'")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture()
def collection(tmp_path: Path) -> Path:
    """A few dozen images: faces, blanks, random crops, and one broken file."""
    root = tmp_path / "collection"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        shutil.copy(ASTRONAUT if i % 2 else CAMERA, root / f"photo{i:02d}.png")
    for i in range(24):
        cv2.imwrite(str(root / f"crop{i:02d}.png"), rng.integers(0, 255, (48, 48), dtype=np.uint8))
    cv2.imwrite(str(root / "blank.png"), np.zeros((64, 64, 3), np.uint8))
    (root / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    return root


def _key(row: dict) -> tuple:
    return row["input"], row["face"] if row["face"] is not None else -1


def test_ray_rows_match_the_single_machine_path(local_ray, tiny_model_dir: Path, collection: Path) -> None:
    from emotionkit import EmotionRecognizer
    from emotionkit.collection import annotate_collection
    from emotionkit.distributed import annotate_dataset

    rec = EmotionRecognizer.from_pretrained(tiny_model_dir)
    expected = sorted((r.to_dict(rec.labels) for r in annotate_collection([collection], rec)), key=_key)
    dataset = annotate_dataset([collection], model=str(tiny_model_dir), concurrency=2, batch_size=8)
    got = sorted(dataset.take_all(), key=_key)
    assert [_key(r) for r in got] == [_key(r) for r in expected]
    broken = [r for r in got if r["input"].endswith("broken.jpg")]
    assert len(broken) == 1 and "not a readable image" in broken[0]["error"]
    for a, b in zip(got, expected):
        assert a["label"] == b["label"] and [a[k] for k in "xywh"] == [b[k] for k in "xywh"]
        for name in rec.labels:
            if b[f"p_{name}"] is None:
                assert a[f"p_{name}"] is None
            else:
                assert abs(a[f"p_{name}"] - b[f"p_{name}"]) < 1e-5


def test_cli_annotate_on_ray_writes_the_same_file(local_ray, tiny_model_dir: Path, collection: Path, tmp_path: Path):
    from emotionkit.cli import main

    local, on_ray = tmp_path / "local.csv", tmp_path / "ray.csv"
    base = ["annotate", str(collection), "--model", str(tiny_model_dir), "--quiet"]
    assert main([*base, "--output", str(local)]) == 1  # broken.jpg
    assert main([*base, "--output", str(on_ray), "--ray", "--actors", "2"]) == 1
    import csv

    def rows(path: Path) -> list[dict]:
        with path.open(newline="") as fh:
            return sorted(csv.DictReader(fh), key=lambda r: (r["input"], r["face"]))

    a, b = rows(local), rows(on_ray)
    assert [(r["input"], r["face"], r["label"]) for r in a] == [(r["input"], r["face"], r["label"]) for r in b]
    assert main([*base, "--output", str(on_ray), "--ray"]) == 0  # resumed: nothing left to do
