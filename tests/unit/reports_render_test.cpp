// report.html and junit.xml rendering: structure, escaping of hostile text, code texts.
#include <gtest/gtest.h>

#include "reports/escape.hpp"
#include "reports/html.hpp"
#include "reports/junit.hpp"

using namespace ist::reports;

namespace {

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// The text between the first `from` and the next `to` after it ("" when `from` is absent).
std::string between(const std::string& page, const std::string& from, const std::string& to) {
  const auto a = page.find(from);
  if (a == std::string::npos) return "";
  return page.substr(a, page.find(to, a) - a);
}

const std::string kHostile = "</script><script>alert(1)</script>\xE2\x80\xA8<!--&\"'";

Report hostile_report() {
  Report r;
  r.run_id = "abc123";
  r.backend = "libipsec";
  r.scenario = {{"name", "sweep<x>"}, {"description", kHostile}};
  for (int k = 1; k <= 2; ++k) {
    RunReport run;
    run.folder = "run-" + std::to_string(k);
    run.parameters = {{"peers.child.rekey_time", k == 1 ? "30m" : "5m"}};
    run.summary.peers = 2;
    run.summary.established = 1;
    run.summary.established_ratio = 0.5;
    run.summary.failed = 1;
    run.codes["ERROR_IPSEC_IKE_MM_LIMIT"] = {1, 3};
    Failure f;
    f.peer = kHostile;
    f.code = {"ERROR_IPSEC_IKE_MM_LIMIT", 13882, "0x363A"};
    f.evidence = {kHostile};
    run.failures.push_back(f);
    run.peers.push_back({kHostile, "198.19.0.1", "failed", {{1.5, "initiate", kHostile}}});
    run.notes = {kHostile};
    run.setup_latency_samples = {1, 2, 3};
    run.timeseries.push_back({});
    run.expectations.push_back({"established_ratio >= 1", false, 0.5});
    run.expectations.push_back({"leaks == 0", true, 0});
    r.runs.push_back(run);
  }
  return r;
}

}  // namespace

