"""Where a benchmark's figures go: printed, and kept in benchmarks/results/ for the README to cite."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def publish(lines: Sequence[str], name: str) -> Path:
    """Print the report and write it to ``benchmarks/results/<name>``; the file's path."""
    text = "\n".join(lines)
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    path.write_text(text + "\n")
    return path
