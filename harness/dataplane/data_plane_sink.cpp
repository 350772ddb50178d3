#include "dataplane/data_plane_sink.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <nlohmann/json.hpp>

namespace ist::fleet {

namespace {

constexpr uint32_t kMaxPeer = 10'000'000;  // bounds the per-peer table against a bogus tag

nlohmann::json counts_json(const SinkCounts& c) {
  nlohmann::json faults = nlohmann::json::object();
  for (size_t k = 0; k < kProbeKinds; ++k)
    if (c.faults[k] > 0) faults[to_string(static_cast<ProbeKind>(k))] = c.faults[k];
  return {{"received", c.received}, {"echoed", c.echoed}, {"faults", std::move(faults)}};
}

SinkCounts counts_of(const nlohmann::json& j) {
  SinkCounts c;
  c.received = j.value("received", uint64_t{0});
  c.echoed = j.value("echoed", uint64_t{0});
  if (auto f = j.find("faults"); f != j.end() && f->is_object())
    for (size_t k = 0; k < kProbeKinds; ++k)
      c.faults[k] = f->value(std::string(to_string(static_cast<ProbeKind>(k))), uint64_t{0});
  return c;
}

}  // namespace

std::string sink_tally_json(const SinkTally& t) {
  nlohmann::json peers = nlohmann::json::object();
  for (size_t p = 0; p < t.peers.size(); ++p) {
    const SinkCounts& c = t.peers[p];
    bool any = c.received > 0 || c.echoed > 0;
    for (auto f : c.faults) any = any || f > 0;
    if (any) peers[std::to_string(p)] = counts_json(c);
  }
  return nlohmann::json{{"total", counts_json(t.total)},
                        {"peers", std::move(peers)},
                        {"misrouted", t.misrouted},
                        {"unrecognized", t.unrecognized},
                        {"echo_errors", t.echo_errors}}
      .dump();
}

Result<SinkTally> parse_sink_tally(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error("sink counts: not a JSON object");
  SinkTally t;
  try {
    if (auto it = j.find("total"); it != j.end()) t.total = counts_of(*it);
    if (auto it = j.find("peers"); it != j.end() && it->is_object())
      for (const auto& [key, value] : it->items()) {
        const unsigned long p = std::stoul(key);
        if (p >= kMaxPeer) return Error("sink counts: peer index " + key + " out of range");
        if (p >= t.peers.size()) t.peers.resize(p + 1);
        t.peers[p] = counts_of(value);
      }
    t.misrouted = j.value("misrouted", uint64_t{0});
    t.unrecognized = j.value("unrecognized", uint64_t{0});
    t.echo_errors = j.value("echo_errors", uint64_t{0});
  } catch (const std::exception& e) {  // a wrong type or a non-numeric peer key
    return Error(std::string("sink counts: ") + e.what());
  }
  return t;
}

Status bind_udp4(int fd, const std::array<uint8_t, 4>& address, uint16_t port) {
  int buf = 4 << 20;
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  std::memcpy(&sa.sin_addr, address.data(), 4);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0)
    return Error("binding the data sink's UDP socket", errno);
  return ok();
}

Result<std::unique_ptr<DataSink>> DataSink::open(EventLoop& loop, unique_fd bound,
                                                 std::function<std::array<uint8_t, 4>(uint32_t)> inner_source,
                                                 bool echo) {
  if (!bound.valid()) return Error("data sink: no socket");
  std::unique_ptr<DataSink> s(new DataSink(loop, std::move(bound), std::move(inner_source), echo));
  DataSink* self = s.get();
  IST_TRY(loop.add_fd(s->fd_.get(), EPOLLIN, [self](uint32_t) { self->on_readable(); }));
  return s;
}

DataSink::~DataSink() { close(); }

void DataSink::close() {
  if (!fd_.valid()) return;
  loop_.remove_fd(fd_.get());
  fd_.reset();
}

void DataSink::on_readable() {
  uint8_t buf[65536];
  // Bounded per wake-up so one busy socket cannot starve the loop.
  for (int i = 0; i < 256 && fd_.valid(); ++i) {
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return;  // EAGAIN: drained
    auto probe = decode_probe(native::ByteView(buf, static_cast<size_t>(n)));
    if (!probe || probe->echo || probe->peer >= kMaxPeer) {
      ++tally_.unrecognized;
      continue;
    }
    std::array<uint8_t, 4> src{};
    std::memcpy(src.data(), &from.sin_addr, 4);
    if (inner_source_ && inner_source_(probe->peer) != src) {
      ++tally_.misrouted;
      continue;
    }
    if (probe->peer >= tally_.peers.size()) tally_.peers.resize(probe->peer + 1);
    SinkCounts& c = tally_.peers[probe->peer];
    SinkCounts& total = tally_.total;
    if (probe->kind != ProbeKind::normal) {
      ++c.faults[static_cast<size_t>(probe->kind)];
      ++total.faults[static_cast<size_t>(probe->kind)];
      continue;
    }
    ++c.received;
    ++total.received;
    if (!echo_) continue;
    buf[5] = 1;  // the echo flag (data_plane_probe.hpp layout)
    if (::sendto(fd_.get(), buf, static_cast<size_t>(n), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), from_len) ==
        n) {
      ++c.echoed;
      ++total.echoed;
    } else {
      ++tally_.echo_errors;
    }
  }
}

}  // namespace ist::fleet
