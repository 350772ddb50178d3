// The initiator: IKE_SA_INIT, IKE_AUTH, INFORMATIONAL, retransmission and the datagram
// demultiplexing; CREATE_CHILD_SA lives in initiator_rekey.cpp.
#include "ike/initiator.hpp"

#include <algorithm>
#include <cmath>

#include "ike/initiator_helpers.hpp"

namespace ist::native {

std::vector<Millis> RetransmitPolicy::schedule() const {
  std::vector<Millis> out;
  for (unsigned n = 0; n <= tries; ++n)
    out.push_back(Millis(static_cast<int64_t>(std::llround(static_cast<double>(timeout.count()) * std::pow(base, n)))));
  return out;
}

std::string state_name(InitiatorState s) {
  switch (s) {
    case InitiatorState::idle: return "idle";
    case InitiatorState::init_sent: return "init_sent";
    case InitiatorState::auth_sent: return "auth_sent";
    case InitiatorState::established: return "established";
    case InitiatorState::deleting: return "deleting";
    case InitiatorState::closed: return "closed";
    case InitiatorState::failed: return "failed";
  }
  return "?";
}

std::string cause_name(FailureCause c) {
  switch (c) {
    case FailureCause::none: return "none";
    case FailureCause::notify_received: return "notify_received";
    case FailureCause::no_response: return "no_response";
    case FailureCause::auth_mismatch: return "auth_mismatch";
    case FailureCause::protocol_error: return "protocol_error";
    case FailureCause::retry_limit: return "retry_limit";
  }
  return "?";
}

std::string event_name(EventKind k) {
  switch (k) {
    case EventKind::ike_up: return "ike_up";
    case EventKind::child_up: return "child_up";
    case EventKind::failed: return "failed";
    case EventKind::ike_deleted: return "ike_deleted";
    case EventKind::child_deleted: return "child_deleted";
    case EventKind::ike_rekeyed: return "ike_rekeyed";
    case EventKind::child_rekeyed: return "child_rekeyed";
    case EventKind::rekey_collision: return "rekey_collision";
  }
  return "?";
}

SelectorList::SelectorList(const std::vector<TrafficSelector>& selectors) {
  size_t n = 0;
  for (const auto& ts : selectors) n += 8 + ts.start_address.size() + ts.end_address.size();
  encoded_.reserve(n);
  for (const auto& ts : selectors) {
    put_u8(encoded_, ts.type);
    put_u8(encoded_, ts.ip_protocol);
    put_u16(encoded_, ts.start_port);
    put_u16(encoded_, ts.end_port);
    put_u8(encoded_, static_cast<uint8_t>(ts.start_address.size()));
    put_u8(encoded_, static_cast<uint8_t>(ts.end_address.size()));
    put_bytes(encoded_, ts.start_address);
    put_bytes(encoded_, ts.end_address);
  }
}

namespace {
// The selector encoded at `at` (see SelectorList); `at` moves past it.
TrafficSelector decode_selector(const Bytes& b, size_t& at) {
  TrafficSelector ts;
  const uint8_t* p = b.data() + at;
  ts.type = p[0];
  ts.ip_protocol = p[1];
  ts.start_port = get_u16(p + 2);
  ts.end_port = get_u16(p + 4);
  const size_t start_len = p[6], end_len = p[7];
  ts.start_address.assign(p + 8, p + 8 + start_len);
  ts.end_address.assign(p + 8 + start_len, p + 8 + start_len + end_len);
  at += 8 + start_len + end_len;
  return ts;
}
}  // namespace

std::vector<TrafficSelector> SelectorList::selectors() const {
  std::vector<TrafficSelector> out;
  for (size_t at = 0; at < encoded_.size();) out.push_back(decode_selector(encoded_, at));
  return out;
}

size_t SelectorList::size() const {
  size_t n = 0;
  for (size_t at = 0; at < encoded_.size(); ++n) at += 8 + size_t{encoded_[at + 6]} + encoded_[at + 7];
  return n;
}

TrafficSelector SelectorList::front() const {
  size_t at = 0;
  return decode_selector(encoded_, at);
}

using namespace detail;

Initiator::Initiator(InitiatorConfig config)
    : Initiator(std::make_shared<const InitiatorShared>(std::move(static_cast<InitiatorShared&>(config))),
                std::move(static_cast<InitiatorPeerConfig&>(config))) {}

Initiator::Initiator(std::shared_ptr<const InitiatorShared> shared, InitiatorPeerConfig peer)
    : cfg_(std::move(shared)), local_port_(peer.local.port) {
  setup_.emplace().peer = std::move(peer);
}

Proposal Initiator::ike_proposal() const {
  Proposal p{.number = 1, .protocol = ProtocolId::ike, .spi = {}, .transforms = {}};
  p.transforms.push_back({TransformType::encr, cfg_->ike.encr, cfg_->ike.key_bits});
  p.transforms.push_back({TransformType::prf, transform_id::prf_hmac_sha2_256, std::nullopt});
  if (cfg_->ike.integ != transform_id::integ_none)
    p.transforms.push_back({TransformType::integ, cfg_->ike.integ, std::nullopt});
  for (uint16_t g : cfg_->ike.dh_groups) p.transforms.push_back({TransformType::dh, g, std::nullopt});
  return p;
}

Proposal Initiator::esp_proposal(uint32_t spi) const {
  Proposal p{.number = 1, .protocol = ProtocolId::esp, .spi = u32_bytes(spi), .transforms = {}};
  p.transforms.push_back({TransformType::encr, cfg_->esp.encr, cfg_->esp.key_bits});
  if (cfg_->esp.integ != transform_id::integ_none)
    p.transforms.push_back({TransformType::integ, cfg_->esp.integ, std::nullopt});
  p.transforms.push_back({TransformType::esn, transform_id::esn_none, std::nullopt});
  return p;
}

Result<ChildSa> Initiator::make_child(ByteView sk_d, uint32_t spi_in, uint32_t spi_out, bool we_initiated, ByteView ni,
                                      ByteView nr, ByteView shared, std::vector<TrafficSelector> ts_local,
                                      std::vector<TrafficSelector> ts_remote) const {
  ChildSa c;
  c.spi_in = spi_in;
  c.spi_out = spi_out;
  c.esp = SkSuite{cfg_->esp.encr, cfg_->esp.key_bits, cfg_->esp.integ};
  // KEYMAT's first half protects what the exchange's initiator sends (2.17).
  ChildKeys k = derive_child_keys(sk_d, ni, nr, c.esp.encr_key_size(), c.esp.integ_key_size(), shared);
  if (we_initiated) {
    c.encr_out = k.encr_i, c.integ_out = k.integ_i, c.encr_in = k.encr_r, c.integ_in = k.integ_r;
  } else {
    c.encr_out = k.encr_r, c.integ_out = k.integ_r, c.encr_in = k.encr_i, c.integ_in = k.integ_i;
  }
  c.ts_local = std::move(ts_local);
  c.ts_remote = std::move(ts_remote);
  c.udp_encap = use_natt_;
  return c;
}

Status Initiator::start(Millis now) {
  if (state_ != InitiatorState::idle) return Error("initiator already started");
  if (cfg_->ike.dh_groups.empty()) return Error("no DH group configured");
  for (uint16_t g : cfg_->ike.dh_groups)
    if (!dh_group_supported(g)) return Error("unsupported DH group " + std::to_string(g));
  ike_.suite = SkSuite{cfg_->ike.encr, cfg_->ike.key_bits, cfg_->ike.integ};
  if (auto v = ike_.suite.validate(); !v) return Error("IKE proposal: " + v.error().message);
  SkSuite esp{cfg_->esp.encr, cfg_->esp.key_bits, cfg_->esp.integ};
  if (auto v = esp.validate(); !v) return Error("ESP proposal: " + v.error().message);
  if (setup_->peer.local.address.size() != cfg_->remote.address.size() ||
      (setup_->peer.local.address.size() != 4 && setup_->peer.local.address.size() != 16))
    return Error("local and remote addresses must both be IPv4 or both IPv6");
  if (setup_->peer.ts_local.empty() || cfg_->ts_remote.empty()) return Error("traffic selectors missing");
  ike_.spi_i = setup_->peer.spi_i ? setup_->peer.spi_i : random_u64();
  if (setup_->peer.child_spi < 256) setup_->peer.child_spi = random_esp_spi();
  if (ike_.spi_i == 0 || setup_->peer.child_spi == 0) return Error("could not draw SPIs");
  IST_TRY_ASSIGN(setup_->ni, random_bytes(cfg_->nonce_size));
  IST_TRY_ASSIGN(auto dh, DhKeyPair::generate(cfg_->ike.dh_groups.front()));
  setup_->dh.emplace(std::move(dh));
  return send_init(now);
}

Status Initiator::send_init(Millis now) {
  Message m;
  m.header = Header{.spi_i = ike_.spi_i, .spi_r = 0, .exchange = ExchangeType::ike_sa_init,
                    .flags = flags::initiator, .message_id = 0};
  if (!setup_->cookie.empty())  // RFC 7296 2.6: the cookie comes first, everything else unchanged
    m.payloads.push_back(notify(notify_type::cookie, setup_->cookie));
  m.payloads.push_back(make_payload(PayloadType::sa, SaPayload{{ike_proposal()}}));
  m.payloads.push_back(make_payload(PayloadType::ke, KePayload{setup_->dh->group(), setup_->dh->public_value()}));
  m.payloads.push_back(make_payload(PayloadType::nonce, NoncePayload{setup_->ni}));
  // NAT detection (2.23); with force_encap the source hash is of an address nobody has.
  Bytes src_hash = nat_detection_hash(ike_.spi_i, 0, setup_->peer.local.address, local_port_);
  if (cfg_->force_encap) src_hash = sha1(concat({src_hash, to_bytes("forced encapsulation")}));
  m.payloads.push_back(notify(notify_type::nat_detection_source_ip, src_hash));
  m.payloads.push_back(notify(notify_type::nat_detection_destination_ip,
                              nat_detection_hash(ike_.spi_i, 0, cfg_->remote.address, cfg_->remote.port)));
  setup_->init_request = serialize_message(m);
  ike_.next_request_id = 1;
  state_ = InitiatorState::init_sent;
  pending_exchange_ = ExchangeType::ike_sa_init;
  auto schedule = cfg_->retransmit.schedule();
  pending_ = PendingRequest{};
  pending_->payload = setup_->init_request;
  pending_->sends = 1;
  pending_->next = now + schedule.front();
  pending_->purpose = Purpose::init;
  pending_->exchange = ExchangeType::ike_sa_init;
  pending_->spi_i = ike_.spi_i;
  send_raw(setup_->init_request);
  // send_raw may have prefixed the marker; retransmits must repeat the datagram as sent.
  pending_->payload = outgoing_.back().payload;
  return ok();
}

Datagram Initiator::to_peer(Bytes payload) const {
  if (use_natt_) return Datagram{natt_port, natt_port, std::move(payload)};
  return Datagram{local_port_, cfg_->remote.port, std::move(payload)};
}

void Initiator::send_raw(Bytes message) {
  if (use_natt_) message.insert(message.begin(), non_esp_marker, non_esp_marker + 4);
  outgoing_.push_back(to_peer(std::move(message)));
}

Result<Bytes> Initiator::seal(const IkeSaState& sa, ExchangeType exchange, bool response, uint32_t message_id,
                              const std::vector<Payload>& inner) {
  Header h{.spi_i = sa.spi_i, .spi_r = sa.spi_r, .exchange = exchange, .flags = sa.flags(response),
           .message_id = message_id};
  Bytes plain = serialize_payload_chain(inner);
  PayloadType first = inner.empty() ? PayloadType::none : inner.front().type;
  return seal_message(sa.suite, sa.encr_out(), sa.integ_out(), h, first, plain);
}

Status Initiator::send_request(Millis now, IkeSaState& sa, Purpose purpose, ExchangeType exchange,
                               const std::vector<Payload>& inner, PendingRequest extra) {
  IST_TRY_ASSIGN(Bytes msg, seal(sa, exchange, false, sa.next_request_id, inner));
  auto schedule = cfg_->retransmit.schedule();
  extra.sends = 1;
  extra.next = now + schedule.front();
  extra.purpose = purpose;
  extra.exchange = exchange;
  extra.spi_i = sa.spi_i;
  extra.spi_r = sa.spi_r;
  extra.message_id = sa.next_request_id++;
  pending_exchange_ = exchange;
  send_raw(std::move(msg));
  extra.payload = outgoing_.back().payload;
  pending_ = std::move(extra);
  return ok();
}

void Initiator::answer(IkeSaState& sa, ExchangeType exchange, uint32_t message_id, const std::vector<Payload>& inner) {
  auto sealed = seal(sa, exchange, true, message_id, inner);
  if (!sealed) return;
  ++sa.peer_request_id;
  ++stats_.answered;
  send_raw(std::move(*sealed));
  sa.last_response = outgoing_.back().payload;
}

Status Initiator::send_auth(Millis now) {
  std::vector<Payload> inner;
  inner.push_back(make_payload(PayloadType::idi, setup_->peer.local_id));
  if (cfg_->remote_id) inner.push_back(make_payload(PayloadType::idr, *cfg_->remote_id));
  Bytes auth = psk_auth(cfg_->psk, setup_->init_request, setup_->nr, ike_.keys.sk_pi(), setup_->peer.local_id);
  inner.push_back(make_payload(PayloadType::auth, AuthPayload{auth_method::shared_key_mic, auth}));
  inner.push_back(make_payload(PayloadType::sa, SaPayload{{esp_proposal(setup_->peer.child_spi)}}));
  inner.push_back(make_payload(PayloadType::tsi, TsPayload{setup_->peer.ts_local}));
  inner.push_back(make_payload(PayloadType::tsr, TsPayload{cfg_->ts_remote}));
  state_ = InitiatorState::auth_sent;
  return send_request(now, ike_, Purpose::auth, ExchangeType::ike_auth, inner, PendingRequest{});
}

Status Initiator::delete_ike(Millis now) {
  if (state_ != InitiatorState::established) return Error("no established IKE_SA to delete (state " + state_name(state_) + ")");
  if (pending_) return Error("a request is in flight");
  state_ = InitiatorState::deleting;
  retry_child_at_.reset();
  retry_ike_at_.reset();
  return send_request(now, ike_, Purpose::delete_ike, ExchangeType::informational,
                      {make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}})}, PendingRequest{});
}

