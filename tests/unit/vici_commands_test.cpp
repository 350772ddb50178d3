// Typed commands: what they send (checked at the fake server) and how replies and events
// are parsed.
#include <gtest/gtest.h>

#include "vici/commands.hpp"
#include "vici_fake_server.hpp"

namespace ist::vici {
namespace {

using namespace std::chrono_literals;
using fake::kv;
using fake::Pair;

Message from_json(const char* text) {
  return Message::from_json(nlohmann::ordered_json::parse(text)).value();
}

TEST(ViciCommands, ControlCommandsSendTheRightArguments) {
  struct Case {
    const char* what;
    std::function<void(Session&, Done<Outcome>)> call;
    std::string command;
    std::string args_json;
  } cases[] = {
      {"initiate never blocks a worker",
       [](Session& s, Done<Outcome> d) { initiate(s, {.child = "net", .ike = "peer-1"}, d); },
       "initiate", R"({"child":"net","ike":"peer-1","timeout":"-1","init-limits":"no"})"},
      {"terminate defaults to timeout -1",
       [](Session& s, Done<Outcome> d) { terminate(s, {.ike_id = 7, .force = true}, d); },
       "terminate", R"({"ike-id":"7","force":"yes","timeout":"-1"})"},
      {"rekey by child id",
       [](Session& s, Done<Outcome> d) { rekey(s, {.child_id = 3, .reauth = true}, d); }, "rekey",
       R"({"child-id":"3","reauth":"yes"})"},
      {"unload-conn", [](Session& s, Done<Outcome> d) { unload_conn(s, "peer-9", d); },
       "unload-conn", R"({"name":"peer-9"})"},
      {"load-shared with owners",
       [](Session& s, Done<Outcome> d) {
         load_shared(s, {.data = "s3cret", .owners = {"198.19.0.1", "gw"}, .id = "psk-1"}, d);
       },
       "load-shared", R"({"id":"psk-1","type":"IKE","data":"s3cret","owners":["198.19.0.1","gw"]})"},
      {"reload-settings", [](Session& s, Done<Outcome> d) { reload_settings(s, d); },
       "reload-settings", "{}"},
  };
  for (const auto& c : cases) {
    Pair t;
    std::optional<Result<Outcome>> out;
    c.call(*t.session, [&](Result<Outcome> r) { out.emplace(std::move(r)); });
    auto got = t.receive(1);
    ASSERT_EQ(got.size(), 1u) << c.what;
    EXPECT_EQ(got[0].name, c.command) << c.what;
    EXPECT_EQ(got[0].message.to_json().dump(), c.args_json) << c.what;
    Message reply;
    reply.set("success", "no").set("errmsg", "CHILD_SA config 'net' not found");
    t.server->respond(reply);
    t.run([&] { return out.has_value(); });
    ASSERT_TRUE(out && *out) << c.what;
    EXPECT_FALSE((*out)->success);  // the daemon's "no" is data, not an Error
    EXPECT_EQ((*out)->errmsg, "CHILD_SA config 'net' not found");
  }
}

TEST(ViciCommands, LoadConnsPipelinesWithinTheWindowAndNamesFailures) {
  Pair t;
  std::vector<Message> reqs;
  for (int i = 0; i < 10; ++i) {
    Message m;
    m.section("peer-" + std::to_string(i)).list("remote_addrs", {"198.19.0." + std::to_string(i)});
    reqs.push_back(std::move(m));
  }
  std::optional<Result<LoadConnsReport>> report;
  load_conns(*t.session, reqs, [&](Result<LoadConnsReport> r) { report.emplace(std::move(r)); }, 3);
  std::size_t max_in_flight = 0;
  int answered = 0;
  while (!report && answered < 10) {
    auto got = t.receive(1);
    max_in_flight = std::max(max_in_flight, t.session->in_flight());
    for (auto& p : got) {
      ASSERT_EQ(p.name, "load-conn");
      const std::string name = p.message.elements().at(0).name;
      Message reply;
      if (name == "peer-4" || name == "peer-7")
        reply.set("success", "no").set("errmsg", "invalid remote_addrs");
      else
        reply.set("success", "yes");
      t.server->respond(reply);
      ++answered;
    }
  }
  t.run([&] { return report.has_value(); });
  ASSERT_TRUE(report && *report);
  EXPECT_EQ((*report)->loaded, 8u);
  ASSERT_EQ((*report)->failed.size(), 2u);
  EXPECT_EQ((*report)->failed[0], std::make_pair(std::string("peer-4"), std::string("invalid remote_addrs")));
  EXPECT_EQ((*report)->failed[1].first, "peer-7");
  EXPECT_LE(max_in_flight, 3u);
}

TEST(ViciCommands, GetCountersWithoutThePluginIsNotSupportedNotAnError) {
  Pair t;
  std::optional<Result<Counters>> out;
  get_counters(*t.session, "", [&](Result<Counters> r) { out.emplace(std::move(r)); }, true);
  auto got = t.receive(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message.to_json().dump(), R"({"all":"yes"})");
  t.server->send(PacketType::cmd_unknown);
  t.run([&] { return out.has_value(); });
  ASSERT_TRUE(out && *out);
  EXPECT_FALSE((*out)->supported);

  auto parsed = parse_counters(from_json(
      R"({"counters":{"":{"ike-rekey-init":"2","ike-rekey-resp":"1"},"peer-1":{"ike-rekey-init":"2"}},"success":"yes"})"));
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->supported);
  ASSERT_EQ(parsed->by_name.size(), 2u);
  EXPECT_EQ(parsed->by_name[0].first, "");
  EXPECT_EQ(parsed->by_name[0].second[1], std::make_pair(std::string("ike-rekey-resp"), uint64_t{1}));
}

TEST(ViciCommands, ListSasParsesEachStreamedIkeSa) {
  Pair t;
  std::optional<Result<std::vector<IkeSaInfo>>> out;
  list_sas(*t.session, {}, [&](auto r) { out.emplace(std::move(r)); });
  auto got = t.receive(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(*got[1].message.get("noblock"), "yes");
  t.server->send(PacketType::event_confirm);
  t.server->event("list-sa", from_json(R"({"peer-1":{
      "uniqueid":"5","version":"2","state":"ESTABLISHED","local-host":"198.18.0.1",
      "local-port":"500","local-id":"198.18.0.1","remote-host":"198.19.0.1","remote-port":"500",
      "remote-id":"peer-1","initiator-spi":"a1b2c3d4e5f60718","responder-spi":"0102030405060708",
      "established":"12","rekey-time":"3500",
      "child-sas":{"net-3":{"name":"net","uniqueid":"3","reqid":"1","state":"INSTALLED",
        "mode":"TUNNEL","protocol":"ESP","spi-in":"c1234567","spi-out":"c7654321",
        "bytes-in":"84","local-ts":["198.18.255.0/24"],"remote-ts":["198.19.128.1/32"]}}}})"));
  t.server->event("list-sa", from_json(R"({"peer-2":{"uniqueid":"6","state":"CONNECTING"}})"));
  t.server->respond(Message{});
  t.server->send(PacketType::event_confirm);
  t.run([&] { return out.has_value(); });
  ASSERT_TRUE(out && *out) << (out ? out->error().describe() : "");
  const auto& sas = **out;
  ASSERT_EQ(sas.size(), 2u);
  EXPECT_EQ(sas[0].name, "peer-1");
  EXPECT_EQ(sas[0].uniqueid, 5u);
  EXPECT_EQ(sas[0].state, "ESTABLISHED");
  EXPECT_EQ(sas[0].remote_host, "198.19.0.1");
  EXPECT_EQ(sas[0].remote_id, "peer-1");
  EXPECT_EQ(sas[0].initiator_spi, "a1b2c3d4e5f60718");
  EXPECT_EQ(sas[0].established_s, 12u);
  ASSERT_EQ(sas[0].children.size(), 1u);
  EXPECT_EQ(sas[0].children[0].name, "net");
  EXPECT_EQ(sas[0].children[0].state, "INSTALLED");
  EXPECT_EQ(sas[0].children[0].spi_in, "c1234567");
  EXPECT_EQ(sas[0].children[0].bytes_in, 84u);
  EXPECT_EQ(sas[0].children[0].remote_ts.at(0), "198.19.128.1/32");
  EXPECT_EQ(sas[1].state, "CONNECTING");
  EXPECT_TRUE(sas[1].children.empty());
}

TEST(ViciCommands, BadNumbersAreErrorsNamingTheKey) {
  auto r = parse_list_sa_event(from_json(R"({"peer-1":{"uniqueid":"five"}})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'uniqueid' is not a number"), std::string::npos);
  EXPECT_FALSE(parse_stats(from_json(R"({"workers":{"total":"-1"}})")));
  EXPECT_FALSE(parse_stats(from_json(R"({"uptime":{"running":"1s"}})")));  // not a stats reply
}

TEST(ViciCommands, ParsesStats) {
  auto s = parse_stats(from_json(R"({
    "uptime":{"running":"5 seconds","since":"Nov 23 19:00:00 2026"},
    "workers":{"total":"16","idle":"11","active":{"critical":"4","high":"0","medium":"1","low":"0"}},
    "queues":{"critical":"0","high":"2","medium":"0","low":"7"},"scheduled":"3",
    "ikesas":{"total":"5000","half-open":"12"},"plugins":["random","nonce","vici"],
    "mallinfo":{"sbrk":"1","mmap":"2","used":"4096","free":"5"}})"));
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(s->uptime_running, "5 seconds");
  EXPECT_EQ(s->workers_total, 16u);
  EXPECT_EQ(s->workers_idle, 11u);
  EXPECT_EQ(s->workers_active.critical, 4u);
  EXPECT_EQ(s->queues.low, 7u);
  EXPECT_EQ(s->scheduled, 3u);
  EXPECT_EQ(s->ikesas_total, 5000u);
  EXPECT_EQ(s->ikesas_half_open, 12u);
  EXPECT_EQ(s->plugins.size(), 3u);
  EXPECT_EQ(s->mallinfo_used, 4096u);
}

TEST(ViciCommands, ParsesEvents) {
  auto up = parse_ike_updown(from_json(R"({"up":"yes","peer-1":{"uniqueid":"9","state":"ESTABLISHED"}})"));
  ASSERT_TRUE(up);
  EXPECT_TRUE(up->up);
  EXPECT_EQ(up->sa.name, "peer-1");
  EXPECT_EQ(up->sa.uniqueid, 9u);

  auto down = parse_child_updown(from_json(
      R"({"peer-1":{"uniqueid":"9","child-sas":{"net-4":{"name":"net","uniqueid":"4","state":"DELETING"}}}})"));
  ASSERT_TRUE(down);
  EXPECT_FALSE(down->up);
  ASSERT_EQ(down->ike.children.size(), 1u);
  EXPECT_EQ(down->ike.children[0].uniqueid, 4u);

  auto ike_rekey = parse_ike_rekey(from_json(
      R"({"peer-1":{"old":{"uniqueid":"9","state":"REKEYED"},"new":{"uniqueid":"12","state":"ESTABLISHED"}}})"));
  ASSERT_TRUE(ike_rekey);
  EXPECT_EQ(ike_rekey->old_sa.uniqueid, 9u);
  EXPECT_EQ(ike_rekey->new_sa.uniqueid, 12u);
  EXPECT_FALSE(parse_ike_rekey(from_json(R"({"peer-1":{"old":{}}})")));

  auto child_rekey = parse_child_rekey(from_json(
      R"({"peer-1":{"uniqueid":"9","child-sas":{"net-4":{"old":{"name":"net","uniqueid":"4"},"new":{"name":"net","uniqueid":"5"}}}}})"));
  ASSERT_TRUE(child_rekey) << child_rekey.error().describe();
  EXPECT_EQ(child_rekey->ike.uniqueid, 9u);
  EXPECT_TRUE(child_rekey->ike.children.empty());
  EXPECT_EQ(child_rekey->old_child.uniqueid, 4u);
  EXPECT_EQ(child_rekey->new_child.uniqueid, 5u);

  auto log = parse_log(from_json(
      R"({"group":"IKE","level":"1","thread":"12","ikesa-name":"peer-1","ikesa-uniqueid":"9","msg":"giving up after 3 retransmits"})"));
  ASSERT_TRUE(log);
  EXPECT_EQ(log->group, "IKE");
  EXPECT_EQ(log->level, 1);
  EXPECT_EQ(log->ike_uniqueid, 9u);
  EXPECT_EQ(log->msg, "giving up after 3 retransmits");
}

TEST(ViciCommands, EventSubscriptionsDeliverParsedEvents) {
  Pair t;
  std::vector<IkeUpDown> ups;
  on_ike_updown(*t.session, [&](Result<IkeUpDown> r) {
    ASSERT_TRUE(r);
    ups.push_back(std::move(r).value());
  });
  auto got = t.receive(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "ike-updown");
  t.server->send(PacketType::event_confirm);
  t.server->event("ike-updown", from_json(R"({"up":"yes","peer-3":{"uniqueid":"1"}})"));
  t.run([&] { return ups.size() == 1; });
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_EQ(ups[0].sa.name, "peer-3");
}

TEST(ViciCommands, WaitRunsTheLoopUntilTheAnswer) {
  Pair t;
  t.server->respond(from_json(R"({"daemon":"charon","version":"5.9.8","sysname":"Linux"})"));
  auto v = wait<VersionInfo>(*t.session, [&](Done<VersionInfo> d) { version(*t.session, d); });
  ASSERT_TRUE(v) << v.error().describe();
  EXPECT_EQ(v->version, "5.9.8");
}

}  // namespace
}  // namespace ist::vici
