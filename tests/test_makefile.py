"""``make run`` without Node.js and npm (review #12): the web build is skipped with a note, and
the gateway still starts. Runs make on a copy of the Makefile, in a directory of its own, with a
PATH where no npm is."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def make(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    empty = cwd / "no-npm-bin"
    empty.mkdir(exist_ok=True)
    return subprocess.run(
        [MAKE, "--no-print-directory", *args],
        cwd=cwd,
        env={"PATH": str(empty), "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The Makefile and what its rules name, with no web/dist built."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    web = tmp_path / "web"
    web.mkdir()
    (web / "package.json").write_text("{}")
    (web / "package-lock.json").write_text("{}")
    return tmp_path


def test_without_npm_make_run_skips_the_web_build_with_a_note(checkout: Path) -> None:
    done = make(checkout, "-n", "run")
    assert done.returncode == 0, done.stderr
    assert "note: npm is missing" in done.stdout
    assert "GET / says how to build it" in done.stdout
    # The gateway starts all the same; nothing tries to install or run npm.
    assert done.stdout.rstrip().endswith(".venv/bin/cognito-gate serve")
    assert "npm ci" not in done.stdout
    assert "npm run" not in done.stdout
    assert "apt-get" not in done.stdout


def test_the_web_step_of_make_run_succeeds_without_npm(checkout: Path) -> None:
    done = make(checkout, "web-if-npm")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("note: npm is missing: skipping the demo page's build")
    # With a page built before, it says that page is served.
    (checkout / "web" / "dist").mkdir()
    (checkout / "web" / "dist" / "index.html").write_text("<!doctype html>")
    again = make(checkout, "web-if-npm")
    assert again.returncode == 0
    assert "serves the web/dist built before" in again.stdout


def test_make_test_still_builds_web_first() -> None:
    rules = (ROOT / "Makefile").read_text().splitlines()
    (test,) = [line for line in rules if line.startswith("test:")]
    (wheel,) = [line for line in rules if line.startswith("wheel:")]
    assert " web " in f"{test} "
    assert " web " in f"{wheel} "