Status Initiator::check_liveness(Millis now) {
  if (state_ != InitiatorState::established) return Error("no established IKE_SA to check");
  if (pending_) return Error("a request is in flight");
  return send_request(now, ike_, Purpose::liveness, ExchangeType::informational, {}, PendingRequest{});
}

void Initiator::emit(InitiatorEvent e) { events_.push_back(std::move(e)); }

void Initiator::fail(Millis now, FailureCause cause, uint16_t notify_type_, std::string detail, bool child_only) {
  emit(InitiatorEvent{.kind = EventKind::failed, .at = now, .exchange = pending_exchange_, .cause = cause,
                      .notify = notify_type_, .child = child_only, .detail = std::move(detail)});
  if (!child_only) {
    state_ = InitiatorState::failed;
    pending_.reset();
  }
}

std::optional<Millis> Initiator::next_timer() const {
  std::optional<Millis> t;
  auto earliest = [&](std::optional<Millis> c) {
    if (c && (!t || *c < *t)) t = c;
  };
  // A retry waits for the request in flight; its time is reported once we are idle again.
  if (pending_) earliest(pending_->next);
  else earliest(retry_child_at_), earliest(retry_ike_at_);
  for (const auto& sa : extra_ike_) earliest(sa.forget_at);
  return t;
}

