#pragma once
// A fake vici server on the other end of a socketpair, and a loop + session pair to drive
// it. Everything runs on one thread: tests pump the loop and the fake server in turn.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vici/session.hpp"

namespace ist::vici::fake {

using namespace std::chrono_literals;

class FakeServer {
 public:
  explicit FakeServer(unique_fd fd) : fd_(std::move(fd)) {
    ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) | O_NONBLOCK);
  }
  // Writes what it can of its output, reads whatever arrived and returns the complete
  // packets.
  std::vector<Packet> pump() {
    flush();
    std::vector<Packet> got;
    char buf[65536];
    while (fd_) {
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n <= 0) break;
      reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
    while (true) {
      auto f = reader_.next();
      EXPECT_TRUE(f);
      if (!f || !*f) break;
      auto p = decode_packet(**f);
      EXPECT_TRUE(p);
      if (p) got.push_back(std::move(p).value());
    }
    return got;
  }
  // Queued; written as far as the socket takes it now, the rest by pump().
  void send_raw(const std::string& bytes) {
    out_ += bytes;
    flush();
  }
  void flush() {
    while (fd_ && !out_.empty()) {
      ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        if (n < 0 && errno != EAGAIN) out_.clear();  // the session hung up
        return;
      }
      out_.erase(0, static_cast<std::size_t>(n));
    }
  }
  void send(PacketType t, std::string_view name = "", const Message* m = nullptr) {
    send_raw(encode_packet(t, name, m).value());
  }
  void respond(const Message& m) { send(PacketType::cmd_response, "", &m); }
  void event(std::string_view name, const Message& m) { send(PacketType::event, name, &m); }
  void close() {
    flush();
    fd_.reset();
  }

 private:
  unique_fd fd_;
  FrameReader reader_;
  std::string out_;
};

struct Pair {
  EventLoop loop;
  std::unique_ptr<Session> session;
  std::unique_ptr<FakeServer> server;

  explicit Pair(SessionOptions opts = {}) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    auto s = Session::adopt(loop, unique_fd(sv[0]), opts);
    EXPECT_TRUE(s);
    session = std::move(s).value();
    server = std::make_unique<FakeServer>(unique_fd(sv[1]));
  }
  // Runs the loop until `done` (bounded), collecting what the server received.
  std::vector<Packet> run(const std::function<bool()>& done, std::chrono::milliseconds max = 2s) {
    std::vector<Packet> got;
    auto deadline = std::chrono::steady_clock::now() + max;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      (void)loop.run_once(5ms);
      for (auto& p : server->pump()) got.push_back(std::move(p));
    }
    for (auto& p : server->pump()) got.push_back(std::move(p));
    return got;
  }
  // Waits until the server has received `n` packets.
  std::vector<Packet> receive(std::size_t n) {
    std::vector<Packet> got;
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
      (void)loop.run_once(5ms);
      for (auto& p : server->pump()) got.push_back(std::move(p));
    }
    return got;
  }
};

inline Message kv(std::string_view k, std::string_view v) {
  Message m;
  m.set(k, v);
  return m;
}

}  // namespace ist::vici::fake
