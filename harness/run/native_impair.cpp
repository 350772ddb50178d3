#include "run/native_impair.hpp"

namespace ist::run {

namespace {

native::ImpairAction action_of(scenario::ImpairAction a) {
  using A = scenario::ImpairAction;
  switch (a) {
    case A::drop: return native::ImpairAction::drop;
    case A::delay: return native::ImpairAction::delay;
    case A::duplicate: return native::ImpairAction::duplicate;
    case A::reorder: return native::ImpairAction::reorder;
    case A::corrupt: return native::ImpairAction::corrupt;
    case A::malform: return native::ImpairAction::malform;
  }
  return native::ImpairAction::drop;  // not reached: every enumerator is handled (-Wswitch)
}

std::optional<native::ExchangeType> exchange_of(scenario::IkeExchange e) {
  using E = scenario::IkeExchange;
  switch (e) {
    case E::any: return std::nullopt;
    case E::ike_sa_init: return native::ExchangeType::ike_sa_init;
    case E::ike_auth: return native::ExchangeType::ike_auth;
    case E::create_child_sa: return native::ExchangeType::create_child_sa;
    case E::informational: return native::ExchangeType::informational;
  }
  return std::nullopt;
}

native::ImpairDirection direction_of(scenario::ImpairDirection d) {
  using D = scenario::ImpairDirection;
  switch (d) {
    case D::in: return native::ImpairDirection::in;
    case D::out: return native::ImpairDirection::out;
    case D::both: return native::ImpairDirection::both;
  }
  return native::ImpairDirection::both;
}

native::ImpairMessage message_of(scenario::ImpairMessage m) {
  using M = scenario::ImpairMessage;
  switch (m) {
    case M::any: return native::ImpairMessage::any;
    case M::request: return native::ImpairMessage::request;
    case M::response: return native::ImpairMessage::response;
  }
  return native::ImpairMessage::any;
}

native::MalformKind malform_of(scenario::MalformKind k) {
  using K = scenario::MalformKind;
  switch (k) {
    case K::unknown_critical: return native::MalformKind::unknown_critical;
    case K::bad_version: return native::MalformKind::bad_version;
    case K::short_nonce: return native::MalformKind::short_nonce;
    case K::bad_ke: return native::MalformKind::bad_ke;
    case K::bad_length: return native::MalformKind::bad_length;
  }
  return native::MalformKind::unknown_critical;
}

}  // namespace

native::ImpairRule native_impair_rule(const scenario::Impairment& m) {
  native::ImpairRule r;
  r.action = action_of(m.action);
  r.exchange = exchange_of(m.exchange);
  r.direction = direction_of(m.direction);
  r.message = message_of(m.message);
  r.esp = m.esp;
  r.peers = m.peers;
  r.packets = m.packets;
  r.delay = m.delay;
  r.copies = m.copies;
  r.malform = malform_of(m.malform);
  return r;
}

native::FloodSpec native_flood_spec(const scenario::Flood& f) {
  native::FloodSpec spec;
  spec.kind = f.kind == scenario::FloodKind::malformed ? native::FloodSpec::Kind::malformed
                                                       : native::FloodSpec::Kind::half_open;
  spec.rate_per_s = f.rate_per_s;
  spec.duration = f.duration;
  spec.start = f.start;
  spec.prefix = f.sources.address;
  spec.prefix_len = f.sources.length;
  spec.malform = malform_of(f.malform);
  return spec;
}

}  // namespace ist::run
