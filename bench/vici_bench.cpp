// vici codec throughput on one core.
//   SmallRequestRoundTrip:  encode an initiate request frame + decode it (the common case)
//   SmallResponseRoundTrip: encode + decode a {success, errmsg} reply
//   ListConnsStreamDecode:  split, decode and parse a 5,000-event list-conns stream as the
//                           session sees it (frames in one buffer)
//   ListConnsStreamEncode:  encode the same 5,000 events
#include <benchmark/benchmark.h>

#include "vici/codec.hpp"
#include "vici/types.hpp"

namespace ist::vici {
namespace {

Message initiate_request(int i) {
  Message m;
  m.set("child", "net").set("ike", "peer-" + std::to_string(i)).set("timeout", -1);
  m.set("init-limits", false);
  return m;
}

Message list_conn_event(int i) {
  const std::string addr = "198.19." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
  Message m;
  auto& c = m.section("peer-" + std::to_string(i));
  c.list("local_addrs", {"198.18.0.1"});
  c.list("remote_addrs", {addr});
  c.set("version", "IKEv2").set("reauth_time", "0").set("rekey_time", "14400").set("unique", "UNIQUE_NO");
  c.section("local-1").set("class", "pre-shared key").set("id", "198.18.0.1");
  c.section("remote-1").set("class", "pre-shared key").set("id", addr);
  auto& child = c.section("children").section("net");
  child.set("mode", "TUNNEL").set("rekey_time", "3600").set("rekey_bytes", "0");
  child.set("rekey_packets", "0").set("dpd_action", "clear").set("close_action", "none");
  child.list("local-ts", {"198.18.255.0/24"});
  child.list("remote-ts", {"198.19.128.1/32"});
  return m;
}

void SmallRequestRoundTrip(benchmark::State& state) {
  const Message req = initiate_request(42);
  std::string buf;
  for (auto _ : state) {
    buf.clear();
    (void)append_packet(buf, PacketType::cmd_request, "initiate", &req);
    auto p = decode_packet(std::string_view(buf).substr(4));
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(buf.size()));
}
BENCHMARK(SmallRequestRoundTrip);

void SmallResponseRoundTrip(benchmark::State& state) {
  Message reply;
  reply.set("success", "yes").set("errmsg", "");
  std::string buf;
  for (auto _ : state) {
    buf.clear();
    (void)append_packet(buf, PacketType::cmd_response, "", &reply);
    auto p = decode_packet(std::string_view(buf).substr(4));
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(SmallResponseRoundTrip);

std::string list_conns_stream(int n) {
  std::string stream;
  for (int i = 0; i < n; ++i) {
    Message ev = list_conn_event(i);
    (void)append_packet(stream, PacketType::event, "list-conn", &ev);
  }
  (void)append_packet(stream, PacketType::cmd_response, "", nullptr);
  return stream;
}

void ListConnsStreamDecode(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string stream = list_conns_stream(n);
  for (auto _ : state) {
    FrameReader reader;
    reader.feed(stream);
    std::size_t conns = 0;
    while (true) {
      auto f = reader.next();
      if (!f || !*f) break;
      auto p = decode_packet(**f);
      if (p->type == PacketType::event) {
        auto c = parse_list_conn_event(p->message);
        conns += c ? 1 : 0;
      }
    }
    if (conns != static_cast<std::size_t>(n)) state.SkipWithError("lost connections");
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(stream.size()));
  state.counters["stream_bytes"] = static_cast<double>(stream.size());
}
BENCHMARK(ListConnsStreamDecode)->Arg(5000)->Unit(benchmark::kMillisecond);

void ListConnsStreamEncode(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<Message> events;
  for (int i = 0; i < n; ++i) events.push_back(list_conn_event(i));
  std::string stream;
  for (auto _ : state) {
    stream.clear();
    for (const auto& ev : events) (void)append_packet(stream, PacketType::event, "list-conn", &ev);
    benchmark::DoNotOptimize(stream.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(ListConnsStreamEncode)->Arg(5000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ist::vici

BENCHMARK_MAIN();