void Initiator::on_timer(Millis now) {
  std::erase_if(extra_ike_, [&](const IkeSaState& sa) { return sa.forget_at && *sa.forget_at <= now; });
  if (extra_ike_.empty()) extra_ike_.shrink_to_fit();
  if (!pending_) {
    // The IKE rekey first: a CHILD rekey on an IKE_SA about to be replaced is wasted.
    Status started = ok();
    if (retry_ike_at_ && now >= *retry_ike_at_) {
      ++stats_.rekey_retries;
      started = rekey_ike(now);
    } else if (retry_child_at_ && now >= *retry_child_at_) {
      ++stats_.rekey_retries;
      started = rekey_child(now);
    }
    if (!started) {  // nothing left to rekey (the SA went away meanwhile)
      retry_ike_at_.reset();
      retry_child_at_.reset();
    }
    return;
  }
  if (now < pending_->next) return;
  auto schedule = cfg_->retransmit.schedule();
  if (pending_->sends >= schedule.size()) {
    Purpose purpose = pending_->purpose;
    ExchangeType ex = pending_->exchange;
    const uint64_t on_i = pending_->spi_i, on_r = pending_->spi_r;
    pending_.reset();
    early_.reset();
    std::string why = "no response after " + std::to_string(schedule.size() - 1) + " retransmits";
    switch (purpose) {
      case Purpose::delete_ike:
        // RFC 7296 2.4: an unanswered delete still ends the SA on our side.
        state_ = InitiatorState::closed;
        child_.reset();
        emit(InitiatorEvent{.kind = EventKind::ike_deleted, .at = now, .exchange = ex,
                            .cause = FailureCause::no_response, .detail = "no answer to the delete"});
        return;
      case Purpose::delete_redundant_child:
      case Purpose::delete_old_child:
        if (purpose == Purpose::delete_old_child) old_child_.reset();
        fail(now, FailureCause::no_response, 0, "delete of the rekeyed CHILD_SA: " + why, true);
        return;
      case Purpose::delete_old_ike:
      case Purpose::delete_redundant_ike:
        (void)take_extra(on_i, on_r);
        fail(now, FailureCause::no_response, 0,
             std::string(purpose == Purpose::delete_old_ike ? "delete of the rekeyed IKE_SA: "
                                                            : "delete of the redundant IKE_SA: ") + why,
             true);
        return;
      default:
        fail(now, FailureCause::no_response, 0, why);
        return;
    }
  }
  pending_->next = now + schedule[pending_->sends];
  ++pending_->sends;
  ++stats_.retransmits;
  outgoing_.push_back(to_peer(pending_->payload));
}

