"""Every Python code block in the README and the docs runs: snippet includes point at tested examples,
the other blocks are executed here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT, shared, write_clip

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
SNIPPET = re.compile(r'^--8<-- "([^":]+)(?::(\w+))?"$')


def copy_frames(source: Path, target: Path, start: int = 100, frames: int = 16) -> None:
    """Copy ``frames`` frames of a video from frame ``start`` on into ``target`` (an mp4)."""
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    read = [cap.read() for _ in range(frames)]
    cap.release()
    assert all(ok for ok, _ in read), f"{source} has fewer than {start + frames} frames"
    write_clip(target, [frame for _, frame in read], fps)


def python_blocks() -> list[tuple[str, int, str]]:
    out = []
    for page in PAGES:
        for i, block in enumerate(BLOCK.findall(page.read_text())):
            out.append((str(page.relative_to(ROOT)), i, block))
    return out


def test_pages_have_python_blocks() -> None:
    assert len(python_blocks()) >= 8


@pytest.mark.parametrize(("page", "index", "code"), python_blocks(), ids=lambda v: str(v)[:40])
def test_python_block_runs_or_includes_a_tested_example(
    page: str, index: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bundled
) -> None:
    lines = [x for x in code.strip().splitlines() if x.strip()]
    includes = [SNIPPET.match(x.strip()) for x in lines]
    if all(includes):
        for match in includes:
            assert match is not None
            target = ROOT / match.group(1)
            assert target.is_file() and target.parent.name == "examples", f"{page}: include {target}"
            if match.group(2):
                assert f"[start:{match.group(2)}]" in target.read_text()
        return
    assert not any(includes), f"{page} block {index} mixes snippet includes and code"
    import huggingface_hub

    class FakeApi:  # push_to_hub in the docs must not reach the network
        def __init__(self, token: str | None = None) -> None:
            pass

        def create_repo(self, *args: object, **kwargs: object) -> None:
            pass

        def upload_folder(self, **kwargs: object) -> str:
            return "https://hub.invalid/commit"

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.chdir(tmp_path)
    for name in ("photo.jpg", "me_happy.jpg", "me_sad.jpg"):
        shutil.copy(ASTRONAUT, tmp_path / name)
    if "clip.mp4" in code:  # 16 frames of the shared clip's close-up face (all 240 are slow on torch)
        copy_frames(shared("data", "media", "tears_of_steel_0500-0510_640x360.mp4"), tmp_path / "clip.mp4")
    namespace = {
        "face_crop": np.zeros((48, 48), np.uint8),
        "rec": bundled.with_classes(None),
    }  # a fresh recognizer sharing the loaded model
    if "runs/a-model" in code:  # the training guide combines two trained model folders
        for name in ("a-model", "b-model"):
            namespace["rec"].save_pretrained(tmp_path / "runs" / name)
    exec(compile(code, f"{page}[{index}]", "exec"), namespace)


def test_readme_quickstart_holds_its_two_commands_and_the_file_is_whole() -> None:
    """CI runs the first two ``bash`` blocks under "## Quickstart" literally; an edit that drops, reorders or
    duplicates them (or doubles the file's text) fails here first, in seconds."""
    text = (ROOT / "README.md").read_text()
    headings = re.findall(r"^#{1,3} .+$", text, re.M)
    assert len(headings) == len(set(headings)), f"README.md repeats headings: {sorted(headings)}"
    assert text.count("## Quickstart") == 1
    commands = re.findall(r"```bash\n(.*?)```", text.split("## Quickstart", 1)[1], re.S)[:2]
    assert len(commands) == 2, f"README.md's quickstart holds {len(commands)} bash blocks, CI needs two"
    run_sample, run_tests = (c.strip() for c in commands)
    for command in (run_sample, run_tests):
        assert "\n" not in command and "pip install" in command, command
    assert run_sample.endswith("emotionkit predict --sample"), run_sample
    assert run_tests.endswith("python -m pytest") and "[test," in run_tests, run_tests
    assert len(text) < 25_000, f"README.md is {len(text)} characters; the details belong in docs/"
