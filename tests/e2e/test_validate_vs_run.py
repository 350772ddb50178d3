"""`validate` refuses exactly what `run` refuses about the scenario itself (issue 15).

Every scenario fixture that `ikestorm validate` refuses goes through `ikestorm run` too: both
exit 2, before anything is created, and name the same problems at the same file:line:col.
Fixtures that validate are not run here (a run takes seconds); the checks that depend on the
host (README, "Checked when the run starts") are not part of this table.
"""
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scenarios"
VALID = FIXTURES / "valid"

# (file, extra arguments) that `validate` refuses: every malformed fixture as written, plus
# overrides that make a valid file into one `run` used to refuse only after building the
# topology or checking the engine (exit 3).
REFUSED = [(p, []) for p in sorted((FIXTURES / "malformed").glob("*.yaml"))] + [
    (VALID / "minimal.yaml", ["--peers", "40000"]),
    (VALID / "minimal.yaml", ["--set", "peers.engine=native", "--set", "peers.auth=rsa"]),
    (VALID / "minimal.yaml", ["--set", "sweep={peers.count: [10, 32768]}"]),
    (VALID / "minimal.yaml", ["--set", "peers.family=ipv6", "--peers", "131073"]),
]
ACCEPTED = sorted(VALID.glob("*.yaml"))

DIAGNOSTIC = re.compile(r"^(?P<where>.+?:\d+:\d+|--\S+(?: \S+)?): (?P<message>.*)$")


def diagnostics(stderr: str) -> list:
    """The "file:line:col: message" (or "--set a.b: message") lines, in order."""
    out = []
    for line in stderr.splitlines():
        m = DIAGNOSTIC.match(line)
        if m and not line.startswith("ikestorm "):
            out.append((m["where"], m["message"]))
    return out


def row_id(row):
    path, extra = row
    return str(path.relative_to(FIXTURES)) + ("[" + " ".join(extra) + "]" if extra else "")


@pytest.mark.parametrize("row", REFUSED, ids=[row_id(r) for r in REFUSED])
def test_run_refuses_what_validate_refuses(run_ikestorm, tmp_path, row):
    path, extra = row
    v = run_ikestorm("validate", path, *extra, timeout=30)
    assert v.returncode == 2, v.stdout + v.stderr
    want = diagnostics(v.stderr)
    assert want, v.stderr
    out = tmp_path / "out"
    r = run_ikestorm("run", path, *extra, "--out", out, timeout=30)
    assert r.returncode == 2, f"validate exit 2, run exit {r.returncode}:\n{r.stdout}{r.stderr}"
    assert not out.exists(), "run created its report folder for a scenario it refuses"
    assert diagnostics(r.stderr) == want, f"validate:\n{v.stderr}\nrun:\n{r.stderr}"


@pytest.mark.parametrize("path", ACCEPTED, ids=lambda p: p.name)
def test_valid_fixtures_are_not_refused(run_ikestorm, path):
    # Their runs are not started here (seconds each); test_scenarios.py runs shipped ones.
    v = run_ikestorm("validate", path, timeout=30)
    assert v.returncode == 0, v.stdout + v.stderr


def test_the_table_holds_the_address_plan_and_engine_rows():
    names = {p.name for p, _ in REFUSED}
    assert {"count-over-address-plan.yaml", "sweep-count-over-address-plan.yaml", "native-auth-ecdsa.yaml",
            "native-sut-config.yaml", "config-strongswan-only.yaml", "target-ipv6-mixed-family.yaml",
            "target-ipv6-peers-overlap-local.yaml"} <= names
