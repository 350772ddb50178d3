#pragma once
// ImpairedIo: a PacketIo decorator that applies an ImpairPlan (impair.hpp) to what the
// native engine sends and receives, so impairments work with any PacketIo implementation.
// Sends go through decide(out), received batches through decide(in); dropped datagrams
// vanish, delayed and reordered ones are copied and released from EventLoop timers,
// duplicates are sent / delivered again at once, corrupt and malform rewrite a copy.
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/event_loop.hpp"
#include "fleet/native/impair.hpp"
#include "fleet/native/packet_io.hpp"

namespace ist::native {

// What each rule did, for the run's notes and tests.
struct ImpairRuleStats {
  uint64_t datagrams = 0;     // datagrams the rule decided
  uint64_t not_applied = 0;   // malform: the message lacked what the kind needs (sent as is)
};

class ImpairedIo final : public PacketIo {
 public:
  // Maps the peer-side address of a datagram (its source when sent, its destination when
  // received) to the peer index; nullopt for addresses that are no peer's (left alone).
  using PeerOf = std::function<std::optional<uint32_t>(const IpPort& peer_side)>;

  ImpairedIo(EventLoop& loop, std::unique_ptr<PacketIo> inner, ImpairPlan plan, PeerOf peer_of);
  ~ImpairedIo() override;

  void send(const PacketDatagram& d) override;
  void flush() override { inner_->flush(); }
  void set_receiver(Receiver r) override;
  bool can_send_from(const IpPort& src) const override { return inner_->can_send_from(src); }
  PacketIoStats stats() const override { return inner_->stats(); }
  std::string name() const override { return inner_->name() + "+impair"; }
  void close() override;

  const ImpairPlan& plan() const { return plan_; }
  const std::vector<ImpairRuleStats>& rule_stats() const { return stats_; }
  // One line per rule: what it is, how many peers it was chosen for, datagrams it decided.
  std::vector<std::string> summary() const;

 private:
  struct Held {
    IpPort src, dst;
    Bytes payload;
    PacketDatagram view() const { return PacketDatagram{src, dst, ByteView(payload)}; }
  };
  struct Reordered {
    Held d;
    EventLoop::TimerId timer = 0;
  };
  static Held copy(const PacketDatagram& d) {
    return Held{d.src, d.dst, Bytes(d.payload.begin(), d.payload.end())};
  }
  // Applies rule `rule` to d; `pass` forwards one datagram on (send or deliver).
  void apply(size_t rule, const PacketDatagram& d, const DatagramInfo& info, bool out,
             const std::function<void(const PacketDatagram&)>& pass);
  void on_batch(std::span<const PacketDatagram> batch);
  void deliver(const PacketDatagram& d);
  void later(std::chrono::milliseconds delay, Held d, bool out);
  std::optional<Held> take_reordered(uint32_t peer, bool out);
  Bytes corrupted(const PacketDatagram& d, const DatagramInfo& info);

  EventLoop& loop_;
  std::unique_ptr<PacketIo> inner_;
  ImpairPlan plan_;
  PeerOf peer_of_;
  Receiver receiver_;
  std::vector<ImpairRuleStats> stats_;
  std::unordered_set<EventLoop::TimerId> timers_;
  // Held by reorder, per (peer, direction): released after the next datagram passes.
  std::unordered_map<uint64_t, Reordered> reordered_;
  bool closed_ = false;
};

}  // namespace ist::native