std::vector<Datagram> Initiator::take_outgoing() { return std::exchange(outgoing_, {}); }
std::vector<InitiatorEvent> Initiator::take_events() { return std::exchange(events_, {}); }

void Initiator::on_datagram(Millis now, uint16_t local_port, ByteView payload) {
  if (local_port == natt_port) {
    // RFC 3948: IKE on 4500 starts with four zero octets; anything else is ESP (not ours here).
    if (payload.size() < 4 || !std::equal(payload.begin(), payload.begin() + 4, non_esp_marker)) {
      ++stats_.dropped;
      return;
    }
    payload = payload.subspan(4);
  }
  auto parsed = parse_message(payload);
  if (!parsed) {
    ++stats_.dropped;
    return;
  }
  const Message& m = *parsed;
  if (m.header.exchange == ExchangeType::ike_sa_init) {
    if (state_ == InitiatorState::init_sent && m.header.spi_i == ike_.spi_i && m.header.is_response() &&
        m.header.message_id == 0 && !(m.header.flags & flags::initiator))
      handle_init_response(now, payload, m);
    else
      ++stats_.dropped;
    return;
  }
  // Which of our IKE_SAs (the current one, or one in extra_ike_)?
  IkeSaState* sa = state_ == InitiatorState::init_sent ? nullptr : find_sa(m.header.spi_i, m.header.spi_r);
  if (!sa && pending_ && pending_->purpose == Purpose::rekey_ike && m.header.spi_i == pending_->new_ike_spi &&
      !m.header.is_response() && !early_) {
    early_ = EarlyDatagram{local_port, Bytes(payload.begin(), payload.end())};
    if (local_port == natt_port) early_->payload.insert(early_->payload.begin(), non_esp_marker, non_esp_marker + 4);
    return;
  }
  auto* sk = m.find<SkPayload>(PayloadType::sk);
  bool from_peer = ((m.header.flags & flags::initiator) != 0) != (sa && sa->original_initiator);
  if (!sa || !sk || !from_peer || state_ == InitiatorState::closed || state_ == InitiatorState::failed) {
    ++stats_.dropped;
    return;
  }
  if (!m.header.is_response()) {
    // A request from the peer: a retransmit of the last one gets the cached answer.
    if (m.header.message_id + 1 == sa->peer_request_id && !sa->last_response.empty()) {
      outgoing_.push_back(to_peer(sa->last_response));
      return;
    }
    if (sa->closed || m.header.message_id != sa->peer_request_id) {
      ++stats_.dropped;
      return;
    }
  } else if (!pending_ || pending_->spi_i != sa->spi_i || pending_->spi_r != sa->spi_r ||
             m.header.message_id != pending_->message_id) {
    ++stats_.dropped;  // a late retransmitted answer or not an answer to our request
    return;
  }
  auto plain = open_message(sa->suite, sa->encr_in(), sa->integ_in(), payload, *sk);
  if (!plain) {
    ++stats_.dropped;
    return;
  }
  auto inner = parse_payload_chain(sk->first_inner, *plain);
  if (!inner) {
    // Authenticated but malformed: the exchange cannot go on.
    if (m.header.is_response())
      fail(now, FailureCause::protocol_error, notify_type::invalid_syntax, inner.error().message);
    else
      ++stats_.dropped;
    return;
  }
  if (!m.header.is_response()) {
    handle_peer_request(now, sa->spi_i, sa->spi_r, m, *inner);
    return;
  }
  PendingRequest req = std::move(*pending_);
  pending_.reset();
  switch (req.purpose) {
    case Purpose::auth: handle_auth_response(now, *inner); break;
    case Purpose::delete_ike:
      state_ = InitiatorState::closed;
      child_.reset();
      emit(InitiatorEvent{.kind = EventKind::ike_deleted, .at = now, .exchange = ExchangeType::informational,
                          .detail = "deleted by us"});
      break;
    case Purpose::rekey_child: handle_rekey_child_response(now, req, *inner); break;
    case Purpose::rekey_ike:
      handle_rekey_ike_response(now, req, *inner);
      if (early_) {
        EarlyDatagram d = std::move(*early_);
        early_.reset();
        on_datagram(now, d.local_port, d.payload);
      }
      break;
    case Purpose::delete_redundant_child:  // the peer deletes the old SA itself
    case Purpose::delete_old_child:
      if (req.purpose == Purpose::delete_old_child) old_child_.reset();
      ++stats_.child_rekeys;
      emit(InitiatorEvent{.kind = EventKind::child_rekeyed, .at = now, .exchange = ExchangeType::create_child_sa});
      break;
    case Purpose::delete_old_ike:
      (void)take_extra(req.spi_i, req.spi_r);
      ++stats_.ike_rekeys;
      emit(InitiatorEvent{.kind = EventKind::ike_rekeyed, .at = now, .exchange = ExchangeType::create_child_sa});
      break;
    case Purpose::delete_redundant_ike:  // the rekey itself was counted when the collision was settled
      (void)take_extra(req.spi_i, req.spi_r);
      break;
    case Purpose::liveness: ++stats_.liveness_answers; break;
    case Purpose::init: break;  // IKE_SA_INIT answers are handled above
  }
}

