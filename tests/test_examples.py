"""Smoke tests: every example script runs on the bundled sample, the shared clip or tiny data."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from conftest import ASTRONAUT, CAMERA, shared
from hub_server import FakeHub

pytestmark = pytest.mark.slow  # each example runs the real model in a fresh process

EXAMPLES = Path(__file__).parents[1] / "examples"


def run(script: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_predict_image(tmp_path: Path) -> None:
    out = run("predict_image.py", str(ASTRONAUT), "--out", "a.png", cwd=tmp_path)
    assert "happy" in out and cv2.imread(str(tmp_path / "a.png")) is not None


def test_annotate_on_ray(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the Ray example needs Ray Data: pip install 'emotionkit[ray]'")
    import pyarrow.parquet as pq

    photos = tmp_path / "photos"
    photos.mkdir()
    for src in (ASTRONAUT, CAMERA):
        shutil.copy(src, photos / src.name)
    out = run("annotate_on_ray.py", str(photos), "--out", "emotions", "--actors", "1", cwd=tmp_path)
    assert "rows" in out
    table = pq.read_table(tmp_path / "emotions").to_pylist()
    assert {Path(r["input"]).name for r in table} == {"astronaut.png", "camera.png"}
    assert next(r for r in table if r["input"].endswith("astronaut.png"))["label"] == "happy"


def test_batch_folder_to_csv(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for src in (ASTRONAUT, CAMERA):
        shutil.copy(src, photos / src.name)
    run("batch_folder_to_csv.py", str(photos), "--out", "e.csv", "--batch", "1", cwd=tmp_path)
    rows = list(csv.DictReader((tmp_path / "e.csv").open()))
    assert {r["file"] for r in rows} == {"astronaut.png", "camera.png"}
    assert next(r for r in rows if r["file"] == "astronaut.png")["label"] == "happy"


@pytest.mark.data
def test_stream_video(tmp_path: Path) -> None:
    clip = shared("data", "media", "tears_of_steel_0500-0510_640x360.mp4")
    out = run("stream_video.py", str(clip), "--out", "v.mp4", "--max-frames", "30", cwd=tmp_path)
    assert len(out.splitlines()) == 30
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
    cap.release()


@pytest.mark.data
def test_personalize_folder(tmp_path: Path) -> None:
    root = tmp_path / "me"
    jaffe = shared("data", "jaffe-dev")
    for path in sorted(jaffe.glob("*/KL.*.png")):
        (root / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / path.parent.name / path.name)  # temporary copy, deleted with tmp_path
    out = run("personalize_folder.py", str(root), "--out", "mine", cwd=tmp_path)
    assert "PersonalizationReport" in out and (tmp_path / "mine" / "config.json").is_file()


@pytest.mark.data
def test_train_fer2013_tiny_subset(tmp_path: Path) -> None:
    data = shared("data", "fer2013")
    out = run("train_fer2013.py", "--data", str(data), "--out", "m", "--limit", "256", "--epochs", "1", cwd=tmp_path)
    assert "accuracy (7 classes)" in out and (tmp_path / "m" / "model.weights.h5").is_file()


@pytest.fixture()
def fake_hub(tmp_path: Path):
    from emotionkit import EmotionRecognizer

    folder = EmotionRecognizer.from_pretrained().save_pretrained(tmp_path / "published")
    server = FakeHub()
    server.repos["emotionkit-test/default"] = {
        "main": {name: (folder / name).read_bytes() for name in ("config.json", "model.weights.h5", "README.md")}
    }
    server.start()
    yield server
    server.stop()


def test_load_from_hub(fake_hub: FakeHub, tmp_path: Path) -> None:
    env = {"HF_ENDPOINT": fake_hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0"}
    out = run("load_from_hub.py", "emotionkit-test/default", cwd=tmp_path, env=env)
    assert "happy" in out
