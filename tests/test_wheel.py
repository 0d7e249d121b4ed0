"""A wheel installed into a fresh virtual environment works from another
folder (scripts/wheel_smoke.sh; .ci/run runs it after `make test`)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_wheel_smoke():
    result = subprocess.run(["bash", str(ROOT / "scripts" / "wheel_smoke.sh")],
                            env=dict(os.environ, PYTHON=sys.executable),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "wheel smoke test passed" in result.stdout
