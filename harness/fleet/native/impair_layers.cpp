#include "fleet/native/impair_layers.hpp"

#include <algorithm>

namespace ist::native {

Result<std::shared_ptr<ImpairLayers>> ImpairLayers::make(EventLoop& loop, ImpairLayerOptions o) {
  std::shared_ptr<ImpairLayers> l(new ImpairLayers(loop, std::move(o)));
  IST_TRY_ASSIGN(auto plan, ImpairPlan::make(l->opts_.rules, static_cast<uint32_t>(l->opts_.peer_addresses.size()),
                                             l->opts_.seed));
  l->plan_ = std::move(plan);
  for (uint32_t i = 0; i < l->opts_.peer_addresses.size(); ++i)
    l->by_address_.emplace_back(l->opts_.peer_addresses[i].addr, i);
  std::sort(l->by_address_.begin(), l->by_address_.end());
  if (!l->opts_.floods.empty() && l->opts_.sut.len != 4) return Error("peers.flood: floods are IPv4 only");
  return l;
}

std::optional<uint32_t> ImpairLayers::peer_of(const IpPort& a) const {
  std::array<uint8_t, 16> key{};
  std::copy(a.addr.begin(), a.addr.begin() + a.len, key.begin());
  auto it = std::lower_bound(by_address_.begin(), by_address_.end(), std::make_pair(key, 0u));
  if (it == by_address_.end() || it->first != key) return std::nullopt;
  return it->second;
}

std::unique_ptr<PacketIo> ImpairLayers::wrap(std::unique_ptr<PacketIo> inner) {
  std::unique_ptr<PacketIo> io = std::move(inner);
  if (plan_ && !plan_->empty()) {
    auto impaired = std::make_unique<ImpairedIo>(loop_, std::move(io), *plan_,
                                                 [this](const IpPort& a) { return peer_of(a); });
    impaired_ = impaired.get();
    io = std::move(impaired);
  }
  if (!opts_.floods.empty()) {
    FloodOptions fo;
    fo.floods = opts_.floods;
    fo.sut = opts_.sut;
    fo.peer_addresses = opts_.peer_addresses;
    fo.ike = opts_.ike;
    fo.run_in = opts_.run_in;
    auto f = FloodIo::make(loop_, std::move(io), std::move(fo));
    if (!f) return nullptr;  // checked in make(): cannot happen with the same options
    flood_ = f->get();
    io = std::move(*f);
  }
  return io;
}

std::optional<std::pair<MonoTime, MonoTime>> ImpairLayers::flood_window() const {
  return flood_ ? flood_->window() : std::nullopt;
}

std::vector<std::string> ImpairLayers::summary() const {
  std::vector<std::string> out;
  if (impaired_)
    for (auto& s : impaired_->summary()) out.push_back(std::move(s));
  if (flood_)
    for (auto& s : flood_->summary()) out.push_back(std::move(s));
  return out;
}

}  // namespace ist::native
