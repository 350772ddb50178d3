"""Shared fixtures for the end-to-end tests: they drive the built `ikestorm` binary.

The binary is $IKESTORM_BIN, or build/harness/cli/ikestorm under the repository root (the
build folder of the README's commands).
"""
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def ikestorm_path() -> Path:
    env = os.environ.get("IKESTORM_BIN")
    return Path(env) if env else REPO / "build" / "harness" / "cli" / "ikestorm"


@pytest.fixture(scope="session")
def ikestorm_bin() -> Path:
    path = ikestorm_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"ikestorm binary not found at {path} (build it, or set IKESTORM_BIN)")
    return path


@pytest.fixture
def run_ikestorm(ikestorm_bin):
    """run_ikestorm(*args, env=None, timeout=60) -> CompletedProcess with text output."""

    def run(*args, env=None, timeout=60):
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        return subprocess.run([str(ikestorm_bin), *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, env=full_env)

    return run


@pytest.fixture
def needs_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")


# What leak checks compare: the host's links, addresses, rules, routes and namespaces.
SNAPSHOT_COMMANDS = {
    "link": ["ip", "-o", "link"],
    "addr": ["ip", "-o", "addr"],
    "rule": ["ip", "rule"],
    "route": ["ip", "route"],
    "netns": ["ip", "netns", "list"],
}


class NetSnapshot:
    """Lines of each SNAPSHOT_COMMANDS output at one moment."""

    def __init__(self):
        self.lines = {}
        for key, argv in SNAPSHOT_COMMANDS.items():
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            assert r.returncode == 0, f"{' '.join(argv)} failed: {r.stderr}"
            self.lines[key] = set(line.strip() for line in r.stdout.splitlines() if line.strip())

    def added_since(self, earlier: "NetSnapshot", containing: str = "") -> dict:
        """Lines present now and not in `earlier` (optionally only those containing a text,
        e.g. a run id: other runs on the same host may come and go meanwhile)."""
        out = {}
        for key, now in self.lines.items():
            new = sorted(line for line in now - earlier.lines.get(key, set()) if containing in line)
            if new:
                out[key] = new
        return out


@pytest.fixture
def net_snapshot():
    """Returns a function taking a NetSnapshot of the host's network state."""
    return NetSnapshot
