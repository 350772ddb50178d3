#include <gtest/gtest.h>

#include "netns/namespace.hpp"
#include "netns/rtnl.hpp"
#include "netns_support.hpp"

namespace ist::netns {
namespace {

using testing::NetnsTest;

// Links beyond the default topology (the vm backend's bridge and tap, more namespaces):
// create, move, enslave, MTU, up/down, all inside namespaces of this run.
TEST_F(NetnsTest, LinksAreCreatedMovedEnslavedAndConfigured) {
  auto a = Namespace::create(state(), "linka");
  auto b = Namespace::create(state(), "linkb");
  ASSERT_TRUE(a.ok() && b.ok());
  auto sa = a->open_netlink();
  auto sb = b->open_netlink();
  ASSERT_TRUE(sa.ok() && sb.ok());
  const std::string v0 = link_name(state().run_id(), "v0"), v1 = link_name(state().run_id(), "v1");
  const std::string br = link_name(state().run_id(), "br");

  // Both ends born in a, then one moved to b.
  ASSERT_TRUE(create_veth_pair(*sa, v0, v1, a->fd(), 1500).ok());
  auto v1_in_a = link_info(*sa, v1);
  ASSERT_TRUE(v1_in_a.ok());
  ASSERT_TRUE(move_link_to_netns(*sa, v1_in_a->ifindex, b->fd()).ok());
  EXPECT_FALSE(link_info(*sa, v1).ok());
  ASSERT_TRUE(link_info(*sb, v1).ok());

  ASSERT_TRUE(create_simple_link(*sa, br, "bridge").ok());
  auto bridge = link_info(*sa, br);
  auto port = link_info(*sa, v0);
  ASSERT_TRUE(bridge.ok() && port.ok());
  EXPECT_FALSE(port->up);
  EXPECT_EQ(port->master, 0);

  ASSERT_TRUE(set_link_master(*sa, port->ifindex, bridge->ifindex).ok());
  ASSERT_TRUE(set_link_mtu(*sa, port->ifindex, 1400).ok());
  ASSERT_TRUE(set_link_up(*sa, port->ifindex).ok());
  port = link_info(*sa, v0);
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(port->master, bridge->ifindex);
  EXPECT_EQ(port->mtu, 1400u);
  EXPECT_TRUE(port->up);

  ASSERT_TRUE(set_link_down(*sa, port->ifindex).ok());
  ASSERT_TRUE(set_link_master(*sa, port->ifindex, 0).ok());
  port = link_info(*sa, v0);
  ASSERT_TRUE(port.ok());
  EXPECT_FALSE(port->up);
  EXPECT_EQ(port->master, 0);

  // Errors name the request: a second link of the same name.
  auto dup = create_simple_link(*sa, br, "bridge");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().describe().find("creating bridge link " + br), std::string::npos) << dup.error().describe();
}

TEST_F(NetnsTest, BulkAddressesAreAddedAndRemovedAndErrorsNameTheAddress) {
  auto ns = Namespace::create(state(), "addr");
  ASSERT_TRUE(ns.ok());
  auto sock = ns->open_netlink();
  ASSERT_TRUE(sock.ok());
  std::vector<IpPrefix> addrs;
  for (int i = 0; i < 3000; ++i) addrs.push_back({IpAddress::parse("198.19.0.1")->plus(i), 32});
  ASSERT_TRUE(add_addresses(*sock, 1, addrs).ok());
  EXPECT_EQ(testing::ip_output({"-o", "-4", "addr", "show", "dev", "lo"}, ns->name()).find("198.19.11.184/32") !=
                std::string::npos,
            true);

  // One duplicate in the middle of a batch: the error names it, the rest still applies.
  std::vector<IpPrefix> again{{*IpAddress::parse("198.18.1.1"), 32}, addrs[1500], {*IpAddress::parse("198.18.1.2"), 32}};
  auto st = add_addresses(*sock, 1, again);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().describe().find("adding address 198.19.5.221/32"), std::string::npos) << st.error().describe();
  const std::string after = testing::ip_output({"-o", "-4", "addr", "show", "dev", "lo"}, ns->name());
  EXPECT_NE(after.find("198.18.1.2/32"), std::string::npos);

  ASSERT_TRUE(remove_addresses(*sock, 1, addrs).ok());
  EXPECT_EQ(testing::ip_output({"-o", "-4", "addr", "show", "dev", "lo"}, ns->name()).find("198.19."), std::string::npos);

  // Addresses outside the harness's ranges are refused before anything is sent.
  auto outside = add_addresses(*sock, 1, {{*IpAddress::parse("10.0.0.1"), 32}});
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.error().describe().find("outside the harness's ranges"), std::string::npos);
}

}  // namespace
}  // namespace ist::netns
