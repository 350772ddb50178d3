"""The taxonomy scenarios (scenarios/taxonomy/): each run's report contains its Windows code
with the right exact/approximate flag, every failed peer has a code (unclassified == 0), and
`ikestorm codes --coverage` names those scenarios. Each run takes a few seconds (few peers,
short retransmits); the getspifail run waits for a stuck SUT and is marked long."""
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TAX = REPO / "scenarios" / "taxonomy"


# One run per scenario file for the whole module: several tests read the same report.
_RUNS = {}


def run_scenario(run_ikestorm, tmp_path, name, timeout=120):
    if name not in _RUNS:
        out = tmp_path / "out"
        r = run_ikestorm("run", TAX / name, "--out", out, timeout=timeout)
        report = json.loads((out / "report.json").read_text())
        assert len(report["runs"]) == 1
        _RUNS[name] = (r, report["runs"][0])
    return _RUNS[name]


def check_common(r, run):
    assert r.returncode == 0, f"expectations failed or harness fault:\n{r.stdout}\n{r.stderr}"
    assert run["outcome"] == "complete"
    assert run["summary"]["unclassified"] == 0
    # Every failed peer is named by at least one failure record.
    named = {f["peer"] for f in run["failures"]}
    assert run["summary"]["failed"] <= len(named)


def records(run, code):
    return [f for f in run["failures"] if f["code"]["name"] == code]


# scenario file, code, exact flag, side of its records, peers with the code (None: >= 1)
CASES = [
    ("mm-limit.yaml", "ERROR_IPSEC_IKE_MM_LIMIT", True, "responder", 4),
    ("mm-limit.yaml", "ERROR_IPSEC_IKE_DROP_NO_RESPONSE", True, "initiator", 4),
    ("drop-no-response.yaml", "ERROR_IPSEC_IKE_DROP_NO_RESPONSE", True, "initiator", 3),
    ("queue-drop-mm.yaml", "ERROR_IPSEC_IKE_QUEUE_DROP_MM", False, "responder", None),
    ("mm-delay-drop.yaml", "ERROR_IPSEC_IKE_MM_DELAY_DROP", False, "initiator", 3),
    ("attrib-fail.yaml", "ERROR_IPSEC_IKE_ATTRIB_FAIL", True, None, 3),
    ("auth-fail.yaml", "ERROR_IPSEC_IKE_AUTH_FAIL", True, None, 2),
    ("simultaneous-rekey.yaml", "ERROR_IPSEC_IKE_SIMULTANEOUS_REKEY", True, None, None),
    ("qm-delay-drop.yaml", "ERROR_IPSEC_IKE_QM_DELAY_DROP", False, "initiator", 3),
    ("queue-drop-no-mm.yaml", "ERROR_IPSEC_IKE_QUEUE_DROP_NO_MM", False, "initiator", 5),
    ("queue-drop-no-mm.yaml", "ERROR_IPSEC_IKE_DROP_NO_RESPONSE", True, "initiator", 5),
]

# Codes reproduced by scenarios/vm/vm-dataplane.yaml (checked in test_vm.py, long: backend vm).
VM_DATAPLANE_CODES = {"ERROR_IPSEC_BAD_SPI", "ERROR_IPSEC_REPLAY_CHECK_FAILED"}

# Codes reproduced by scenarios/impair/malformed.yaml (checked in test_impair.py).
MALFORMED_CODES = {
    "ERROR_IPSEC_IKE_CRITICAL_PAYLOAD_NOT_RECOGNIZED", "ERROR_IPSEC_IKE_INVALID_MAJOR_VERSION",
    "ERROR_IPSEC_IKE_PROCESS_ERR_SA", "ERROR_IPSEC_IKE_PROCESS_ERR_KE",
    "ERROR_IPSEC_IKE_PROCESS_ERR_NONCE", "ERROR_IPSEC_IKE_INVALID_PAYLOAD",
}