void Initiator::handle_init_response(Millis now, ByteView raw, const Message& m) {
  if (auto* cookie = m.find_notify(notify_type::cookie)) {
    if (stats_.cookie_rounds >= cfg_->max_cookie_retries) {
      fail(now, FailureCause::retry_limit, notify_type::cookie, "responder keeps asking for a cookie");
      return;
    }
    ++stats_.cookie_rounds;
    setup_->cookie = cookie->data;
    (void)send_init(now);  // cannot fail: it only serializes
    return;
  }
  if (auto* ke = m.find_notify(notify_type::invalid_ke_payload)) {
    uint16_t wanted = ke->data.size() == 2 ? get_u16(ke->data.data()) : 0;
    bool offered = std::find(cfg_->ike.dh_groups.begin(), cfg_->ike.dh_groups.end(), wanted) != cfg_->ike.dh_groups.end();
    if (!offered || wanted == setup_->dh->group()) {
      fail(now, FailureCause::notify_received, notify_type::invalid_ke_payload,
           "responder wants DH group " + std::to_string(wanted) + ", which was not offered");
      return;
    }
    if (stats_.ke_rounds >= cfg_->max_ke_retries) {
      fail(now, FailureCause::retry_limit, notify_type::invalid_ke_payload, "too many INVALID_KE_PAYLOAD rounds");
      return;
    }
    ++stats_.ke_rounds;
    auto dh = DhKeyPair::generate(wanted);
    if (!dh) {
      fail(now, FailureCause::protocol_error, 0, dh.error().message);
      return;
    }
    setup_->dh.emplace(std::move(*dh));
    (void)send_init(now);
    return;
  }
  if (uint16_t error = first_error_notify(m.payloads)) {
    fail(now, FailureCause::notify_received, error, "IKE_SA_INIT refused with " + notify_name(error));
    return;
  }
  auto* sa = m.find<SaPayload>(PayloadType::sa);
  auto* ke = m.find<KePayload>(PayloadType::ke);
  auto* nonce = m.find<NoncePayload>(PayloadType::nonce);
  if (!sa || !ke || !nonce || m.header.spi_r == 0) {
    fail(now, FailureCause::protocol_error, 0, "IKE_SA_INIT response without SA, KE, Nr or responder SPI");
    return;
  }
  // The chosen proposal must be one transform of each type we offered (2.7).
  Proposal offered = ike_proposal();
  if (sa->proposals.size() != 1) {
    fail(now, FailureCause::protocol_error, 0, "responder chose " + std::to_string(sa->proposals.size()) + " proposals");
    return;
  }
  const Proposal& chosen = sa->proposals.front();
  for (const auto& t : chosen.transforms)
    if (std::find(offered.transforms.begin(), offered.transforms.end(), t) == offered.transforms.end()) {
      fail(now, FailureCause::protocol_error, 0, "responder chose a transform that was not offered");
      return;
    }
  const Transform* dh_t = chosen.find(TransformType::dh);
  if (!dh_t || dh_t->id != setup_->dh->group() || ke->group != setup_->dh->group()) {
    fail(now, FailureCause::protocol_error, 0, "responder's DH group does not match our KE");
    return;
  }
  auto shared = setup_->dh->shared_secret(ke->data);
  if (!shared) {
    fail(now, FailureCause::protocol_error, notify_type::invalid_syntax, "bad KE data: " + shared.error().message);
    return;
  }
  ike_.spi_r = m.header.spi_r;
  setup_->nr = nonce->nonce;
  dh_group_ = setup_->dh->group();
  setup_->dh.reset();
  setup_->init_response.assign(raw.begin(), raw.end());
  ike_.keys = derive_ike_keys(*shared, setup_->ni, setup_->nr, ike_.spi_i, ike_.spi_r,
                              IkeKeyLengths{.integ = ike_.suite.integ_key_size(), .encr = ike_.suite.encr_key_size()});
  // NAT detection: hashes over both SPIs as the responder computed them.
  auto* src = m.find_notify(notify_type::nat_detection_source_ip);
  auto* dst = m.find_notify(notify_type::nat_detection_destination_ip);
  if (src && dst) {
    bool remote_natted = src->data != nat_detection_hash(ike_.spi_i, ike_.spi_r, cfg_->remote.address, cfg_->remote.port);
    bool local_natted = dst->data != nat_detection_hash(ike_.spi_i, ike_.spi_r, setup_->peer.local.address, local_port_);
    use_natt_ = remote_natted || local_natted || cfg_->force_encap;
  }
  pending_.reset();
  if (auto s = send_auth(now); !s) fail(now, FailureCause::protocol_error, 0, s.error().message);
}

