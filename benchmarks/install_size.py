"""Installed size, import time and first-prediction time of emotionkit with each runtime, in fresh venvs.

    python benchmarks/install_size.py [--extras onnx,tensorflow]

For each extra, creates a venv in a temporary folder, installs this checkout with
``pip install ".[EXTRA]"`` (from the package index or pip's cache), and measures:
the size of the venv's ``site-packages`` (MB, as ``du`` counts it), and in a new
process ``import emotionkit`` plus ``EmotionRecognizer.from_pretrained()`` plus one
``predict`` on the bundled sample photo (seconds, best of 3 cold starts). Prints a
Markdown table. Times depend on the machine and its disk cache; compare the ratios
of one run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import time
start = time.perf_counter()
import emotionkit
from emotionkit.cli import sample_image
imported = time.perf_counter()
rec = emotionkit.EmotionRecognizer.from_pretrained()
faces = rec.predict(sample_image())
done = time.perf_counter()
print(imported - start, done - start, rec.runtime.format, faces[0].label)
"""


def folder_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extras", default="onnx,tensorflow", help="comma-separated extras, one venv each")
    parser.add_argument("--starts", type=int, default=3, help="cold starts timed per venv")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for extra in [e.strip() for e in args.extras.split(",") if e.strip()]:
            venv = Path(tmp) / extra
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            python = venv / "bin" / "python"
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{ROOT}[{extra}]"],
                check=True,
                capture_output=True,
            )
            site = next((venv / "lib").glob("python3*/site-packages"))
            times = []
            for _ in range(args.starts):
                start = time.perf_counter()
                out = subprocess.run(
                    [str(python), "-c", PROBE],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=tmp,
                    env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
                )
                wall = time.perf_counter() - start
                imported, first, runtime, label = out.stdout.split()
                times.append((float(imported), float(first), wall, runtime, label))
            best = min(times, key=lambda t: t[2])
            rows.append((extra, folder_mb(site), *best))
    base = rows[-1]
    print("| install | site-packages | import emotionkit | import + load + first predict | process wall | runtime |")
    print("|---|---|---|---|---|---|")
    for extra, size, imported, first, wall, runtime, label in rows:
        print(
            f'| `pip install "emotionkit[{extra}]"` | {size:,.0f} MB ({size / base[1]:.2f} x) | {imported:.2f} s | '
            f"{first:.2f} s ({first / base[3]:.2f} x) | {wall:.2f} s | {runtime} ({label}) |"
        )


if __name__ == "__main__":
    main()
