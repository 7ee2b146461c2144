"""What `make run` and `make test` need from the machine, checked before they start.

    python3 scripts/prerequisites.py setup|run|test [--root DIR]

Prints one line per missing piece with what to install on Debian and on macOS. A required piece
(Python 3.11+ with venv, Node.js with npm) missing: exit status 1. An optional one (the labels'
CJK font; and for the tests chromium, poppler, nginx, Redis, PostgreSQL, each needed by one group
of tests only) missing: a warning, exit status 0, except under CI (CI set), where the suite fails
those tests rather than skip them and this fails first. Nothing printed when all is there.

Runs on the system's python3 before the virtualenv exists: standard library only, and syntax an
older python3 can still read, to say that it is too old. tests/conftest.py reads PIECES to say
at the end of a test run which groups were skipped and how to turn them on.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from urllib.parse import urlsplit

MIN_PYTHON = (3, 11)
# Where labels and posters look for their CJK TrueType font (app/services/core/fonts.py; a test keeps
# the two lists the same), unless LABEL_FONT_PATH names one.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"  # tests/support/engines.py
EXAMPLE_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class Piece:
    """Something from the machine: what it is for, how to get it, and for the optional ones the
    group of tests that skip without it and words of their skip reason."""

    def __init__(self, key, what, debian, macos, needed_by, group="", skip_words=(), enable=""):
        self.key = key
        self.what = what
        self.debian = debian
        self.macos = macos
        self.needed_by = needed_by  # the modes that need it: setup, run, test
        self.group = group
        self.skip_words = skip_words
        self.enable = enable  # besides installing: what turns its tests on

    def install(self):
        return f"Debian: {self.debian} · macOS: {self.macos}"


PIECES = (
    Piece(
        "python",
        f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ with venv",
        "sudo apt-get install python3 python3-venv",
        "brew install python@3.12",
        ("setup", "run", "test"),
    ),
    Piece(
        "npm",
        "Node.js with npm (npm ci installs the scanner page's QR decoder from the lockfile)",
        "sudo apt-get install nodejs npm",
        "brew install node",
        ("setup", "run", "test"),
    ),
    Piece(
        "font",
        "a CJK TrueType font (pickup labels and share posters answer 503 without one)",
        "sudo apt-get install fonts-wqy-zenhei",
        "brew install --cask font-wenquanyi-zen-hei, then export LABEL_FONT_PATH=~/Library/Fonts/wqy-zenhei.ttc",
        ("run", "test"),
        group="label tests (CJK font)",
        skip_words=("CJK font",),
    ),
    Piece(
        "chromium",
        "Chromium (the browser tests drive it with Playwright)",
        "sudo apt-get install chromium",
        "brew install --cask chromium, then export CHROMIUM_PATH=/Applications/Chromium.app/Contents/MacOS/Chromium",
        ("test",),
        group="browser tests",
        skip_words=("chromium",),
    ),
    Piece(
        "poppler",
        "poppler's pdftotext and pdftoppm (the label and document tests read the PDFs back)",
        "sudo apt-get install poppler-utils",
        "brew install poppler",
        ("test",),
        group="label and document PDF tests (poppler)",
        skip_words=("poppler",),
    ),
    Piece(
        "nginx",
        "nginx (the sample proxy config is run in front of two app hosts)",
        "sudo apt-get install nginx-light",
        "brew install nginx",
        ("test",),
        group="sample nginx config",
        skip_words=("nginx",),
    ),
    Piece(
        "redis",
        "Redis (the rate limits shared by several hosts)",
        "sudo apt-get install redis-server",
        "brew install redis && brew services start redis",
        ("test",),
        group="shared-state tests (Redis)",
        skip_words=("Redis",),
        enable=f"a Redis answering at TEST_REDIS_URL (default {DEFAULT_REDIS_URL})",
    ),
    Piece(
        "postgresql",
        "PostgreSQL (every database test runs on it too)",
        "sudo apt-get install postgresql",
        "brew install postgresql@17 && brew services start postgresql@17",
        ("test",),
        group="PostgreSQL suite",
        skip_words=("PostgreSQL", "TEST_DATABASE_URL"),
        enable=f"export TEST_DATABASE_URL={EXAMPLE_PG_URL} (an empty database the tests may wipe)",
    ),
)


def _newer(path, than):
    return os.path.exists(path) and all(os.path.getmtime(path) >= os.path.getmtime(t) for t in than)


def _answers(url, default_port):
    """Whether something accepts a TCP connection at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def problem(piece, root, env):
    """Why `piece` is missing on this machine, or None when it is there."""
    key = piece.key
    if key == "python":
        if sys.version_info < MIN_PYTHON:
            return f"this is Python {sys.version.split()[0]}"
        has_venv = os.path.exists(os.path.join(root, ".venv", "bin", "python"))
        try:
            import ensurepip  # noqa: F401  (Debian ships it apart, in python3-venv)
        except ImportError:
            if not has_venv:
                return "python3 -m venv cannot make the virtualenv (no ensurepip)"
        return None
    if key == "npm":
        installed = os.path.join(root, "node_modules", ".package-lock.json")
        lock = [os.path.join(root, name) for name in ("package.json", "package-lock.json")]
        if _newer(installed, lock):
            return None  # npm ci has run for this lockfile; make will not call npm
        missing = [tool for tool in ("node", "npm") if _which(env, tool) is None]
        return f"{' and '.join(missing)} not found" if missing else None
    if key == "font":
        named = env.get("LABEL_FONT_PATH")
        if named:
            return None if os.path.isfile(named) else f"LABEL_FONT_PATH={named} is not a file"
        return None if any(os.path.isfile(p) for p in FONT_CANDIDATES) else "no CJK TrueType font found"
    if key == "chromium":
        found = env.get("CHROMIUM_PATH") or _which(env, "chromium", "chromium-browser")
        return None if found else "chromium not found"
    if key == "poppler":
        missing = [tool for tool in ("pdftotext", "pdftoppm") if _which(env, tool) is None]
        return f"{' and '.join(missing)} not found" if missing else None
    if key == "nginx":
        return None if _which(env, "nginx") or os.access("/usr/sbin/nginx", os.X_OK) else "nginx not found"
    if key == "redis":
        url = env.get("TEST_REDIS_URL") or DEFAULT_REDIS_URL
        return None if _answers(url, 6379) else f"nothing answers at {url}"
    if key == "postgresql":
        url = env.get("TEST_DATABASE_URL")
        if not url:
            return "TEST_DATABASE_URL is not set"
        return None if _answers(url, 5432) else f"nothing answers at TEST_DATABASE_URL ({url})"
    raise ValueError(key)


def _which(env, *names):
    for name in names:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    return None


def check(mode, root, env):
    """(lines to print, exit status) for `mode`: setup, run or test."""
    strict = bool(env.get("CI"))
    required = ("python", "npm")
    lines, status = [], 0
    for piece in PIECES:
        if mode not in piece.needed_by:
            continue
        why = problem(piece, root, env)
        if why is None:
            continue
        if piece.key in required or strict:
            status = 1
            label = "missing"
        else:
            label = "optional"
        enable = f"; then {piece.enable}" if piece.enable else ""
        lines.append(f"{label}: {piece.what}: {why}. Install it: {piece.install()}{enable}")
    if status:
        lines.append(f"make {mode}: stopped until the missing pieces above are installed.")
    return lines, status


def main(argv):
    args = list(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "--root" in args:
        at = args.index("--root")
        root = args[at + 1]
        del args[at : at + 2]
    if len(args) != 1 or args[0] not in ("setup", "run", "test"):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    lines, status = check(args[0], root, os.environ)
    for line in lines:
        print(line, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
