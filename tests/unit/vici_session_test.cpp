// Session against a fake vici server on the other end of a socketpair. Everything runs on
// one thread: the test pumps the loop and the fake server in turn.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

#include "vici/session.hpp"
#include "vici_fake_server.hpp"

namespace ist::vici {
namespace {

using namespace std::chrono_literals;
using fake::FakeServer;
using fake::kv;
using fake::Pair;

TEST(ViciSession, PipelinedRequestsAreAnsweredInOrder) {
  Pair t;
  std::vector<std::string> answers;
  for (std::string cmd : {"version", "stats", "get-conns"})
    t.session->request(cmd, kv("arg", cmd), [&answers, cmd](Result<Message> r) {
      ASSERT_TRUE(r) << r.error().describe();
      answers.push_back(cmd + "=" + r->get_or("answer", "?"));
    });
  EXPECT_EQ(t.session->in_flight(), 3u);
  auto got = t.receive(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].name, "version");
  EXPECT_EQ(got[1].name, "stats");
  EXPECT_EQ(*got[2].message.get("arg"), "get-conns");
  for (const char* a : {"A", "B", "C"}) t.server->respond(kv("answer", a));
  t.run([&] { return answers.size() == 3; });
  EXPECT_EQ(answers, (std::vector<std::string>{"version=A", "stats=B", "get-conns=C"}));
  EXPECT_EQ(t.session->in_flight(), 0u);
}

TEST(ViciSession, ThousandsOfQueuedRequestsDrainThroughTheOutputBuffer) {
  Pair t;
  constexpr int kRequests = 5000;
  Message big;
  big.set("payload", std::string(2000, 'p'));  // ~10 MB in total: far beyond socket buffers
  int answered = 0;
  bool in_order = true;
  for (int i = 0; i < kRequests; ++i)
    t.session->request("load-conn", big, [&answered, &in_order, i](Result<Message> r) {
      in_order = in_order && r && r->get_or("n", "") == std::to_string(i);
      ++answered;
    });
  EXPECT_GT(t.session->queued_bytes(), 5'000'000u);
  auto got = t.run([&] { return t.session->queued_bytes() == 0; }, 20s);
  got = [&] {
    auto more = t.receive(kRequests - got.size());
    got.insert(got.end(), more.begin(), more.end());
    return got;
  }();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kRequests));
  EXPECT_EQ(answered, 0);  // the server has not replied yet
  for (int i = 0; i < kRequests; ++i) t.server->respond(kv("n", std::to_string(i)));
  t.run([&] { return answered == kRequests; }, 20s);
  EXPECT_EQ(answered, kRequests);
  EXPECT_TRUE(in_order);
}

TEST(ViciSession, StreamCollectsItsEventsWhileSubscribersGetTheirs) {
  Pair t;
  std::vector<std::string> updown;
  Status sub_status = Error("not confirmed");
  t.session->subscribe(
      "ike-updown", [&](std::string_view ev, const Message& m) {
        updown.push_back(std::string(ev) + ":" + m.get_or("up", "?"));
      },
      [&](Status s) { sub_status = s; });
  std::vector<std::string> items;
  std::optional<Result<Message>> done;
  t.session->stream(
      "list-conns", "list-conn", Message{},
      [&](Message&& m) { items.push_back(m.elements().at(0).name); },
      [&](Result<Message> r) { done.emplace(std::move(r)); });
  auto got = t.receive(4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].type, PacketType::event_register);
  EXPECT_EQ(got[0].name, "ike-updown");
  EXPECT_EQ(got[1].type, PacketType::event_register);
  EXPECT_EQ(got[1].name, "list-conn");
  EXPECT_EQ(got[2].type, PacketType::cmd_request);
  EXPECT_EQ(got[2].name, "list-conns");
  EXPECT_EQ(got[3].type, PacketType::event_unregister);
  EXPECT_EQ(got[3].name, "list-conn");

  Message c1, c2;
  c1.section("conn-1").set("version", "IKEv2");
  c2.section("conn-2").set("version", "IKEv2");
  t.server->send(PacketType::event_confirm);       // ike-updown
  t.server->send(PacketType::event_confirm);       // list-conn
  t.server->event("list-conn", c1);
  t.server->event("ike-updown", kv("up", "yes"));  // interleaved, not part of the stream
  t.server->event("list-conn", c2);
  t.server->respond(Message{});
  t.server->send(PacketType::event_confirm);       // list-conn unregistered
  t.run([&] { return done.has_value() && t.session->in_flight() == 0; });
  ASSERT_TRUE(done && *done);
  EXPECT_TRUE(sub_status);
  EXPECT_EQ(items, (std::vector<std::string>{"conn-1", "conn-2"}));
  EXPECT_EQ(updown, (std::vector<std::string>{"ike-updown:yes"}));
}

