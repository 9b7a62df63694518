"""scripts/lib.sh: the set-up steps of scripts/run_app.sh and scripts/test.sh, run by bash as those scripts do."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bash(script: str, venv: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f'set -euo pipefail; source "{ROOT}/scripts/lib.sh"; {script}'],
                          env={"PATH": "/usr/bin:/bin", "VENV": str(venv), "HOME": str(venv)},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def installed_venv(tmp_path) -> Path:
    """A virtual environment that has every requirement: this test run's own, reached through links."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("not running in a virtual environment")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(Path(sys.prefix) / "bin" / "python")
    (venv / "pyvenv.cfg").write_text((Path(sys.prefix) / "pyvenv.cfg").read_text())
    (venv / "lib").symlink_to(Path(sys.prefix) / "lib")
    return venv


def test_a_venv_with_every_requirement_is_not_said_to_be_installing(installed_venv):
    # no stamp yet (as after the other script's requirements file, or a changed pin already installed)
    assert not list(installed_venv.glob(".installed-*"))
    done = _bash("ensure_venv requirements.txt", installed_venv)
    assert done.returncode == 0, done.stderr
    assert "Installing" not in done.stderr and done.stdout == ""
    assert len(list(installed_venv.glob(".installed-*"))) == 1  # and the next start only checks the stamp


def test_a_missing_requirement_is_found(installed_venv, tmp_path):
    wheel = tmp_path / "tiny_demo_pkg-1.0-py3-none-any.whl"  # a local wheel: nothing is downloaded
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("tiny_demo_pkg.py", "")
        z.writestr("tiny_demo_pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tiny-demo-pkg\nVersion: 1.0\n")
        z.writestr("tiny_demo_pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                   "Tag: py3-none-any\n")
        z.writestr("tiny_demo_pkg-1.0.dist-info/RECORD", "")
    missing = tmp_path / "missing.txt"
    missing.write_text(f"tiny-demo-pkg @ {wheel.as_uri()}\n")
    assert _bash(f'requirements_missing "{missing}"', installed_venv).returncode == 0
    assert _bash(f'requirements_missing "{ROOT}/requirements.txt"', installed_venv).returncode == 1
