#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/named_netns.hpp"
#include "netns/namespace.hpp"
#include "netns/sysctl.hpp"
#include "netns_support.hpp"

namespace ist::netns {
namespace {

using testing::NetnsTest;

bool journaled(RunState& state, const std::string& name) {
  auto live = state.live_resources();
  return live.ok() && std::any_of(live->begin(), live->end(), [&](const Resource& r) {
           return r.kind == resource_kind::netns && r.name == name;
         });
}

ino_t netns_inode_of_this_thread() {
  struct stat st {};
  ::stat("/proc/thread-self/ns/net", &st);
  return st.st_ino;
}

TEST_F(NetnsTest, NamespaceIsJournaledEnteredAndRemoved) {
  auto ns = Namespace::create(state(), "sut");
  ASSERT_TRUE(ns.ok()) << ns.error().describe();
  EXPECT_EQ(ns->name(), "ist-" + state().run_id() + "-sut");
  EXPECT_TRUE(named_netns_exists(ns->name()));
  EXPECT_TRUE(journaled(state(), ns->name()));

  // Code run inside sees another namespace than the host's, and its own /proc/sys/net.
  const ino_t host = netns_inode_of_this_thread();
  ino_t inside = 0;
  std::string forwarding;
  ASSERT_TRUE(ns->run_in([&]() -> Status {
    inside = netns_inode_of_this_thread();
    IST_TRY(write_sysctl({"net.ipv4.ip_forward", "1"}));
    IST_TRY_ASSIGN(forwarding, read_sysctl("net.ipv4.ip_forward"));
    return ok();
  }).ok());
  EXPECT_NE(inside, 0u);
  EXPECT_NE(inside, host);
  EXPECT_EQ(forwarding, "1");
  EXPECT_EQ(netns_inode_of_this_thread(), host);  // the caller's thread never moved

  // A socket made inside stays there: its namespace is the one of the file.
  auto sock = ns->open_socket(AF_INET, SOCK_DGRAM);
  ASSERT_TRUE(sock.ok());
  struct stat ns_file {};
  ASSERT_EQ(::stat(ns->path().c_str(), &ns_file), 0);
  EXPECT_EQ(ns_file.st_ino, inside);

  const std::string name = ns->name();
  ASSERT_TRUE(ns->destroy().ok());
  EXPECT_FALSE(named_netns_exists(name));
  EXPECT_FALSE(journaled(state(), name));
  EXPECT_TRUE(ns->destroy().ok());  // idempotent
}

TEST_F(NetnsTest, DestructorRemovesTheNamespace) {
  std::string name;
  {
    auto ns = Namespace::create(state(), "peers");
    ASSERT_TRUE(ns.ok()) << ns.error().describe();
    name = ns->name();
    Namespace moved = std::move(ns).value();  // ownership moves, removal happens once
    EXPECT_TRUE(named_netns_exists(name));
  }
  EXPECT_FALSE(named_netns_exists(name));
  EXPECT_FALSE(journaled(state(), name));
}

TEST_F(NetnsTest, ExistingNameIsAClearErrorAndIsLeftAlone) {
  auto first = Namespace::create(state(), "sut");
  ASSERT_TRUE(first.ok()) << first.error().describe();
  auto second = Namespace::create(state(), "sut");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().describe(),
            "network namespace " + first->name() + " already exists (/run/netns/" + first->name() + ")");
  // The failed attempt neither removed nor un-journaled the first one.
  EXPECT_TRUE(named_netns_exists(first->name()));
  EXPECT_TRUE(journaled(state(), first->name()));
}

TEST_F(NetnsTest, BadRoleIsRefusedBeforeAnythingExists) {
  auto ns = Namespace::create(state(), "../etc");
  ASSERT_FALSE(ns.ok());
  EXPECT_NE(ns.error().describe().find("bad namespace role"), std::string::npos);
}

}  // namespace
}  // namespace ist::netns