void Initiator::handle_auth_response(Millis now, const std::vector<Payload>& inner) {
  auto* idr = find_in<IdPayload>(inner, PayloadType::idr);
  auto* auth = find_in<AuthPayload>(inner, PayloadType::auth);
  uint16_t error = first_error_notify(inner);
  if (!idr || !auth) {
    // Without AUTH the IKE_SA itself was refused (AUTHENTICATION_FAILED and friends).
    fail(now, error ? FailureCause::notify_received : FailureCause::protocol_error, error,
         error ? "IKE_AUTH refused with " + notify_name(error) : "IKE_AUTH response without IDr or AUTH");
    return;
  }
  if (cfg_->remote_id && !(*idr == *cfg_->remote_id)) {
    fail(now, FailureCause::auth_mismatch, notify_type::authentication_failed, "responder identity differs from IDr");
    return;
  }
  Bytes expected = psk_auth(cfg_->psk, setup_->init_response, setup_->ni, ike_.keys.sk_pr(), *idr);
  if (auth->method != auth_method::shared_key_mic || auth->data != expected) {
    fail(now, FailureCause::auth_mismatch, notify_type::authentication_failed, "responder AUTH does not verify");
    return;
  }
  state_ = InitiatorState::established;
  emit(InitiatorEvent{.kind = EventKind::ike_up, .at = now, .exchange = ExchangeType::ike_auth});
  // What only IKE_SA_INIT and IKE_AUTH needed goes (per-peer memory): the signed octets, the
  // peer's own config, SKEYSEED and SK_p*; the nonces serve the CHILD_SA's keys just below.
  const Setup setup = std::move(*setup_);
  setup_.reset();
  ike_.keys.forget_auth_keys();

  auto* sa = find_in<SaPayload>(inner, PayloadType::sa);
  auto* tsi = find_in<TsPayload>(inner, PayloadType::tsi);
  auto* tsr = find_in<TsPayload>(inner, PayloadType::tsr);
  if (error || !sa || !tsi || !tsr) {
    fail(now, error ? FailureCause::notify_received : FailureCause::protocol_error, error,
         error ? "CHILD_SA refused with " + notify_name(error) : "IKE_AUTH response without SA/TSi/TSr", true);
    return;
  }
  if (sa->proposals.size() != 1 || !esp_acceptable(sa->proposals[0])) {
    fail(now, FailureCause::protocol_error, 0, "responder's ESP proposal is not one we offered", true);
    return;
  }
  auto child = make_child(ike_.keys.sk_d(), setup.peer.child_spi, get_u32(sa->proposals[0].spi.data()), true, setup.ni,
                          setup.nr, {}, tsi->selectors, tsr->selectors);
  if (!child) {
    fail(now, FailureCause::protocol_error, 0, child.error().message, true);
    return;
  }
  child_ = std::move(*child);
  emit(InitiatorEvent{.kind = EventKind::child_up, .at = now, .exchange = ExchangeType::ike_auth});
}

