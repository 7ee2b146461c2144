"""The whole dependency tree is pinned with hashes (requirements*.lock), and `make` installs from it.

requirements.txt and requirements-dev.txt name what we chose; the lock files pin everything those
pull in as well, each at one version with the hashes of its files, so a fresh `make` installs the
same bytes that were tested. These checks fail when a requirement is changed without `make lock`,
or when something is installed that the lock does not name.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)")
# Installers of the environment itself, not dependencies of the app.
_TOOLS = {"pip", "setuptools", "wheel"}


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if match := _PIN.match(line.strip()):
            pins[_name(match.group(1))] = match.group(2)
    return pins


def _locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) for every requirement in a pip-compile --generate-hashes file."""
    entries: dict[str, tuple[str, list[str]]] = {}
    # A requirement and its hash options are one logical line continued with backslashes.
    for block in re.split(r"(?<!\\)\n(?=\S)", path.read_text()):
        block = block.strip()
        if not block or block.startswith("#"):
            continue
        match = _PIN.match(block)
        assert match, f"{path.name}: not an exact pin: {block.splitlines()[0]}"
        entries[_name(match.group(1))] = (match.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return entries


@pytest.mark.parametrize(
    ("chosen", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_every_chosen_pin_is_in_its_lock_at_the_same_version(chosen, lock):
    locked = _locked(ROOT / lock)
    chosen_pins = _pins(ROOT / chosen)
    if chosen == "requirements-dev.txt":
        chosen_pins |= _pins(ROOT / "requirements.txt")
    assert chosen_pins, f"{chosen} names nothing"
    stale = {name: (version, locked.get(name, ("missing",))[0]) for name, version in chosen_pins.items()}
    stale = {name: pair for name, pair in stale.items() if pair[0] != pair[1]}
    assert not stale, f"{chosen} changed without `make lock` (chosen, locked): {stale}"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_locked_package_carries_hashes(lock):
    locked = _locked(ROOT / lock)
    assert len(locked) > 30
    assert not [name for name, (_version, hashes) in locked.items() if not hashes]


def test_the_runtime_lock_agrees_with_the_development_lock():
    runtime, dev = _locked(ROOT / "requirements.lock"), _locked(ROOT / "requirements-dev.lock")
    assert {name: version for name, (version, _h) in runtime.items() if dev.get(name, ("",))[0] != version} == {}


def test_everything_installed_is_locked_at_its_version():
    """What `make` installed (this suite's own environment) floats nowhere: each distribution is
    in the development lock at the version installed."""
    locked = _locked(ROOT / "requirements-dev.lock")
    installed = {_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}
    floating = {
        name: (version, locked.get(name, ("not locked",))[0])
        for name, version in installed.items()
        if name not in _TOOLS and locked.get(name, ("",))[0] != version
    }
    assert not floating, f"installed but not locked at that version (installed, locked): {floating}"


def test_make_installs_from_the_lock_with_hashes_required():
    makefile = (ROOT / "Makefile").read_text()
    assert "LOCK := requirements-dev.lock" in makefile
    install = [line for line in makefile.splitlines() if "pip install" in line and "$(LOCK)" in line]
    assert install and all("--require-hashes" in line for line in install)
    assert not [line for line in makefile.splitlines() if re.search(r"pip install .*-r requirements", line)]
