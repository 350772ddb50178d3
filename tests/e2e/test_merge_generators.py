"""`ikestorm merge` of generator reports (run --generator I/N): folded per point, expectations
judged again on the whole, refused across runs. Reports are written here as the generators
write them; test_target.py merges reports of real generator runs."""
import json

import jsonschema
import pytest

from conftest import REPO


def _generator_report(i, n, established, samples, start_at="2026-12-07T06:30:00Z", peers=500):
    return {
        "schema_version": 1, "tool_version": "test", "run_id": f"aaaa{i:02x}",
        "started_at": f"2026-12-07T06:29:5{i}Z", "command": f"ikestorm run t.yaml --generator {i}/{n}",
        "scenario": {"name": "target", "peers": {"count": peers * n}}, "backend": "libipsec",
        "real_xfrm": False, "host": {"kernel": "k", "sut_kernel": "k", "cpu": "c", "strongswan": "s"},
        "generator": {"index": i, "count": n, "start_at": start_at, "start_skew_ms": 2.5 * i,
                      "first_peer": (i - 1) * peers, "peers": peers,
                      "peers_prefix": f"198.19.{(i - 1) * 64}.0/18", "inner_prefix": ""},
        "runs": [{
            "folder": "run-1", "outcome": "complete", "parameters": {}, "effective": {},
            "summary": {"peers": peers, "established": established, "established_ratio": established / peers,
                        "failed": peers - established, "setup_rate_per_s": 100.0,
                        "sut_ike_sas_at_connect_end": 990, "sut_survived": 1},
            "codes": {"ERROR_IPSEC_IKE_MM_LIMIT": {"peers": peers - established, "attempts": peers - established}},
            "samples": {"setup_latency_ms": samples},
            "expectations": [{"expr": "established_ratio >= 0.99", "ok": established / peers >= 0.99,
                              "observed": established / peers}],
            "timeseries": [{"t_s": t, "ike_active": 100 * t, "established_total": 100 * t} for t in range(3)],
        }],
    }


def _write(tmp_path, name, report):
    d = tmp_path / name
    d.mkdir()
    (d / "report.json").write_text(json.dumps(report))
    (d / "run-1").mkdir()
    (d / "run-1" / "marker").write_text(name)
    return d


def test_merge_folds_generators_and_judges_the_whole_again(tmp_path, run_ikestorm):
    # Generator 1 alone meets established_ratio >= 0.99 (500/500), generator 2 does not
    # (490/500); the run as a whole (990/1000) does: the merged verdict is the whole's.
    g1 = _write(tmp_path, "g1", _generator_report(1, 2, 500, [10, 20]))
    g2 = _write(tmp_path, "g2", _generator_report(2, 2, 490, [30, 40, 50]))
    r = run_ikestorm("merge", "-o", tmp_path / "out", g2, g1)
    assert r.returncode == 0, r.stderr
    merged = json.loads((tmp_path / "out" / "report.json").read_text())
    run = merged["runs"][0]
    assert run["summary"]["established"] == 990 and run["summary"]["peers"] == 1000
    assert run["summary"]["sut_ike_sas_at_connect_end"] == 990  # the gateway's count, once
    assert run["codes"]["ERROR_IPSEC_IKE_MM_LIMIT"] == {"peers": 10, "attempts": 10}
    assert run["summary"]["setup_latency_ms"]["p50"] == 30 and run["summary"]["setup_latency_ms"]["p99"] == 50
    assert [p["ike_active"] for p in run["timeseries"]] == [0, 200, 400]
    assert run["expectations"] == [{"expr": "established_ratio >= 0.99", "ok": True, "observed": 0.99}]
    assert [g["generator"]["index"] for g in merged["generators"]] == [1, 2]
    assert [g["established"] for g in merged["generators"]] == [500, 490]
    assert (tmp_path / "out" / "generator-1" / "run-1" / "marker").read_text() == "g1"
    assert (tmp_path / "out" / "generator-2" / "run-1" / "marker").read_text() == "g2"
    schema = json.loads((REPO / "reports" / "report.schema.json").read_text())
    jsonschema.validate(merged, schema)
    assert (tmp_path / "out" / "report.html").is_file() and (tmp_path / "out" / "junit.xml").is_file()


@pytest.mark.parametrize("second, message", [
    (_generator_report(2, 2, 500, [1], start_at="2026-12-07T06:31:00Z"), "started at 2026-12-07T06:31:00Z"),
    (_generator_report(2, 2, 500, [1], peers=400), "different scenario"),
    (_generator_report(1, 2, 500, [1]), "generator 1 is both"),
    (_generator_report(2, 3, 500, [1]), "one of 3 generators"),
])
def test_merge_refuses_generators_of_different_runs(tmp_path, run_ikestorm, second, message):
    g1 = _write(tmp_path, "g1", _generator_report(1, 2, 500, [1]))
    g2 = _write(tmp_path, "g2", second)
    r = run_ikestorm("merge", "-o", tmp_path / "out", g1, g2)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert not (tmp_path / "out").exists()


def test_merge_refuses_a_missing_generator_and_a_mix_with_shards(tmp_path, run_ikestorm):
    g1 = _write(tmp_path, "g1", _generator_report(1, 3, 500, [1]))
    g3 = _write(tmp_path, "g3", _generator_report(3, 3, 500, [1]))
    r = run_ikestorm("merge", "-o", tmp_path / "out", g1, g3)
    assert r.returncode == 2 and "generator(s) 2 of 3 missing" in r.stderr
    shard = _generator_report(2, 3, 500, [1])
    del shard["generator"]
    s = _write(tmp_path, "s", shard)
    r = run_ikestorm("merge", "-o", tmp_path / "out", g1, s)
    assert r.returncode == 2 and "some reports are generator reports" in r.stderr