@pytest.mark.parametrize("scenario,code,exact,side,peers", CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_scenario_reports_its_code(run_ikestorm, needs_root, tmp_path, scenario, code, exact,
                                   side, peers):
    r, run = run_scenario(run_ikestorm, tmp_path, scenario)
    check_common(r, run)
    assert code in run["codes"], f"{code} missing; codes: {run['codes']}"
    recs = records(run, code)
    assert recs
    assert all(f["exact"] is exact for f in recs), [f["exact"] for f in recs]
    if side:
        assert {f["side"] for f in recs} == {side}
    assert all(f["evidence"] for f in recs)
    got = run["codes"][code]["peers"]
    if peers is None:
        assert got >= 1
    else:
        assert got == peers
        assert len({f["peer"] for f in recs}) == peers


def test_mm_limit_names_exactly_the_refused_peers(run_ikestorm, needs_root, tmp_path):
    r, run = run_scenario(run_ikestorm, tmp_path, "mm-limit.yaml")
    check_common(r, run)
    limit = {f["peer"] for f in records(run, "ERROR_IPSEC_IKE_MM_LIMIT")}
    gave_up = {f["peer"] for f in records(run, "ERROR_IPSEC_IKE_DROP_NO_RESPONSE")}
    assert limit == gave_up and len(limit) == 4
    assert run["summary"]["established"] == 4


def test_auth_fail_hits_the_rotated_peers_only(run_ikestorm, needs_root, tmp_path):
    r, run = run_scenario(run_ikestorm, tmp_path, "auth-fail.yaml")
    check_common(r, run)
    recs = records(run, "ERROR_IPSEC_IKE_AUTH_FAIL")
    assert {f["side"] for f in recs} == {"initiator", "responder"}
    assert run["summary"]["established"] == 2
    assert set(run["codes"]) == {"ERROR_IPSEC_IKE_AUTH_FAIL"}


def test_cookie_is_informational(run_ikestorm, needs_root, tmp_path):
    r, run = run_scenario(run_ikestorm, tmp_path, "dos-cookie-sent.yaml")
    check_common(r, run)
    info = run["informational"].get("ERROR_IPSEC_IKE_DOS_COOKIE_SENT")
    assert info and info["attempts"] >= 1, run["informational"]
    assert run["summary"]["established"] == 10
    assert run["failures"] == [] and run["codes"] == {}


def test_queue_drop_no_mm_rests_on_kernel_acquires(run_ikestorm, needs_root, tmp_path):
    # peers.start_action trap: each peer's record carries the peers namespace kernel's ACQUIRE
    # for its own inner address (198.19.128.1 + i), and nothing else is classified.
    r, run = run_scenario(run_ikestorm, tmp_path, "queue-drop-no-mm.yaml")
    check_common(r, run)
    assert set(run["codes"]) == {"ERROR_IPSEC_IKE_QUEUE_DROP_NO_MM", "ERROR_IPSEC_IKE_DROP_NO_RESPONSE",
                                 "STATUS_IPSEC_QUEUE_OVERFLOW"}
    # The trigger datagrams themselves: XfrmOutNoStates in the peers namespace, one per peer.
    assert run["codes"]["STATUS_IPSEC_QUEUE_OVERFLOW"] == {"attempts": 5, "peers": 0}
    recs = records(run, "ERROR_IPSEC_IKE_QUEUE_DROP_NO_MM")
    assert len(recs) == 5
    inner = {f"198.19.128.{i + 1}" for i in range(5)}
    seen = set()
    for f in recs:
        acquire = [e for e in f["evidence"] if e.startswith("kernel (peers)") and "acquire" in e.lower()]
        assert acquire, f["evidence"]
        seen |= {a for a in inner if a in acquire[0]}
    assert seen == inner
    assert run["summary"]["established"] == 0
    assert any("start_action trap" in n for n in run["notes"]), run["notes"]


@pytest.mark.long
def test_tiny_spi_range_on_libipsec_is_a_silent_drop(run_ikestorm, needs_root, tmp_path):
    # What really happens on kernel-libipsec: the 5th peer's IKE_AUTH is never answered.
    r, run = run_scenario(run_ikestorm, tmp_path, "getspifail.yaml", timeout=240)
    check_common(r, run)
    assert run["summary"]["established"] == 4
    assert set(run["codes"]) == {"ERROR_IPSEC_IKE_DROP_NO_RESPONSE"}


def test_coverage_names_every_taxonomy_scenario(run_ikestorm):
    r = run_ikestorm("codes", "--coverage", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 171
    assert len({row["name"] for row in rows}) == 171
    by_name = {row["name"]: row for row in rows}
    tested = {(scenario, code) for scenario, code, *_ in CASES}
    tested.add(("dos-cookie-sent.yaml", "ERROR_IPSEC_IKE_DOS_COOKIE_SENT"))
    tested.add(("getspifail-vm.yaml", "ERROR_IPSEC_IKE_GETSPIFAIL"))  # backend vm: test_vm.py (long)
    # Asserted by test_queue_drop_no_mm_rests_on_kernel_acquires (no peer: a kernel counter).
    tested.add(("queue-drop-no-mm.yaml", "STATUS_IPSEC_QUEUE_OVERFLOW"))
    # Backend xfrm, run --in-vm: test_in_vm.py (queue-overflow in the default set, the pool sweep long).
    tested.add(("queue-overflow.yaml", "STATUS_IPSEC_QUEUE_OVERFLOW"))
    tested.add(("getspifail-pool-sweep.yaml", "ERROR_IPSEC_IKE_GETSPIFAIL"))
    for scenario, code in tested:
        row = by_name[code]
        assert row["status"] == "reproduced"
        assert f"scenarios/taxonomy/{scenario}" in row["scenarios"]
        assert row["rules"]
    for row in rows:
        if row["name"] in VM_DATAPLANE_CODES:
            assert row["status"] == "reproduced" and row["rules"], row["name"]
            assert "scenarios/vm/vm-dataplane.yaml" in row["scenarios"], row["name"]
            continue
        if row["name"] in MALFORMED_CODES:
            assert row["status"] == "reproduced" and row["rules"], row["name"]
            assert "scenarios/impair/malformed.yaml" in row["scenarios"], row["name"]
            continue
        if row["status"] == "reproduced":
            assert any((Path(s).name, row["name"]) in tested for s in row["scenarios"]
                       if s.startswith("scenarios/taxonomy/")), row["name"]
            assert row["why_not"] == ""
        else:
            assert row["why_not"], row["name"]
    assert by_name["ERROR_IPSEC_IKE_QM_LIMIT"]["status"] == "not-producible"
    assert by_name["STATUS_IPSEC_QUEUE_OVERFLOW"]["status"] == "reproduced"


def test_coverage_text_and_unknown_code(run_ikestorm):
    r = run_ikestorm("codes", "13882", "--coverage")
    assert r.returncode == 0
    assert "ikesa-limit" in r.stdout and "scenarios/taxonomy/mm-limit.yaml" in r.stdout
    r = run_ikestorm("codes", "NO_SUCH_CODE_AT_ALL", "--coverage")
    assert r.returncode == 1


# The shipped top-level scenarios that the coverage table also names (about 20 s and 65 s).
@pytest.mark.long
@pytest.mark.parametrize("scenario,code,exact,peers", [
    ("limits.yaml", "ERROR_IPSEC_IKE_MM_LIMIT", True, 20),
    ("rekey-collision.yaml", "ERROR_IPSEC_IKE_SIMULTANEOUS_REKEY", True, None),
])
def test_shipped_scenario_reports_its_code(run_ikestorm, needs_root, tmp_path, scenario, code,
                                           exact, peers):
    out = tmp_path / "out"
    r = run_ikestorm("run", REPO / "scenarios" / scenario, "--out", out, timeout=300)
    run = json.loads((out / "report.json").read_text())["runs"][0]
    check_common(r, run)
    recs = records(run, code)
    assert recs and all(f["exact"] is exact for f in recs)
    assert run["codes"][code]["peers"] == peers if peers else run["codes"][code]["peers"] >= 1