TEST(ViciSession, BlockingCallsWithPrewrittenAnswers) {
  Pair t;
  // charon answers in order, so answers written ahead are matched to the next requests.
  t.server->respond(kv("daemon", "charon"));
  auto v = t.session->call("version");
  ASSERT_TRUE(v) << v.error().describe();
  EXPECT_EQ(*v->get("daemon"), "charon");

  t.server->send(PacketType::event_confirm);
  Message sa;
  sa.section("ike-1").set("state", "ESTABLISHED");
  t.server->event("list-sa", sa);
  t.server->event("list-sa", sa);
  t.server->respond(Message{});
  t.server->send(PacketType::event_confirm);
  auto s = t.session->call_stream("list-sas", "list-sa");
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(s->items.size(), 2u);
  EXPECT_EQ(*s->items[0].get_path("ike-1.state"), "ESTABLISHED");
  auto sent = t.server->pump();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[2].name, "list-sas");
}

TEST(ViciSession, TimeoutKeepsThePlaceAndDropsTheLateReply) {
  Pair t;
  std::optional<Result<Message>> first, second;
  t.session->request("slow", Message{}, [&](Result<Message> r) { first.emplace(std::move(r)); },
                     50ms);
  t.session->request("fast", Message{}, [&](Result<Message> r) { second.emplace(std::move(r)); },
                     5s);
  t.run([&] { return first.has_value(); });
  ASSERT_TRUE(first);
  ASSERT_FALSE(*first);
  EXPECT_EQ(first->error().errno_value, ETIMEDOUT);
  EXPECT_NE(first->error().describe().find("'slow'"), std::string::npos);
  EXPECT_FALSE(second);
  EXPECT_EQ(t.session->in_flight(), 2u);  // the late reply still has its place
  t.server->respond(kv("for", "slow"));
  t.server->respond(kv("for", "fast"));
  t.run([&] { return second.has_value(); });
  ASSERT_TRUE(second && *second);
  EXPECT_EQ(*(*second)->get("for"), "fast");
  EXPECT_TRUE(t.session->is_open());
}

TEST(ViciSession, DaemonClosingMidFrameFailsEveryPendingRequest) {
  Pair t;
  std::vector<Error> errors;
  int closes = 0;
  Error close_error;
  t.session->on_close([&](const Error& e) {
    ++closes;
    close_error = e;
  });
  for (int i = 0; i < 3; ++i)
    t.session->request("cmd" + std::to_string(i), Message{},
                       [&](Result<Message> r) { errors.push_back(r ? Error("ok?!") : r.error()); });
  t.receive(3);
  auto frame = encode_packet(PacketType::cmd_response, "", nullptr).value();
  t.server->respond(kv("a", "b"));              // one complete answer
  t.server->send_raw(frame.substr(0, 3));       // then half a header
  t.server->close();
  t.run([&] { return closes > 0; });
  ASSERT_EQ(closes, 1);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].message, "ok?!");  // the first request was answered normally
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(errors[i].errno_value, ECONNRESET);
    EXPECT_NE(errors[i].describe().find("in the middle of a frame (3 byte(s) of it at byte 11)"),
              std::string::npos)
        << errors[i].describe();
  }
  EXPECT_FALSE(t.session->is_open());
  // Requests after the close fail without touching the dead socket.
  std::optional<Result<Message>> late;
  t.session->request("after", Message{}, [&](Result<Message> r) { late.emplace(std::move(r)); });
  t.run([&] { return late.has_value(); });
  ASSERT_TRUE(late && !*late);
  EXPECT_EQ(late->error().errno_value, ECONNRESET);
}

