"""ikestorm classify on charon logs recorded from real runs (tests/fixtures/logs, see its
README for how each was made): the right codes with the right counts; bad input exits 2."""
import json
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "logs"


def classify_json(run_ikestorm, *logs):
    r = run_ikestorm("classify", "--json", *[FIXTURES / l for l in logs])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def counts(doc, key="codes"):
    return {name: (c["attempts"], c["peers"]) for name, c in doc[key].items()}


def test_ikesa_limit_responder_level1_counts_requests_not_peers(run_ikestorm):
    doc = classify_json(run_ikestorm, "ikesa-limit/responder.log")
    # limit 3, 6 peers: 3 refused peers x (1 + 2 retransmits); the line names no peer
    assert counts(doc) == {"ERROR_IPSEC_IKE_MM_LIMIT": (9, None)}
    assert doc["sources"][0]["side"] == "responder"
    records = doc["failures"]
    assert len(records) == 9
    for rec in records:
        assert rec["code"] == {"name": "ERROR_IPSEC_IKE_MM_LIMIT", "value": 13882, "hex": "0x363A"}
        assert rec["exact"] is True
        assert rec["side"] == "responder" and rec["sa"] == "ike" and rec["exchange"] == "IKE_SA_INIT"
        assert rec["address"] == "" and rec["peer"] == ""
        assert "hitting IKE_SA limit (3)" in rec["evidence"][-1]
    assert "no address" in doc["attribution"]["ikesa-limit"]["log_attribution"]


def test_ikesa_limit_level2_keys_attempts_by_spi(run_ikestorm):
    doc = classify_json(run_ikestorm, "ikesa-limit-level2/responder.log")
    assert counts(doc) == {"ERROR_IPSEC_IKE_MM_LIMIT": (3, None)}
    assert sorted(r["occurrences"] for r in doc["failures"]) == [3, 3, 3]


def test_ikesa_limit_both_sides(run_ikestorm):
    doc = classify_json(run_ikestorm, "ikesa-limit/responder.log", "ikesa-limit/initiator.log")
    assert [s["side"] for s in doc["sources"]] == ["responder", "initiator"]
    assert counts(doc) == {"ERROR_IPSEC_IKE_MM_LIMIT": (9, None),
                           "ERROR_IPSEC_IKE_DROP_NO_RESPONSE": (3, 3)}
    no_resp = [r for r in doc["failures"] if r["code"]["value"] == 13813]
    assert sorted(r["peer"] for r in no_resp) == ["peer4", "peer5", "peer6"]
    assert sorted(r["address"] for r in no_resp) == ["198.19.0.4", "198.19.0.5", "198.19.0.6"]
    assert all(r["side"] == "initiator" for r in no_resp)
    assert all(any("retransmit 2 of request" in e for e in r["evidence"]) for r in no_resp)


def test_wrong_psk_is_auth_fail_on_both_sides(run_ikestorm):
    for log, side in (("wrong-psk/responder.log", "responder"), ("wrong-psk/initiator.log", "initiator")):
        doc = classify_json(run_ikestorm, log)
        assert counts(doc) == {"ERROR_IPSEC_IKE_AUTH_FAIL": (2, 2)}, log
        assert {r["side"] for r in doc["failures"]} == {side}
        assert sorted(r["address"] for r in doc["failures"]) == ["198.19.0.1", "198.19.0.2"]
    both = classify_json(run_ikestorm, "wrong-psk/responder.log", "wrong-psk/initiator.log")
    # each failed attempt seen from both sides; the addresses tell it is the same 2 peers
    assert counts(both) == {"ERROR_IPSEC_IKE_AUTH_FAIL": (4, 2)}


def test_proposal_mismatch_is_attrib_fail_for_ike_and_child(run_ikestorm):
    for log in ("proposal-mismatch/responder.log", "proposal-mismatch/initiator.log"):
        doc = classify_json(run_ikestorm, log)
        assert counts(doc) == {"ERROR_IPSEC_IKE_ATTRIB_FAIL": (3, 3)}, log
        by_sa = sorted((r["sa"], r["address"]) for r in doc["failures"])
        # peers 1 and 2 proposed another IKE suite, peer 3 another ESP suite
        assert by_sa == [("child", "198.19.0.3"), ("ike", "198.19.0.1"), ("ike", "198.19.0.2")], log


def test_cookies_are_informational(run_ikestorm):
    doc = classify_json(run_ikestorm, "cookie/responder.log")
    assert doc["codes"] == {}
    assert doc["failures"] == []
    assert counts(doc, "informational")["ERROR_IPSEC_IKE_DOS_COOKIE_SENT"] == (10, 10)


def test_table_and_report_json(run_ikestorm, tmp_path):
    out = tmp_path / "incident"
    r = run_ikestorm("classify", FIXTURES / "ikesa-limit/responder.log",
                     FIXTURES / "ikesa-limit/initiator.log", "--out", out)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()
            if line.startswith("ERROR_IPSEC")}
    assert rows["ERROR_IPSEC_IKE_MM_LIMIT"][1:] == ["13882", "responder", "exact", "9", "?"]
    assert rows["ERROR_IPSEC_IKE_DROP_NO_RESPONSE"][1:] == ["13813", "initiator", "exact", "3", "3"]
    assert "what the log can attribute" in r.stdout
    report = json.loads((out / "report.json").read_text())
    assert set(report) >= {"codes", "informational", "failures"}
    rec = report["failures"][0]
    assert set(rec) >= {"peer", "address", "side", "sa", "exchange", "t_ms", "code", "exact", "evidence"}
    assert all(f["t_ms"] >= 0 for f in report["failures"])


@pytest.mark.parametrize("content", [
    b"",
    os.urandom(4096),
    b"this is not a log\nnor is this\n",
    b"Nov 23 18:48:06.490 00[DMN] Starting IKE ch",   # truncated before its first line end
])
def test_garbage_or_truncated_input_exits_2(run_ikestorm, tmp_path, content):
    bad = tmp_path / "bad.log"
    bad.write_bytes(content)
    r = run_ikestorm("classify", bad)
    assert r.returncode == 2, r.stdout
    assert "not a charon log" in r.stderr
    assert str(bad) in r.stderr


def test_missing_file_and_bad_arguments_exit_2(run_ikestorm, tmp_path):
    r = run_ikestorm("classify", tmp_path / "nope.log")
    assert r.returncode == 2 and "cannot open" in r.stderr
    assert run_ikestorm("classify").returncode == 2
    r = run_ikestorm("classify", "--side", "sideways", FIXTURES / "normal/responder.log")
    assert r.returncode == 2


def test_log_cut_mid_line_is_read_with_a_warning(run_ikestorm, tmp_path):
    text = (FIXTURES / "ikesa-limit/responder.log").read_bytes()
    cut = tmp_path / "cut.log"
    cut.write_bytes(text[: text.index(b"hitting IKE_SA limit") + 10])  # ends inside a limit line
    r = run_ikestorm("classify", "--json", cut)
    assert r.returncode == 0, r.stderr
    assert "truncated" in r.stderr
    doc = json.loads(r.stdout)
    # the cut line is left out; nothing before it was a limit line
    assert doc["codes"] == {}


def test_attempts_from_different_logs_never_merge(run_ikestorm):
    # both SUT logs have IKE_SA unique ids 1..3; their deletes are separate attempts
    doc = classify_json(run_ikestorm, "ikesa-limit/responder.log", "cookie/responder.log")
    assert counts(doc, "informational")["ERROR_IPSEC_IKE_MM_EXPIRED"] == (3 + 12, 12)
