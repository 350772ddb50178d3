#pragma once
// Shared by the auth and gateway privileged tests: the two-namespace fixture (see
// two_namespace_fixture.hpp) with peer connections, and helpers to load vici requests and
// wait for a tunnel.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "charon/auth_material.hpp"
#include "charon/conn_spec.hpp"
#include "charon/instance.hpp"
#include "common/event_loop.hpp"
#include "common/named_netns.hpp"
#include "common/run_state.hpp"
#include "netns/topology.hpp"
#include "two_namespace_fixture.hpp"
#include "vici/session.hpp"

namespace ist::charon::test {

using namespace std::chrono_literals;

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class TwoNamespaces : public ist::test::TwoNamespaceFixture {
 protected:
  TwoNamespaces() : TwoNamespaceFixture("auth-test") {}

  InstanceOptions options(const std::string& name, Role role) {
    InstanceOptions o = instance_options(name, role, Backend::libipsec);
    o.settings.filelog.default_level = 1;
    return o;
  }

  // The initiator ConnSpec for peer i of the topology, before authentication is applied.
  ConnSpec peer_conn(std::size_t i) const {
    ConnSpec c;
    c.name = "p" + std::to_string(i);
    c.local_addrs = {topo_->peer_ike_address(i).str()};
    c.remote_addrs = {topo_->sut_ike_address().str()};
    c.local_id = "peer-" + std::to_string(i) + ".ikestorm.test";
    c.remote_id = "sut.ikestorm.test";
    c.ike = ike_lifetimes_from_rekey(3600s);
    c.child = child_lifetimes_from_rekey(1200s);
    c.local_ts = {topo_->peer_inner_address(i).str() + "/32"};
    c.remote_ts = {topo_->sut_subnet().str()};
    return c;
  }
};

// A vici request that must succeed ("success = yes" where the command reports it).
inline void must(vici::Session& s, std::string_view cmd, const vici::Message& args) {
  auto r = s.call(cmd, args, 10s);
  ASSERT_TRUE(r.ok()) << cmd << ": " << r.error().describe();
  EXPECT_EQ(r->get_or("success", "yes"), "yes") << cmd << ": " << r->get_or("errmsg", "");
}

inline void must_all(vici::Session& s, const std::vector<ViciRequest>& reqs) {
  for (const auto& r : reqs) must(s, r.command, r.body);
}

inline void must_load_conn(vici::Session& s, const ConnSpec& c) {
  auto m = to_load_conn(c);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  must(s, "load-conn", *m);
}

struct UpCount {
  int ike_up = 0;
  int child_up = 0;
};

// Subscribes to the initiator's up events, initiates every connection in `conns` with
// timeout = -1, and runs the loop until all CHILD_SAs are up or `limit` passed.
inline UpCount initiate_all(EventLoop& loop, vici::Session& s, const std::vector<std::string>& conns,
                            std::chrono::milliseconds limit = 15s, const std::string& child = "net") {
  UpCount ev;
  const auto ike_sub = s.subscribe("ike-updown", [&](std::string_view, const vici::Message& m) {
    if (m.get_or("up", "no") == "yes") ++ev.ike_up;
  });
  const auto child_sub = s.subscribe("child-updown", [&](std::string_view, const vici::Message& m) {
    if (m.get_or("up", "no") == "yes") ++ev.child_up;
  });
  for (const auto& c : conns) {
    vici::Message args;
    args.set("ike", c).set("child", child).set("timeout", "-1");
    must(s, "initiate", args);
  }
  const int want = static_cast<int>(conns.size());
  auto r = loop.run_until([&] { return ev.child_up >= want; }, loop.clock().now() + limit);
  EXPECT_TRUE(r.ok());
  s.unsubscribe(ike_sub);  // the handlers refer to this frame
  s.unsubscribe(child_sub);
  return ev;
}

// The SUT's IKE_SAs as list-sas reports them.
inline std::vector<vici::Message> list_sas(vici::Session& s) {
  auto r = s.call_stream("list-sas", "list-sa", {}, 10s);
  EXPECT_TRUE(r.ok()) << r.error().describe();
  std::vector<vici::Message> sas;
  if (!r.ok()) return sas;
  for (auto& item : r->items)
    for (const auto& e : item.elements())
      if (e.kind == vici::Element::Kind::section) sas.push_back(*e.section);
  return sas;
}

}  // namespace ist::charon::test
