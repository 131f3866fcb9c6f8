"""Real calendar clients for the calendar tests: ical.js under Node, installed once into a cache folder."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ICALJS_DIR = Path(os.environ.get("PLANNER_ICALJS_DIR", Path.home() / ".cache" / "planner-tests" / "icaljs"))


@pytest.fixture(scope="session")
def icaljs() -> Path:
    """The folder whose node_modules holds ical.js 2 (as .ci/run installs it); installed here if missing."""
    if not (ICALJS_DIR / "node_modules" / "ical.js" / "package.json").exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install ical.js for the calendar client tests"
        ICALJS_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--prefix", str(ICALJS_DIR), "--no-audit", "--no-fund", "ical.js@2"],
                       check=True, timeout=300, capture_output=True)
    return ICALJS_DIR
