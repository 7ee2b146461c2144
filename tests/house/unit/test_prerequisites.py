"""`make run` and `make test` say first what the machine lacks and how to install it; a test run
ends saying which groups of tests were skipped and what would run them."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from app.services.core import fonts
from tests.support.live_server import ROOT
from tests.support.skipped import summary

SCRIPT = ROOT / "scripts" / "prerequisites.py"
# Machine-independent: what the script checks for is made to be there, or not, by PATH and the
# environment alone; only the commands make itself runs are given.
TOOLS = ("make", "sh", "cat", "sha1sum", "cut")


def _bin(tmp_path: Path, *extra: str) -> Path:
    """A PATH folder with python3 (this Python), the few tools make needs and `extra` fakes."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "python3").symlink_to(sys.executable)
    for tool in filter(shutil.which, TOOLS):
        (folder / tool).symlink_to(shutil.which(tool))
    for name in extra:
        (folder / name).write_text("#!/bin/sh\nexit 0\n")
        (folder / name).chmod(0o755)
    return folder


def _fresh_checkout(tmp_path: Path) -> Path:
    """What a new clone has: no .venv and no node_modules."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "scripts")
    for name in (
        "Makefile",
        "package.json",
        "package-lock.json",
        "requirements.txt",
        "requirements-dev.txt",
        "requirements-dev.lock",
    ):
        shutil.copy(ROOT / name, root)
    return root


def _env(path: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR")}
    return {**keep, "PATH": str(path), **extra}


def _check(mode: str, root: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), mode, "--root", str(root)], env=env, capture_output=True, text=True, timeout=60
    )


def test_make_run_without_npm_stops_before_installing_anything_and_says_what_to_install(tmp_path):
    root = _fresh_checkout(tmp_path)
    # PIP_NO_INDEX: were the check missing, make would go on to install; let that fail at once.
    env = _env(_bin(tmp_path), PIP_NO_INDEX="1")
    result = subprocess.run(
        [shutil.which("make"), "run"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    missing = [line for line in result.stderr.splitlines() if line.startswith("missing:")]
    assert len(missing) == 1, result.stderr
    assert "npm" in missing[0] and "node and npm not found" in missing[0]
    assert "Debian: sudo apt-get install nodejs npm" in missing[0] and "macOS: brew install node" in missing[0]
    assert not (root / ".venv").exists()  # checked first: nothing was installed


def test_npm_is_not_needed_once_the_lockfile_is_installed(tmp_path):
    root = _fresh_checkout(tmp_path)
    (root / "node_modules").mkdir()
    (root / "node_modules" / ".package-lock.json").write_text("{}")
    result = _check("run", root, _env(_bin(tmp_path), LABEL_FONT_PATH=str(fonts.FONT_CANDIDATES[0])))
    assert result.returncode == 0, result.stderr


def test_missing_optional_pieces_warn_one_line_each_and_fail_only_in_ci(tmp_path):
    root = _fresh_checkout(tmp_path)
    env = _env(
        _bin(tmp_path, "node", "npm"),
        LABEL_FONT_PATH=str(tmp_path / "no-such-font.ttc"),
        TEST_REDIS_URL="redis://127.0.0.1:1/0",  # nothing listens on port 1
    )
    result = _check("test", root, env)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith("optional:") and "Debian: " in line and "macOS: " in line for line in lines)
    said = "\n".join(lines)
    for words in (
        "fonts-wqy-zenhei",
        "apt-get install chromium",
        "poppler-utils",
        "redis-server",
        "TEST_DATABASE_URL is not set",
    ):
        assert said.count(words) == 1, (words, said)
    assert "no-such-font.ttc is not a file" in said

    strict = _check("test", root, {**env, "CI": "true"})
    assert strict.returncode == 1 and "make test: stopped" in strict.stderr

    run = _check("run", root, env)  # the server needs only the font of the optional pieces
    assert run.returncode == 0 and [line.split(":")[1] for line in run.stderr.splitlines()] == [
        " a CJK TrueType font (pickup labels and share posters answer 503 without one)"
    ]


def test_an_unknown_mode_is_refused_with_the_usage(tmp_path):
    result = _check("deploy", tmp_path, _env(_bin(tmp_path)))
    assert result.returncode == 2 and "setup|run|test" in result.stderr


def test_the_check_looks_for_the_fonts_where_labels_do():
    spec = importlib.util.spec_from_file_location("prerequisites", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.FONT_CANDIDATES == fonts.FONT_CANDIDATES


def test_skipped_tests_are_summed_up_per_group_with_what_would_run_them():
    reasons = [
        *["PostgreSQL suite: set TEST_DATABASE_URL to run it"] * 812,
        "browser tests need Debian's chromium (apt-get install chromium)",
        "shared-state tests: no Redis at redis://127.0.0.1:6379/15 (Connection refused)",
        "poppler-utils not installed",
        "no CJK font for labels: apt-get install fonts-wqy-zenhei",
        "sample nginx config: nginx is not installed (apt-get install nginx-light)",
        "something nobody planned for",
    ]
    lines = summary(reasons)
    assert lines[0].startswith("label tests (CJK font): 1 skipped. To run them: Debian: sudo apt-get install fonts")
    assert any(line.startswith("browser tests: 1 skipped") and "chromium" in line for line in lines)
    assert any(line.startswith("PostgreSQL suite: 812 skipped") and "TEST_DATABASE_URL=" in line for line in lines)
    assert any(line.startswith("shared-state tests (Redis): 1 skipped") for line in lines)
    assert any(line.startswith("label and document PDF tests (poppler): 1 skipped") for line in lines)
    assert any(line.startswith("sample nginx config: 1 skipped") for line in lines)
    assert lines[-1] == "something nobody planned for: 1 skipped"  # never hidden
    assert len(lines) == 7


def test_a_test_run_ends_with_the_skipped_groups(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TEST_DATABASE_URL")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/core/unit/test_atomic.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout
    tail = result.stdout.strip().splitlines()[-3:]
    assert "skipped groups" in tail[0]
    assert tail[1].startswith("PostgreSQL suite: 2 skipped. To run them:")
    assert "2 passed, 2 skipped" in tail[2]