TEST(Escape, HtmlXmlAndScriptJson) {
  struct Case {
    std::string in, html, xml;
  };
  const Case cases[] = {
      {"a<b>&\"'", "a&lt;b&gt;&amp;&quot;&#39;", "a&lt;b&gt;&amp;&quot;&#39;"},
      {"tab\tnl\n", "tab\tnl\n", "tab\tnl\n"},
      {std::string("bell\x07", 5), std::string("bell\x07", 5), "bell?"},
      {"bad\xFF", "bad\xFF", "bad?"},
      {"\xC3\xA9t\xC3\xA9", "\xC3\xA9t\xC3\xA9", "\xC3\xA9t\xC3\xA9"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(html_escape(c.in), c.html) << c.in;
    EXPECT_EQ(xml_escape(c.in), c.xml) << c.in;
  }
  const std::string j = json_for_script(nlohmann::json{{"s", kHostile}});
  EXPECT_EQ(j.find('<'), std::string::npos);
  EXPECT_EQ(j.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_NE(j.find("\\u2028"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(j)["s"], kHostile);  // same value after unescaping
}

TEST(Html, HostileTextNeverBecomesMarkup) {
  const std::string page = render_html(hostile_report());
  // Exactly the page's own three scripts: data, uPlot, page script.
  EXPECT_EQ(count(page, "<script"), 3u);
  EXPECT_EQ(count(page, "</script>"), 3u);
  EXPECT_EQ(count(page, "<!--"), 0u);
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;/script&gt;&lt;script&gt;alert(1)"), std::string::npos);
  // The inline data: no raw '<' and no raw U+2028 (a line terminator in older JS parsers).
  const std::string open = "id=\"ist-data\">";
  const auto data_at = page.find(open) + open.size();
  ASSERT_GT(data_at, open.size());
  const std::string data = page.substr(data_at, page.find("</script>", data_at) - data_at);
  EXPECT_EQ(data.find('<'), std::string::npos);
  EXPECT_EQ(data.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_FALSE(nlohmann::json::parse(data, nullptr, false).is_discarded());
  EXPECT_NE(page.find("sweep&lt;x&gt;"), std::string::npos);
}

TEST(Html, ScenarioYamlAsWrittenWithTheDocumentCollapsed) {
  Report r = hostile_report();
  // An older report (no scenario_yaml): the document, shown open.
  const std::string old_page = render_html(r);
  EXPECT_EQ(old_page.find("scenario-yaml"), std::string::npos);
  EXPECT_NE(old_page.find("<h2>Scenario</h2>\n<pre>{"), std::string::npos);
  r.scenario_yaml = "name: sweep<x>\n# peers as in the lab </pre><script>alert(2)</script>\npeers: { count: 2 }\n";
  const std::string page = render_html(r);
  const auto yaml = page.find("<pre class=\"scenario-yaml\">name: sweep&lt;x&gt;\n# peers as in the lab &lt;/pre&gt;");
  const auto details = page.find("<details><summary>Effective scenario (after --set, as JSON)</summary><pre>{");
  ASSERT_NE(yaml, std::string::npos);
  ASSERT_NE(details, std::string::npos);
  EXPECT_LT(yaml, details);
  EXPECT_EQ(page.find("alert(2)</script>"), std::string::npos);
}

TEST(Html, SectionsChartsAndCodeTexts) {
  const Report r = hostile_report();
  CodeLookup lookup = [](std::string_view name) -> std::optional<CodeInfo> {
    if (name != "ERROR_IPSEC_IKE_MM_LIMIT") return std::nullopt;
    return CodeInfo{"ERROR_IPSEC_IKE_MM_LIMIT", 13882, "0x363A", "Max number of established MM SAs to peer exceeded."};
  };
  const std::string page = render_html(r, lookup);
  for (const char* id : {"r0-sas", "r0-rate", "r0-latency", "r1-sas", "sweep-reneg", "sweep-failures", "sweep-latency"})
    EXPECT_NE(page.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_NE(page.find("Max number of established MM SAs to peer exceeded."), std::string::npos);
  EXPECT_NE(page.find("13882"), std::string::npos);
  EXPECT_NE(page.find("FAILED"), std::string::npos);
  EXPECT_NE(page.find("real_xfrm"), std::string::npos);
  EXPECT_NE(page.find("uPlot"), std::string::npos);  // the library is inlined
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);
  EXPECT_EQ(page.find("href=\"http"), std::string::npos);
  // Without a lookup the value and hex still come from the failure records.
  const std::string bare = render_html(r);
  EXPECT_NE(bare.find("0x363A"), std::string::npos);
  EXPECT_EQ(bare.find("Max number of established"), std::string::npos);
  EXPECT_EQ(run_label(r.runs[1]), "run-2 (peers.child.rekey_time=5m)");
}

TEST(Html, TrapTrafficSectionOnlyWithTrapTraffic) {
  Report r = hostile_report();
  const std::string without = render_html(r);
  EXPECT_EQ(without.find("Trap traffic"), std::string::npos);
  EXPECT_EQ(without.find("trap-traffic"), std::string::npos);
  EXPECT_EQ(without.find("trap traffic lost"), std::string::npos);

  // Point 2 only, as in a sweep where one point sends trap traffic.
  auto& run = r.runs[1];
  TrapTrafficSummary t;
  t.peers = 3;
  t.sent = 300;
  t.received_by_sut = 230;
  t.lost = 70;
  t.peers_xfrm_out_no_states = 70;
  t.peers_xfrm_out_no_states_after_connect = 41;
  t.sut_xfrm_in_no_states = 7;
  t.lost_is_no_state = true;
  run.trap_traffic = t;
  run.trap_traffic_peers = {{"p0", 100, 0, 80, 20, 3}, {kHostile, 100, 0, 50, 50, 4}, {"p2", 100, 0, 100, 0, 1}};
  const std::string page = render_html(r);
  EXPECT_EQ(count(page, "<h3>Trap traffic</h3>"), 1u);
  const auto section_at = page.find("<h3>Trap traffic</h3>");
  EXPECT_GT(section_at, page.find("<section class=\"run\" id=\"r1\">"));  // in its own run's section
  EXPECT_NE(page.find("<div class=\"v\">70 / 300</div><div class=\"k\">trap traffic lost / sent</div>"),
            std::string::npos);
  const std::string summary = between(page, "<table class=\"trap-traffic\">", "</table>");
  for (const char* row : {"<th>datagrams sent</th><td class=\"num\">300</td>",
                          "<th>received by the SUT</th><td class=\"num\">230</td>",
                          "<th>lost (sent - received)</th><td class=\"num bad\">70</td>",
                          "<th>XfrmOutNoStates, the peers' kernel</th><td class=\"num\">70</td>",
                          "<th>&hellip; of them after the connect phase</th><td class=\"num\">41</td>",
                          "<th>XfrmInNoStates, the SUT's kernel</th><td class=\"num\">7</td>",
                          "<th>lost == XfrmOutNoStates</th><td class=\"ok\">yes"})
    EXPECT_NE(summary.find(row), std::string::npos) << row;
  EXPECT_EQ(summary.find("sends the kernel refused"), std::string::npos);  // none refused: no row
  // Per peer, most lost first; the peer's name escaped like every other peer name.
  const std::string peers = between(page, "<table class=\"trap-traffic-peers\">", "</table>");
  const auto hostile = peers.find("<tr><td>" + html_escape(kHostile) + "</td><td class=\"num\">100</td><td class=\"num\">"
                                  "50</td><td class=\"num bad\">50</td><td class=\"num\">4</td></tr>");
  const auto p0 = peers.find("<tr><td>p0</td><td class=\"num\">100</td><td class=\"num\">80</td><td class=\"num bad\">20"
                             "</td><td class=\"num\">3</td></tr>");
  const auto p2 = peers.find("<tr><td>p2</td>");
  ASSERT_NE(hostile, std::string::npos) << peers;
  ASSERT_NE(p0, std::string::npos) << peers;
  ASSERT_NE(p2, std::string::npos) << peers;
  EXPECT_LT(hostile, p0);
  EXPECT_LT(p0, p2);
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
  EXPECT_EQ(page.find("more peers in report.json"), std::string::npos);

  run.trap_traffic->lost_is_no_state = false;
  run.trap_traffic->send_errors = 2;
  const std::string unattributed = render_html(r);
  EXPECT_NE(unattributed.find("<th>lost == XfrmOutNoStates</th><td class=\"warn\">no: "), std::string::npos);
  EXPECT_NE(unattributed.find("<th>sends the kernel refused</th><td class=\"num warn\">2</td>"), std::string::npos);
}

TEST(Html, TrapTrafficPerPeerTableIsCapped) {
  Report r = hostile_report();
  r.runs.resize(1);
  auto& run = r.runs[0];
  run.trap_traffic = TrapTrafficSummary{};
  for (uint64_t i = 0; i < 503; ++i)  // peer pI lost I datagrams
    run.trap_traffic_peers.push_back({"p" + std::to_string(i), 600, 0, 600 - i, i, 1});
  const std::string page = render_html(r);
  const std::string peers = between(page, "<table class=\"trap-traffic-peers\">", "</table>");
  EXPECT_EQ(count(peers, "<tr><td>"), 500u);
  EXPECT_EQ(peers.find("<tr><td>p502</td>"), peers.find("<tr><td>"));  // the most lost first
  EXPECT_NE(peers.find("<tr><td>p3</td>"), std::string::npos);
  for (const char* dropped : {"<tr><td>p0</td>", "<tr><td>p1</td>", "<tr><td>p2</td>"})
    EXPECT_EQ(peers.find(dropped), std::string::npos) << dropped;
  EXPECT_NE(page.find("</table>\n<p class=\"muted\">3 more peers in report.json.</p>\n</details>"), std::string::npos);
}

TEST(Junit, ExpectationsLeaksAndHarnessCases) {
  Report r = hostile_report();
  r.runs[1].summary.leaks = 2;
  r.runs[1].outcome = "interrupted";
  r.runs[0].expectations[0].expr = std::string("bell\x07 <x>", 9);
  const std::string x = render_junit(r);
  EXPECT_EQ(x.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0), 0u);
  EXPECT_EQ(count(x, "<testsuite "), 2u);
  EXPECT_EQ(count(x, "<testcase "), 8u);  // 2 expectations + leaks + harness, per run
  EXPECT_NE(x.find("tests=\"8\" failures=\"3\" errors=\"1\""), std::string::npos);
  EXPECT_NE(x.find("message=\"expected established_ratio &gt;= 1, observed 0.5\""), std::string::npos);
  EXPECT_NE(x.find("<failure type=\"leak\""), std::string::npos);
  EXPECT_NE(x.find("<error type=\"harness\" message=\"run outcome: interrupted\""), std::string::npos);
  EXPECT_NE(x.find("classname=\"sweep&lt;x&gt;.run-2[peers.child.rekey_time=5m]\""), std::string::npos);
  EXPECT_EQ(x.find('\x07'), std::string::npos);
  EXPECT_EQ(x.find("<script"), std::string::npos);
}

TEST(Junit, SutDiedIsAFailureNotAnError) {
  Report r = hostile_report();
  r.runs.resize(1);
  r.runs[0].expectations.clear();
  r.runs[0].outcome = "sut-died";
  const std::string x = render_junit(r);
  EXPECT_NE(x.find("tests=\"2\" failures=\"1\" errors=\"0\""), std::string::npos);
  EXPECT_NE(x.find("<failure type=\"outcome\" message=\"run outcome: sut-died\""), std::string::npos);
}