size_t Initiator::retiring_ike_sas() const {
  return static_cast<size_t>(std::count_if(extra_ike_.begin(), extra_ike_.end(), [](const IkeSaState& sa) { return !sa.closed; }));
}

Initiator::IkeSaState* Initiator::find_sa(uint64_t spi_i, uint64_t spi_r) {
  if (ike_.spi_r != 0 && ike_.spi_i == spi_i && ike_.spi_r == spi_r) return &ike_;
  for (auto& sa : extra_ike_)
    if (sa.spi_i == spi_i && sa.spi_r == spi_r) return &sa;
  return nullptr;
}

Initiator::IkeSaState Initiator::take_extra(uint64_t spi_i, uint64_t spi_r) {
  for (auto it = extra_ike_.begin(); it != extra_ike_.end(); ++it)
    if (it->spi_i == spi_i && it->spi_r == spi_r) {
      IkeSaState sa = std::move(*it);
      extra_ike_.erase(it);
      if (extra_ike_.empty()) extra_ike_.shrink_to_fit();  // no heap per idle peer
      return sa;
    }
  return IkeSaState{};
}

void Initiator::handle_peer_request(Millis now, uint64_t spi_i, uint64_t spi_r, const Message& m,
                                    const std::vector<Payload>& inner) {
  std::vector<Payload> reply;
  bool ike_deleted = false;
  if (m.header.exchange == ExchangeType::informational) {
    for (const auto& p : inner) {
      auto* d = std::get_if<DeletePayload>(&p.body);
      if (!d) continue;
      if (d->protocol == ProtocolId::ike) {
        ike_deleted = true;
      } else if (d->protocol == ProtocolId::esp) {
        for (const auto& spi : d->spis) {
          if (spi.size() != 4) continue;
          uint32_t v = get_u32(spi.data());
          // 1.4.1: answer with the SPI of our half of the pair.
          if (redundant_child_ && v == redundant_child_->spi_out) {
            reply.push_back(make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {u32_bytes(redundant_child_->spi_in)}}));
            redundant_child_.reset();  // the peer closed the SA its exchange made redundant
          } else if (old_child_ && v == old_child_->spi_out) {
            reply.push_back(make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {u32_bytes(old_child_->spi_in)}}));
            old_child_.reset();  // the peer's rekey finished with this delete
          } else if (child_ && v == child_->spi_out && collision_) {
            // 2.8.1: the peer settled our crossing rekeys before our answer came (its SA won)
            // and closed the old one; its new SA is current, ours will be redundant.
            reply.push_back(make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {u32_bytes(child_->spi_in)}}));
            child_ = std::move(collision_->peer_made);
            collision_.reset();
            child_rekey_lost_ = true;  // counted once our answer is in (see handle_rekey_child_response)
          } else if (child_ && v == child_->spi_out) {
            reply.push_back(make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {u32_bytes(child_->spi_in)}}));
            child_.reset();
            retry_child_at_.reset();
            emit(InitiatorEvent{.kind = EventKind::child_deleted, .at = now, .exchange = ExchangeType::informational,
                                .by_peer = true, .detail = "deleted by the responder"});
          }
        }
      }
    }
  } else if (m.header.exchange == ExchangeType::create_child_sa) {
    reply = answer_peer_create_child(now, *find_sa(spi_i, spi_r), inner);
  } else {
    reply = {notify(notify_type::temporary_failure)};
  }
  // Sealed with the SA the request came on, even when it rekeyed that very SA (which then
  // moved into extra_ike_).
  if (IkeSaState* on = find_sa(spi_i, spi_r)) answer(*on, m.header.exchange, m.header.message_id, reply);
  if (ike_deleted) peer_deleted_ike_sa(now, spi_i, spi_r);
}

