#include "fleet/native/impaired_io.hpp"

#include "fleet/native/flood_malformed.hpp"

namespace ist::native {

namespace {

constexpr std::chrono::milliseconds kDefaultReorderHold{1000};

uint64_t reorder_key(uint32_t peer, bool out) { return (static_cast<uint64_t>(peer) << 1) | (out ? 1 : 0); }

}  // namespace

ImpairedIo::ImpairedIo(EventLoop& loop, std::unique_ptr<PacketIo> inner, ImpairPlan plan, PeerOf peer_of)
    : loop_(loop), inner_(std::move(inner)), plan_(std::move(plan)), peer_of_(std::move(peer_of)) {
  stats_.resize(plan_.rules().size());
}

ImpairedIo::~ImpairedIo() {
  for (auto id : timers_) loop_.cancel(id);
  for (auto& [key, r] : reordered_)
    if (r.timer) loop_.cancel(r.timer);
}

void ImpairedIo::close() {
  closed_ = true;
  for (auto id : timers_) loop_.cancel(id);
  timers_.clear();
  for (auto& [key, r] : reordered_)
    if (r.timer) loop_.cancel(r.timer);
  reordered_.clear();
  inner_->close();
}

void ImpairedIo::send(const PacketDatagram& d) {
  const auto peer = peer_of_ ? peer_of_(d.src) : std::nullopt;
  if (!peer || plan_.empty()) {
    inner_->send(d);
    return;
  }
  const DatagramInfo info = inspect_datagram(d);
  auto pass = [this](const PacketDatagram& x) { inner_->send(x); };
  if (auto rule = plan_.decide(*peer, ImpairDirection::out, info)) {
    apply(*rule, d, info, true, pass);
  } else {
    pass(d);
    if (auto held = take_reordered(*peer, true)) pass(held->view());
  }
}

void ImpairedIo::set_receiver(Receiver r) {
  receiver_ = std::move(r);
  if (!receiver_) {
    inner_->set_receiver({});
    return;
  }
  inner_->set_receiver([this](std::span<const PacketDatagram> batch) { on_batch(batch); });
}

void ImpairedIo::on_batch(std::span<const PacketDatagram> batch) {
  if (plan_.empty()) {
    receiver_(batch);
    return;
  }
  std::vector<PacketDatagram> out;
  std::deque<Bytes> keep;  // rewritten copies and released datagrams, alive for this call
  // Originals stay in the inner's batch; copies and rewritten datagrams live in `keep`.
  auto pass_copy = [&](const PacketDatagram& x) {
    keep.emplace_back(x.payload.begin(), x.payload.end());
    out.push_back(PacketDatagram{x.src, x.dst, ByteView(keep.back())});
  };
  for (const PacketDatagram& d : batch) {
    const auto peer = peer_of_ ? peer_of_(d.dst) : std::nullopt;
    if (!peer) {
      out.push_back(d);
      continue;
    }
    const DatagramInfo info = inspect_datagram(d);
    if (auto rule = plan_.decide(*peer, ImpairDirection::in, info)) {
      // apply() may rewrite: give it a pass that keeps the rewritten bytes alive.
      apply(*rule, d, info, false, [&](const PacketDatagram& x) {
        if (x.payload.data() == d.payload.data())
          out.push_back(x);
        else
          pass_copy(x);
      });
    } else {
      out.push_back(d);
      if (auto held = take_reordered(*peer, false)) pass_copy(held->view());
    }
  }
  if (!out.empty() && receiver_) receiver_(out);
}

void ImpairedIo::deliver(const PacketDatagram& d) {
  if (receiver_) receiver_(std::span<const PacketDatagram>(&d, 1));
}

void ImpairedIo::later(std::chrono::milliseconds delay, Held d, bool out) {
  auto held = std::make_shared<Held>(std::move(d));
  auto id = std::make_shared<EventLoop::TimerId>(0);
  *id = loop_.after(delay, [this, held, id, out] {
    timers_.erase(*id);
    if (closed_) return;
    if (out) {
      inner_->send(held->view());
      inner_->flush();
    } else {
      deliver(held->view());
    }
  });
  timers_.insert(*id);
}

std::optional<ImpairedIo::Held> ImpairedIo::take_reordered(uint32_t peer, bool out) {
  auto it = reordered_.find(reorder_key(peer, out));
  if (it == reordered_.end()) return std::nullopt;
  Reordered r = std::move(it->second);
  reordered_.erase(it);
  if (r.timer) loop_.cancel(r.timer);
  return std::move(r.d);
}

Bytes ImpairedIo::corrupted(const PacketDatagram& d, const DatagramInfo& info) {
  Bytes c(d.payload.begin(), d.payload.end());
  // Past the cleartext header, so the datagram still reaches its SA and fails there.
  const size_t header = info.kind == DatagramInfo::Kind::ike   ? info.ike_offset + 28
                        : info.kind == DatagramInfo::Kind::esp ? 8
                                                               : 0;
  if (c.empty()) return c;
  const size_t first = header < c.size() ? header : c.size() - 1;
  const size_t at = first + static_cast<size_t>(plan_.next_random() % (c.size() - first));
  c[at] ^= static_cast<uint8_t>(1u << (plan_.next_random() % 8));
  return c;
}

void ImpairedIo::apply(size_t rule, const PacketDatagram& d, const DatagramInfo& info, bool out,
                       const std::function<void(const PacketDatagram&)>& pass) {
  const ImpairRule& r = plan_.rules()[rule];
  ImpairRuleStats& st = stats_[rule];
  ++st.datagrams;
  switch (r.action) {
    case ImpairAction::drop: return;
    case ImpairAction::delay: later(r.delay, copy(d), out); return;
    case ImpairAction::duplicate:
      for (unsigned i = 0; i <= r.copies; ++i) pass(d);
      return;
    case ImpairAction::reorder: {
      const auto peer = peer_of_(out ? d.src : d.dst);
      const uint64_t key = reorder_key(*peer, out);
      if (reordered_.count(key)) {  // already holding one: this one overtakes it
        pass(d);
        if (auto held = take_reordered(*peer, out)) pass(held->view());
        return;
      }
      Reordered& slot = reordered_[key];
      slot.d = copy(d);
      const auto hold = r.delay.count() > 0 ? r.delay : kDefaultReorderHold;
      const uint32_t p = *peer;
      slot.timer = loop_.after(hold, [this, p, out] {
        auto it = reordered_.find(reorder_key(p, out));
        if (it == reordered_.end()) return;
        it->second.timer = 0;  // firing now: take_reordered must not cancel it
        auto held = take_reordered(p, out);
        if (closed_ || !held) return;
        if (out) {
          inner_->send(held->view());
          inner_->flush();
        } else {
          deliver(held->view());
        }
      });
      return;
    }
    case ImpairAction::corrupt: {
      Bytes c = corrupted(d, info);
      pass(PacketDatagram{d.src, d.dst, ByteView(c)});
      return;
    }
    case ImpairAction::malform: {
      if (info.kind != DatagramInfo::Kind::ike) {
        ++st.not_applied;
        pass(d);
        return;
      }
      auto m = malform_ike(d.payload.subspan(info.ike_offset), r.malform);
      if (!m) {
        ++st.not_applied;
        pass(d);
        return;
      }
      Bytes wire(d.payload.begin(), d.payload.begin() + static_cast<std::ptrdiff_t>(info.ike_offset));
      put_bytes(wire, *m);
      pass(PacketDatagram{d.src, d.dst, ByteView(wire)});
      return;
    }
  }
}

std::vector<std::string> ImpairedIo::summary() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < plan_.rules().size(); ++i) {
    std::string s = "impairment " + std::to_string(i + 1) + ": " + plan_.rules()[i].describe() + ": chosen for " +
                    std::to_string(plan_.selected_count(i)) + " peers, applied to " +
                    std::to_string(stats_[i].datagrams) + " datagrams";
    if (stats_[i].not_applied) s += " (" + std::to_string(stats_[i].not_applied) + " left as they were: nothing to malform)";
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ist::native