TEST(ViciSession, BadBytesFromTheDaemonCloseTheSession) {
  struct Case {
    const char* what;
    std::string bytes;
    std::string error_part;
  } cases[] = {
      {"length over the limit", std::string("\x00\x01\x00\x01", 4) + std::string(8, 'x'),
       "frame length 65537 over the limit of 65536 at byte 0"},
      {"unbalanced section", std::string("\x00\x00\x00\x02\x01\x02", 6),
       "SECTION_END without an open section at byte 5"},
      {"unknown element", std::string("\x00\x00\x00\x02\x01\x09", 6),
       "unknown element type 9 at byte 5"},
      {"unknown packet type", std::string("\x00\x00\x00\x01\x63", 5), "unknown packet type 99 at byte 4"},
      {"reply nobody asked for", encode_packet(PacketType::event_confirm, "").value() +
                                     encode_packet(PacketType::event_confirm, "").value(),
       "EVENT_CONFIRM while no registration waits at byte 4"},
      {"client packet from the daemon", encode_packet(PacketType::event_register, "x").value(),
       "sent a client packet (EVENT_REGISTER) at byte 4"},
  };
  for (const auto& c : cases) {
    Pair t(SessionOptions{.max_packet_size = 65536});
    std::optional<Result<Message>> r;
    bool closed = false;
    t.session->on_close([&](const Error&) { closed = true; });
    t.session->request("x", Message{}, [&](Result<Message> m) { r.emplace(std::move(m)); });
    t.receive(1);
    t.server->send_raw(c.bytes);
    t.run([&] { return closed; });
    ASSERT_TRUE(closed) << c.what;
    ASSERT_TRUE(r && !*r) << c.what;
    EXPECT_EQ(r->error().errno_value, EPROTO) << c.what;
    EXPECT_NE(r->error().describe().find(c.error_part), std::string::npos)
        << c.what << " -> " << r->error().describe();
    EXPECT_FALSE(t.session->is_open());
  }
}

TEST(ViciSession, UnknownCommandsAndEventsAreTyped) {
  Pair t;
  std::optional<Result<Message>> counters, stream_done;
  Status sub = ok();
  bool confirmed = false;
  t.session->request("get-counters", Message{},
                     [&](Result<Message> r) { counters.emplace(std::move(r)); });
  t.session->subscribe("alert", [](std::string_view, const Message&) {}, [&](Status s) {
    sub = s;
    confirmed = true;
  });
  t.session->stream("list-nothing", "list-none", Message{}, [](Message&&) {},
                    [&](Result<Message> r) { stream_done.emplace(std::move(r)); });
  t.receive(5);
  t.server->send(PacketType::cmd_unknown);
  t.server->send(PacketType::event_unknown);  // alert
  t.server->send(PacketType::event_unknown);  // list-none
  t.server->respond(Message{});               // list-nothing
  t.server->send(PacketType::event_unknown);  // unregister list-none
  t.run([&] { return stream_done.has_value() && confirmed; });
  ASSERT_TRUE(counters && !*counters);
  EXPECT_EQ(counters->error().errno_value, EOPNOTSUPP);
  ASSERT_FALSE(sub);
  EXPECT_EQ(sub.error().errno_value, ENOENT);
  ASSERT_TRUE(stream_done && !*stream_done);
  EXPECT_EQ(stream_done->error().errno_value, ENOENT);
  EXPECT_TRUE(t.session->is_open());
}

TEST(ViciSession, CallbacksMayDestroyTheSession) {
  Pair t;
  int calls = 0;
  t.session->request("a", Message{}, [&](Result<Message>) {
    ++calls;
    t.session.reset();  // from inside a response callback
  });
  t.session->request("b", Message{}, [&](Result<Message>) { ++calls; });
  t.receive(2);
  t.server->respond(Message{});
  t.server->respond(Message{});
  t.run([&] { return !t.session; });
  EXPECT_EQ(calls, 1);

  Pair u;
  u.session->on_close([&](const Error&) { u.session.reset(); });
  u.session->request("x", Message{}, [&](Result<Message>) { ++calls; });
  u.receive(1);
  u.server->close();
  u.run([&] { return !u.session; });
  EXPECT_EQ(calls, 2);
}

TEST(ViciSession, UnsubscribeStopsDeliveryAndUnregistersLastUser) {
  Pair t;
  int a = 0, b = 0;
  auto ida = t.session->subscribe("log", [&](std::string_view, const Message&) { ++a; });
  auto idb = t.session->subscribe("log", [&](std::string_view, const Message&) { ++b; });
  auto got = t.receive(1);
  ASSERT_EQ(got.size(), 1u);  // one registration for two subscribers
  t.server->send(PacketType::event_confirm);
  t.server->event("log", kv("msg", "one"));
  t.run([&] { return a == 1 && b == 1; });
  t.session->unsubscribe(ida);
  t.server->event("log", kv("msg", "two"));
  t.run([&] { return b == 2; });
  EXPECT_EQ(a, 1);
  EXPECT_TRUE(t.server->pump().empty());  // b still holds the registration
  t.session->unsubscribe(idb);
  got = t.receive(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, PacketType::event_unregister);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ist-vici-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

unique_fd bind_unix(const std::string& path, bool listen) {
  unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  if (listen) {
    EXPECT_EQ(::listen(fd.get(), 4), 0);
  }
  return fd;
}

TEST(ViciSession, ConnectErrorsSayWhatIsWrong) {
  TempDir dir;
  EventLoop loop;
  auto missing = Session::connect(loop, dir.path("missing.vici"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().describe().find("no vici socket at"), std::string::npos);

  { auto stale = bind_unix(dir.path("stale.vici"), false); }  // file stays, nobody listens
  auto refused = Session::connect(loop, dir.path("stale.vici"));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().describe().find("nothing listens"), std::string::npos)
      << refused.error().describe();

  auto too_long = Session::connect(loop, "/" + std::string(200, 'x'));
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().describe().find("longer than"), std::string::npos);
}

