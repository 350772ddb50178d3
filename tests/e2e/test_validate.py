"""`ikestorm validate`: shipped scenarios are valid; malformed files exit 2 naming file:line:col."""
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "scenarios").glob("*.yaml"))
# Scenarios for a search or a sweep (knobs/) and the native engine's impairments (impair/).
SHIPPED_SUB = sorted((REPO / "scenarios" / "knobs").glob("*.yaml")) + sorted((REPO / "scenarios" / "impair").glob("*.yaml"))
MALFORMED = REPO / "tests" / "fixtures" / "scenarios" / "malformed"


def test_every_contract_scenario_is_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"smoke", "limits", "lifetime-sweep", "login-storm", "rekey-collision"} <= names


@pytest.mark.parametrize("scenario", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenario_validates(run_ikestorm, scenario):
    r = run_ikestorm("validate", scenario)
    assert r.returncode == 0, r.stderr
    assert f"scenario '{scenario.stem}'" in r.stdout
    assert "run 1" in r.stdout


@pytest.mark.parametrize("scenario", SHIPPED_SUB, ids=lambda p: p.parent.name + "/" + p.stem)
def test_shipped_search_and_impair_scenario_validates(run_ikestorm, scenario):
    r = run_ikestorm("validate", scenario)
    assert r.returncode == 0, r.stderr
    assert f"{scenario}: ok, scenario '" in r.stdout
    assert "run 1" in r.stdout


def test_lifetime_sweep_json_shows_both_points_compressed(run_ikestorm):
    r = run_ikestorm("validate", REPO / "scenarios" / "lifetime-sweep.yaml", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True
    assert doc["sweep"] == ["peers.child.rekey_time"]
    points = [(run["parameters"]["peers.child.rekey_time"],
               run["effective"]["peers"]["child"]["rekey_time_s"]) for run in doc["runs"]]
    assert points == [("30m", 30), ("5m", 5)]
    assert all(run["peers"] == 500 for run in doc["runs"])
    assert doc["scenario"]["sweep"]["peers.child.rekey_time"] == ["30m", "5m"]


@pytest.mark.parametrize("name,line,col,text", [
    ("unknown-child-key.yaml", 3, 5,
     "unknown key 'rekey_tme' in peers.child; did you mean 'rekey_time'?"),
    ("count-negative.yaml", 2, 10, "peers.count: expected a whole number from 1 to 32767"),
    ("broken-indent.yaml", 4, 8, "broken YAML"),
    ("sweep-empty-list.yaml", 2, 16, "sweep.peers.count: the list of values is empty"),
    ("binary.yaml", 2, 1, "not a text file"),
])
def test_malformed_file_exits_2_naming_file_line_col(run_ikestorm, name, line, col, text):
    path = MALFORMED / name
    r = run_ikestorm("validate", path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{path}:{line}:{col}: {text}" in r.stderr


def test_malformed_json_lists_every_problem(run_ikestorm):
    r = run_ikestorm("validate", MALFORMED / "many-errors.yaml", "--json")
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    assert doc["ok"] is False
    assert len(doc["errors"]) == 20 and doc["more_errors"] == 5
    assert [e["line"] for e in doc["errors"][:3]] == [1, 2, 3]


def test_set_and_peers_overrides(run_ikestorm):
    smoke = REPO / "scenarios" / "smoke.yaml"
    r = run_ikestorm("validate", smoke, "--peers", "7", "--set", "peers.child.rekey_time=5m",
                     "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["runs"][0]["peers"] == 7
    assert doc["scenario"]["peers"]["child"]["rekey_time"] == "5m"
    assert doc["runs"][0]["effective"]["peers"]["child"]["rekey_time_s"] == 300

    bad = run_ikestorm("validate", smoke, "--set", "peers.cont=5")
    assert bad.returncode == 2
    assert "--set peers.cont: unknown key 'cont' in peers; did you mean 'count'?" in bad.stderr

    no_eq = run_ikestorm("validate", smoke, "--set", "peers.count")
    assert no_eq.returncode == 2
    assert "expected KEY=VALUE" in no_eq.stderr


def test_missing_file_and_no_file(run_ikestorm):
    r = run_ikestorm("validate", REPO / "scenarios" / "no-such-scenario.yaml")
    assert r.returncode == 2
    assert "no-such-scenario.yaml: cannot read: no such file" in r.stderr
    assert run_ikestorm("validate").returncode == 2


def test_expect_code_names_are_checked_against_the_taxonomy(run_ikestorm, tmp_path):
    f = tmp_path / "typo.yaml"
    f.write_text('expect:\n  codes.ERROR_IPSEC_IKE_MM_LIMT: "== 0"\n')
    r = run_ikestorm("validate", f)
    assert r.returncode == 2
    assert (f"{f}:2:3: expect: 'ERROR_IPSEC_IKE_MM_LIMT' is not a known code; "
            "did you mean 'ERROR_IPSEC_IKE_MM_LIMIT'?") in r.stderr
