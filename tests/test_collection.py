"""Annotating whole collections: rows for every input, batching, videos, resumable outputs, the CLI."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT, CAMERA, write_clip
from emotionkit.collection import AnnotationRow, RowWriter, annotate_collection, annotate_groups, expand_inputs


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    """A folder with two faces, a blank image, a file that is not an image, and a nested folder."""
    root = tmp_path / "photos"
    (root / "nested").mkdir(parents=True)
    shutil.copy(ASTRONAUT, root / "a_astronaut.png")
    shutil.copy(CAMERA, root / "nested" / "b_camera.png")
    cv2.imwrite(str(root / "c_blank.png"), np.zeros((64, 64, 3), np.uint8))
    (root / "d_broken.jpg").write_bytes(b"not a jpeg")
    (root / "notes.txt").write_text("ignored: not an image suffix")
    return root


def _video(path: Path, frames: int = 12) -> Path:
    return write_clip(path, [cv2.imread(str(ASTRONAUT))] * frames)


def test_expand_inputs_walks_folders_and_globs(photos: Path) -> None:
    found = expand_inputs([photos, str(photos / "*.png"), photos / "missing.jpg", str(photos / "*.gif")])
    names = [Path(f).name for f in found]
    assert names == ["a_astronaut.png", "c_blank.png", "d_broken.jpg", "b_camera.png", "missing.jpg", "*.gif"]


def test_every_input_gets_rows_and_batching_matches_predict(tiny_recognizer, photos: Path) -> None:
    groups = list(annotate_groups([photos, photos / "missing.jpg"], tiny_recognizer, batch_size=1000, workers=2))
    by_input = {Path(g[0].input).name: g for g in groups}
    assert [r for g in groups for r in g] == list(
        annotate_collection([photos, photos / "missing.jpg"], tiny_recognizer)
    )
    assert list(by_input) == ["a_astronaut.png", "c_blank.png", "d_broken.jpg", "b_camera.png", "missing.jpg"]
    blank = by_input["c_blank.png"]
    assert len(blank) == 1 and blank[0].face is None and blank[0].error is None and blank[0].label is None
    assert "not a readable image" in (by_input["d_broken.jpg"][0].error or "")
    assert "not found" in (by_input["missing.jpg"][0].error or "")
    face = by_input["a_astronaut.png"][0]
    expected = tiny_recognizer.predict(ASTRONAUT)[0]
    assert face.face == 0 and face.box == expected.box and face.label == expected.label
    np.testing.assert_allclose([p for _, p in face.probabilities], list(expected.probabilities.values()), atol=1e-6)
    assert face.detection_score == pytest.approx(expected.detection_score)


def test_face_crops_skip_detection_like_predict_faces(tiny_recognizer, tmp_path: Path) -> None:
    crops = np.random.default_rng(0).integers(0, 255, (5, 48, 48), dtype=np.uint8)
    for i, crop in enumerate(crops):
        cv2.imwrite(str(tmp_path / f"crop{i}.png"), crop)
    rows = list(annotate_collection([tmp_path], tiny_recognizer, face_crops=True, batch_size=2))
    expected = tiny_recognizer.predict_faces(list(crops))
    assert [r.box for r in rows] == [p.box for p in expected] and all(r.detection_score is None for r in rows)
    got = np.array([[p for _, p in r.probabilities] for r in rows])
    np.testing.assert_allclose(got, [list(p.probabilities.values()) for p in expected], atol=1e-6)


def test_video_rows_have_frames_timestamps_and_tracks(tiny_recognizer, tmp_path: Path) -> None:
    clip = _video(tmp_path / "clip.mp4")
    rows = list(annotate_collection([clip], tiny_recognizer, every=4))
    assert [r.frame for r in rows] == [0, 4, 8]
    assert [r.timestamp for r in rows] == [0.0, 0.4, 0.8]
    assert len({r.track_id for r in rows}) == 1 and rows[0].track_id is not None
    by_fps = list(annotate_collection([clip], tiny_recognizer, fps=5.0))
    assert [r.frame for r in by_fps] == [0, 2, 4, 6, 8, 10]
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert next(annotate_collection([empty], tiny_recognizer)).error


def test_bad_options_are_rejected(tiny_recognizer) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(annotate_collection([ASTRONAUT], tiny_recognizer, every=0))
    with pytest.raises(ValueError, match="fps must be a positive number"):
        list(annotate_collection([ASTRONAUT], tiny_recognizer, fps=-1))
    with pytest.raises(ValueError, match=r"must end in \.csv, \.jsonl, \.parquet"):
        RowWriter("out.xlsx", ["happy"])


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_writer_resumes_and_keeps_a_valid_file(tmp_path: Path, suffix: str) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow", reason="Parquet output needs pyarrow: pip install 'emotionkit[parquet]'")
    out = tmp_path / f"results{suffix}"
    labels = ["happy", "sad"]
    first = RowWriter(out, labels)
    first.write(
        [
            AnnotationRow(
                "a.jpg",
                face=0,
                box=(1, 2, 3, 4),
                label="sad",
                score=0.7,
                probabilities=(("happy", 0.3), ("sad", 0.7)),
                detection_score=0.9,
            )
        ]
    )
    first.write([AnnotationRow("b.jpg", error="broken")])
    first.close()
    second = RowWriter(out, labels)
    assert second.done == {"a.jpg", "b.jpg"}
    second.write([AnnotationRow("c.jpg")])
    second.close()
    rows = _read(out)
    assert [r["input"] for r in rows] == ["a.jpg", "b.jpg", "c.jpg"]
    assert float(rows[0]["p_sad"]) == pytest.approx(0.7) and rows[1]["error"] == "broken"
    with pytest.raises(ValueError, match="other columns"):
        RowWriter(out, ["angry", "happy", "sad"])  # another model's labels
    fresh = RowWriter(out, labels, overwrite=True)
    assert fresh.done == set()
    fresh.close()


def _read(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        with path.open(newline="") as fh:
            return list(csv.DictReader(fh))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def test_cli_annotate_exit_codes_resume_and_interrupt(
    tiny_model_dir: Path, photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from emotionkit.cli import main
    from emotionkit.recognizer import EmotionRecognizer

    out = tmp_path / "rows.csv"
    args = ["annotate", str(photos), "--output", str(out), "--model", str(tiny_model_dir)]
    assert main(args) == 1  # d_broken.jpg failed, the others did not stop
    summary = capsys.readouterr().err
    assert "4 inputs" in summary and "1 failed" in summary
    assert len({r["input"] for r in _read(out)}) == 4
    assert main(args) == 0  # everything is already in the output: nothing to do
    assert "4 already in the output" in capsys.readouterr().err
    assert main([*args[:3], str(tmp_path / "rows.xlsx"), *args[4:]]) == 2
    assert "must end in" in capsys.readouterr().err

    calls = {"n": 0}
    original = EmotionRecognizer.classify

    def interrupted(self, faces, **kwargs):  # Ctrl-C during the second batch
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, faces, **kwargs)

    monkeypatch.setattr(EmotionRecognizer, "classify", interrupted)
    again = tmp_path / "again.jsonl"
    code = main(["annotate", str(photos), "--output", str(again), "--model", str(tiny_model_dir), "--batch-size", "1"])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    kept = _read(again)  # a valid file with what finished
    assert 1 <= len({r["input"] for r in kept}) < 4
    monkeypatch.setattr(EmotionRecognizer, "classify", original)
    assert main(["annotate", str(photos), "--output", str(again), "--model", str(tiny_model_dir)]) == 1
    assert sorted({r["input"] for r in _read(again)}) == sorted(expand_inputs([photos]))