TEST(ViciSession, ConnectAndReconnectToAListeningSocket) {
  TempDir dir;
  EventLoop loop;
  auto listener = bind_unix(dir.path("charon.vici"), true);
  auto s = Session::connect(loop, dir.path("charon.vici"));
  ASSERT_TRUE(s) << s.error().describe();
  auto& session = **s;
  session.subscribe("ike-updown", [](std::string_view, const Message&) {});
  unique_fd first(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(first.valid());
  session.close();
  EXPECT_FALSE(session.is_open());
  ASSERT_TRUE(session.reconnect());
  EXPECT_TRUE(session.is_open());
  unique_fd second(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(second.valid());
  FakeServer server(std::move(second));
  std::vector<Packet> got;
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    (void)loop.run_once(5ms);
    got = server.pump();
  }
  ASSERT_EQ(got.size(), 1u);  // the subscription registered again
  EXPECT_EQ(got[0].type, PacketType::event_register);
  EXPECT_EQ(got[0].name, "ike-updown");
}


// A loopback TCP listener on an ephemeral port; `backlog` as listen() takes it.
unique_fd listen_tcp(uint16_t& port, int backlog) {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd.get(), backlog), 0);
  socklen_t len = sizeof a;
  EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  port = ntohs(a.sin_port);
  return fd;
}

TEST(ViciSession, ConnectsOverTcpAndTalks) {
  EventLoop loop;
  uint16_t port = 0;
  auto listener = listen_tcp(port, 4);
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
  EXPECT_TRUE(is_tcp_uri(uri));
  EXPECT_FALSE(is_tcp_uri("/var/run/charon.vici"));
  auto s = Session::connect(loop, uri);
  ASSERT_TRUE(s) << s.error().describe();
  unique_fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid());
  FakeServer server(std::move(conn));
  std::optional<Result<Message>> answer;
  (*s)->request("version", {}, [&](Result<Message> r) { answer.emplace(std::move(r)); });
  std::vector<Packet> got;
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!answer && std::chrono::steady_clock::now() < deadline) {
    (void)loop.run_once(5ms);
    for (auto& p : server.pump()) {
      got.push_back(p);
      server.respond(kv("daemon", "charon"));
    }
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "version");
  ASSERT_TRUE(answer && *answer);
  EXPECT_EQ((*answer)->get_or("daemon", ""), "charon");
  EXPECT_EQ((*s)->socket_path(), uri);
}

TEST(ViciSession, TcpConnectErrorsSayWhatIsWrong) {
  EventLoop loop;
  uint16_t port = 0;
  { auto closed = listen_tcp(port, 1); }  // the port is free again: refused
  auto refused = Session::connect(loop, "tcp://127.0.0.1:" + std::to_string(port));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().errno_value, ECONNREFUSED);
  EXPECT_NE(refused.error().describe().find("nothing listens on vici tcp://127.0.0.1:"),
            std::string::npos) << refused.error().describe();

  for (const char* bad : {"tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000",
                          "tcp://gateway.example:4502", "tcp://[::1:4502", "tcp://127.0.0.1:45x"}) {
    auto r = Session::connect(loop, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().errno_value, EINVAL) << bad;
    EXPECT_NE(r.error().describe().find(std::string("vici address '") + bad + "'"),
              std::string::npos) << r.error().describe();
  }
}

TEST(ViciSession, TcpConnectIsBoundedInTime) {
  // A listener that never accepts, with its accept queue full: the kernel drops further
  // SYNs, as a firewall would, so the connect waits until its own timeout.
  EventLoop loop;
  uint16_t port = 0;
  auto listener = listen_tcp(port, 0);
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
  SessionOptions opts;
  opts.connect_timeout = 300ms;
  std::vector<std::unique_ptr<Session>> filling;
  std::optional<Error> timed_out;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 8 && !timed_out; ++i) {
    auto s = Session::connect(loop, uri, opts);
    if (s) filling.push_back(std::move(s).value());
    else timed_out = s.error();
  }
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(timed_out) << "the accept queue never filled";
  EXPECT_EQ(timed_out->errno_value, ETIMEDOUT) << timed_out->describe();
  EXPECT_NE(timed_out->describe().find("within 300 ms"), std::string::npos) << timed_out->describe();
  EXPECT_LT(took, 3s);
}

}  // namespace
}  // namespace ist::vici