void Initiator::peer_deleted_ike_sa(Millis now, uint64_t spi_i, uint64_t spi_r) {
  const bool pending_on_it = pending_ && pending_->spi_i == spi_i && pending_->spi_r == spi_r;
  if (spi_i == ike_.spi_i && spi_r == ike_.spi_r) {
    if (ike_collision_ && pending_on_it && pending_->purpose == Purpose::rekey_ike) {
      // 2.25.2: the peer closed the SA we were rekeying; its own rekey of it, which we
      // answered, completed on its side without noticing ours. Forget ours, take its SA.
      pending_.reset();
      adopt_peer_ike_sa(now);
      if (IkeSaState* old = find_sa(spi_i, spi_r)) old->closed = true;  // answers retransmits until forgotten
      return;
    }
    state_ = InitiatorState::closed;
    pending_.reset();
    child_.reset();
    old_child_.reset();
    extra_ike_.clear();
    retry_child_at_.reset();
    retry_ike_at_.reset();
    emit(InitiatorEvent{.kind = EventKind::ike_deleted, .at = now, .exchange = ExchangeType::informational,
                        .by_peer = true, .detail = "deleted by the responder"});
    return;
  }
  // A rekeyed or redundant IKE_SA: its CHILD_SA already lives on the current one. It stays
  // a while, closed, to answer retransmits of the delete: our answer may be lost (charon
  // drops answers that reach a just-created SA before its own thread has registered it).
  if (ike_collision_ && ike_collision_->spi_i == spi_i && ike_collision_->spi_r == spi_r)
    ike_collision_.reset();  // the peer dropped the SA it made: our rekey goes on alone
  if (IkeSaState* sa = find_sa(spi_i, spi_r)) {
    sa->closed = true;
    sa->forget_at = now + cfg_->peer_delete_wait;
  }
  if (!pending_on_it) return;
  PendingRequest req = std::move(*pending_);
  pending_.reset();
  request_lost_with_its_sa(now, req);
}

// Our request in flight went out on an IKE_SA the peer has just deleted: it will never be
// answered. What it was for is finished, or done again on the current IKE_SA.
void Initiator::request_lost_with_its_sa(Millis now, const PendingRequest& req) {
  switch (req.purpose) {
    case Purpose::delete_old_ike:  // both sides closed the rekeyed SA at once: the rekey is done
      ++stats_.ike_rekeys;
      emit(InitiatorEvent{.kind = EventKind::ike_rekeyed, .at = now, .exchange = ExchangeType::create_child_sa});
      return;
    case Purpose::rekey_child: retry_child_at_ = now; return;
    case Purpose::rekey_ike: retry_ike_at_ = now; return;
    case Purpose::delete_old_child:
    case Purpose::delete_redundant_child: {
      uint32_t spi = req.purpose == Purpose::delete_old_child ? (old_child_ ? old_child_->spi_in : 0) : req.new_child_spi;
      if (spi == 0) return;
      PendingRequest extra;
      extra.new_child_spi = req.new_child_spi;
      (void)send_request(now, ike_, req.purpose, ExchangeType::informational,
                         {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {u32_bytes(spi)}})},
                         std::move(extra));
      return;
    }
    default: return;  // a liveness check or a redundant SA's delete: nothing left to do
  }
}

}  // namespace ist::native
