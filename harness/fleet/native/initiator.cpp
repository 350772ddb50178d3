#include "fleet/native/initiator.hpp"

#include <algorithm>
#include <cmath>

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
  }
  return "?";
}

namespace {

constexpr uint8_t non_esp_marker[4] = {0, 0, 0, 0};

Bytes u32_bytes(uint32_t v) {
  Bytes b;
  put_u32(b, v);
  return b;
}

uint64_t random_u64() {
  auto r = random_bytes(8);
  return r ? get_u64(r->data()) : 0;
}

}  // namespace

Initiator::Initiator(InitiatorConfig config) : cfg_(std::move(config)) {}

Proposal Initiator::ike_proposal() const {
  Proposal p{.number = 1, .protocol = ProtocolId::ike, .spi = {}, .transforms = {}};
  p.transforms.push_back({TransformType::encr, cfg_.ike.encr, cfg_.ike.key_bits});
  p.transforms.push_back({TransformType::prf, transform_id::prf_hmac_sha2_256, std::nullopt});
  if (cfg_.ike.integ != transform_id::integ_none)
    p.transforms.push_back({TransformType::integ, cfg_.ike.integ, std::nullopt});
  for (uint16_t g : cfg_.ike.dh_groups) p.transforms.push_back({TransformType::dh, g, std::nullopt});
  return p;
}

Proposal Initiator::esp_proposal() const {
  Proposal p{.number = 1, .protocol = ProtocolId::esp, .spi = u32_bytes(cfg_.child_spi), .transforms = {}};
  p.transforms.push_back({TransformType::encr, cfg_.esp.encr, cfg_.esp.key_bits});
  if (cfg_.esp.integ != transform_id::integ_none)
    p.transforms.push_back({TransformType::integ, cfg_.esp.integ, std::nullopt});
  p.transforms.push_back({TransformType::esn, transform_id::esn_none, std::nullopt});
  return p;
}

Status Initiator::start(Millis now) {
  if (state_ != InitiatorState::idle) return Error("initiator already started");
  if (cfg_.ike.dh_groups.empty()) return Error("no DH group configured");
  for (uint16_t g : cfg_.ike.dh_groups)
    if (!dh_group_supported(g)) return Error("unsupported DH group " + std::to_string(g));
  sk_suite_ = SkSuite{cfg_.ike.encr, cfg_.ike.key_bits, cfg_.ike.integ};
  if (auto v = sk_suite_.validate(); !v) return Error("IKE proposal: " + v.error().message);
  SkSuite esp{cfg_.esp.encr, cfg_.esp.key_bits, cfg_.esp.integ};
  if (auto v = esp.validate(); !v) return Error("ESP proposal: " + v.error().message);
  if (cfg_.local.address.size() != cfg_.remote.address.size() ||
      (cfg_.local.address.size() != 4 && cfg_.local.address.size() != 16))
    return Error("local and remote addresses must both be IPv4 or both IPv6");
  if (cfg_.ts_local.empty() || cfg_.ts_remote.empty()) return Error("traffic selectors missing");
  spi_i_ = cfg_.spi_i ? cfg_.spi_i : random_u64();
  while (cfg_.child_spi == 0 || cfg_.child_spi < 256) {  // SPIs 1..255 are reserved (RFC 4303)
    IST_TRY_ASSIGN(auto r, random_bytes(4));
    cfg_.child_spi = get_u32(r.data());
  }
  if (spi_i_ == 0) return Error("could not draw an IKE SPI");
  IST_TRY_ASSIGN(ni_, random_bytes(cfg_.nonce_size));
  IST_TRY_ASSIGN(auto dh, DhKeyPair::generate(cfg_.ike.dh_groups.front()));
  dh_.emplace(std::move(dh));
  return send_init(now);
}

Status Initiator::send_init(Millis now) {
  Message m;
  m.header = Header{.spi_i = spi_i_, .spi_r = 0, .exchange = ExchangeType::ike_sa_init,
                    .flags = flags::initiator, .message_id = 0};
  if (!cookie_.empty())  // RFC 7296 2.6: the cookie comes first, everything else unchanged
    m.payloads.push_back(make_payload(PayloadType::notify,
                                      NotifyPayload{ProtocolId::none, {}, notify_type::cookie, cookie_}));
  m.payloads.push_back(make_payload(PayloadType::sa, SaPayload{{ike_proposal()}}));
  m.payloads.push_back(make_payload(PayloadType::ke, KePayload{dh_->group(), dh_->public_value()}));
  m.payloads.push_back(make_payload(PayloadType::nonce, NoncePayload{ni_}));
  // NAT detection (2.23); with force_encap the source hash is of an address nobody has.
  Bytes src_hash = nat_detection_hash(spi_i_, 0, cfg_.local.address, cfg_.local.port);
  if (cfg_.force_encap) src_hash = sha1(concat({src_hash, to_bytes("forced encapsulation")}));
  m.payloads.push_back(make_payload(PayloadType::notify,
      NotifyPayload{ProtocolId::none, {}, notify_type::nat_detection_source_ip, src_hash}));
  m.payloads.push_back(make_payload(PayloadType::notify,
      NotifyPayload{ProtocolId::none, {}, notify_type::nat_detection_destination_ip,
                    nat_detection_hash(spi_i_, 0, cfg_.remote.address, cfg_.remote.port)}));
  init_request_ = serialize_message(m);
  next_request_id_ = 1;
  state_ = InitiatorState::init_sent;
  pending_exchange_ = ExchangeType::ike_sa_init;
  queue_request(now, init_request_);
  return ok();
}

void Initiator::send_raw(Bytes message) {
  Datagram d;
  if (use_natt_) {
    d.local_port = natt_port;
    d.remote_port = natt_port;
    d.payload.assign(non_esp_marker, non_esp_marker + 4);
    put_bytes(d.payload, message);
  } else {
    d.local_port = cfg_.local.port;
    d.remote_port = cfg_.remote.port;
    d.payload = std::move(message);
  }
  outgoing_.push_back(std::move(d));
}

void Initiator::queue_request(Millis now, Bytes message) {
  auto schedule = cfg_.retransmit.schedule();
  pending_ = PendingRequest{message, 1, now + schedule.front()};
  send_raw(std::move(message));
}

Result<Bytes> Initiator::seal(ExchangeType exchange, uint8_t header_flags, uint32_t message_id,
                              const std::vector<Payload>& inner) {
  Header h{.spi_i = spi_i_, .spi_r = spi_r_, .exchange = exchange, .flags = header_flags, .message_id = message_id};
  Bytes plain = serialize_payload_chain(inner);
  PayloadType first = inner.empty() ? PayloadType::none : inner.front().type;
  return seal_message(sk_suite_, keys_.sk_ei, keys_.sk_ai, h, first, plain);
}

Status Initiator::send_request(Millis now, ExchangeType exchange, const std::vector<Payload>& inner) {
  IST_TRY_ASSIGN(Bytes msg, seal(exchange, flags::initiator, next_request_id_, inner));
  ++next_request_id_;
  pending_exchange_ = exchange;
  queue_request(now, std::move(msg));
  return ok();
}

Status Initiator::send_auth(Millis now) {
  std::vector<Payload> inner;
  inner.push_back(make_payload(PayloadType::idi, cfg_.local_id));
  if (cfg_.remote_id) inner.push_back(make_payload(PayloadType::idr, *cfg_.remote_id));
  Bytes auth = psk_auth(cfg_.psk, init_request_, nr_, keys_.sk_pi, cfg_.local_id);
  inner.push_back(make_payload(PayloadType::auth, AuthPayload{auth_method::shared_key_mic, auth}));
  inner.push_back(make_payload(PayloadType::sa, SaPayload{{esp_proposal()}}));
  inner.push_back(make_payload(PayloadType::tsi, TsPayload{cfg_.ts_local}));
  inner.push_back(make_payload(PayloadType::tsr, TsPayload{cfg_.ts_remote}));
  state_ = InitiatorState::auth_sent;
  return send_request(now, ExchangeType::ike_auth, inner);
}

Status Initiator::delete_ike(Millis now) {
  if (state_ != InitiatorState::established) return Error("no established IKE_SA to delete (state " + state_name(state_) + ")");
  state_ = InitiatorState::deleting;
  return send_request(now, ExchangeType::informational,
                      {make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}})});
}

void Initiator::emit(InitiatorEvent e) { events_.push_back(std::move(e)); }

void Initiator::fail(Millis now, FailureCause cause, uint16_t notify, std::string detail, bool child_only) {
  emit(InitiatorEvent{.kind = EventKind::failed, .at = now, .exchange = pending_exchange_, .cause = cause,
                      .notify = notify, .child = child_only, .detail = std::move(detail)});
  if (!child_only) {
    state_ = InitiatorState::failed;
    pending_.reset();
  }
}

std::optional<Millis> Initiator::next_timer() const {
  if (!pending_) return std::nullopt;
  return pending_->next;
}

void Initiator::on_timer(Millis now) {
  if (!pending_ || now < pending_->next) return;
  auto schedule = cfg_.retransmit.schedule();
  if (pending_->sends >= schedule.size()) {
    ExchangeType ex = pending_exchange_;
    pending_.reset();
    if (state_ == InitiatorState::deleting) {
      // RFC 7296 2.4: an unanswered delete still ends the SA on our side.
      state_ = InitiatorState::closed;
      emit(InitiatorEvent{.kind = EventKind::ike_deleted, .at = now, .exchange = ex, .cause = FailureCause::no_response,
                          .detail = "no answer to the delete"});
      return;
    }
    fail(now, FailureCause::no_response, 0,
         "no response after " + std::to_string(schedule.size() - 1) + " retransmits");
    return;
  }
  pending_->next = now + schedule[pending_->sends];
  ++pending_->sends;
  ++stats_.retransmits;
  send_raw(pending_->payload);
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
  if (!parsed || parsed->header.spi_i != spi_i_) {
    ++stats_.dropped;
    return;
  }
  const Message& m = *parsed;
  bool from_responder = !(m.header.flags & flags::initiator);
  if (!from_responder) {
    ++stats_.dropped;
    return;
  }
  if (m.header.exchange == ExchangeType::ike_sa_init) {
    if (state_ == InitiatorState::init_sent && m.header.is_response() && m.header.message_id == 0)
      handle_init_response(now, payload, m);
    else
      ++stats_.dropped;
    return;
  }
  if (spi_r_ == 0 || m.header.spi_r != spi_r_ || !(state_ == InitiatorState::auth_sent ||
      state_ == InitiatorState::established || state_ == InitiatorState::deleting)) {
    ++stats_.dropped;
    return;
  }
  auto* sk = m.find<SkPayload>(PayloadType::sk);
  if (!sk) {
    ++stats_.dropped;
    return;
  }
  if (!m.header.is_response()) {
    // A request from the responder: a retransmit of the last one gets the cached answer.
    if (m.header.message_id + 1 == peer_request_id_ && !last_response_.empty()) {
      send_raw(last_response_);
      return;
    }
    if (m.header.message_id != peer_request_id_) {
      ++stats_.dropped;
      return;
    }
  } else if (!pending_ || m.header.message_id + 1 != next_request_id_) {
    ++stats_.dropped;  // a late retransmitted answer or not an answer to our request
    return;
  }
  auto plain = open_message(sk_suite_, keys_.sk_er, keys_.sk_ar, payload, *sk);
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
    handle_peer_request(now, m, *inner);
    return;
  }
  pending_.reset();
  switch (m.header.exchange) {
    case ExchangeType::ike_auth: handle_auth_response(now, *inner); break;
    case ExchangeType::informational: handle_informational_response(now, *inner); break;
    default: fail(now, FailureCause::protocol_error, 0, "unexpected exchange in a response"); break;
  }
}

void Initiator::handle_init_response(Millis now, ByteView raw, const Message& m) {
  if (auto* cookie = m.find_notify(notify_type::cookie)) {
    if (stats_.cookie_rounds >= cfg_.max_cookie_retries) {
      fail(now, FailureCause::retry_limit, notify_type::cookie, "responder keeps asking for a cookie");
      return;
    }
    ++stats_.cookie_rounds;
    cookie_ = cookie->data;
    (void)send_init(now);  // cannot fail: it only serializes
    return;
  }
  if (auto* ke = m.find_notify(notify_type::invalid_ke_payload)) {
    uint16_t wanted = ke->data.size() == 2 ? get_u16(ke->data.data()) : 0;
    bool offered = std::find(cfg_.ike.dh_groups.begin(), cfg_.ike.dh_groups.end(), wanted) != cfg_.ike.dh_groups.end();
    if (!offered || wanted == dh_->group()) {
      fail(now, FailureCause::notify_received, notify_type::invalid_ke_payload,
           "responder wants DH group " + std::to_string(wanted) + ", which was not offered");
      return;
    }
    if (stats_.ke_rounds >= cfg_.max_ke_retries) {
      fail(now, FailureCause::retry_limit, notify_type::invalid_ke_payload, "too many INVALID_KE_PAYLOAD rounds");
      return;
    }
    ++stats_.ke_rounds;
    auto dh = DhKeyPair::generate(wanted);
    if (!dh) {
      fail(now, FailureCause::protocol_error, 0, dh.error().message);
      return;
    }
    dh_.emplace(std::move(*dh));
    (void)send_init(now);
    return;
  }
  for (const auto& p : m.payloads)
    if (auto* n = std::get_if<NotifyPayload>(&p.body); n && is_error_notify(n->type)) {
      fail(now, FailureCause::notify_received, n->type, "IKE_SA_INIT refused with " + notify_name(n->type));
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
  if (!dh_t || dh_t->id != dh_->group() || ke->group != dh_->group()) {
    fail(now, FailureCause::protocol_error, 0, "responder's DH group does not match our KE");
    return;
  }
  auto shared = dh_->shared_secret(ke->data);
  if (!shared) {
    fail(now, FailureCause::protocol_error, notify_type::invalid_syntax, "bad KE data: " + shared.error().message);
    return;
  }
  spi_r_ = m.header.spi_r;
  nr_ = nonce->nonce;
  init_response_.assign(raw.begin(), raw.end());
  keys_ = derive_ike_keys(*shared, ni_, nr_, spi_i_, spi_r_,
                          IkeKeyLengths{.integ = sk_suite_.integ_key_size(), .encr = sk_suite_.encr_key_size()});
  // NAT detection: hashes over both SPIs as the responder computed them.
  auto* src = m.find_notify(notify_type::nat_detection_source_ip);
  auto* dst = m.find_notify(notify_type::nat_detection_destination_ip);
  if (src && dst) {
    bool remote_natted = src->data != nat_detection_hash(spi_i_, spi_r_, cfg_.remote.address, cfg_.remote.port);
    bool local_natted = dst->data != nat_detection_hash(spi_i_, spi_r_, cfg_.local.address, cfg_.local.port);
    use_natt_ = remote_natted || local_natted || cfg_.force_encap;
  }
  pending_.reset();
  if (auto s = send_auth(now); !s) fail(now, FailureCause::protocol_error, 0, s.error().message);
}

void Initiator::handle_auth_response(Millis now, const std::vector<Payload>& inner) {
  auto find = [&]<class T>(PayloadType t) -> const T* {
    for (const auto& p : inner)
      if (p.type == t)
        if (auto* b = std::get_if<T>(&p.body)) return b;
    return nullptr;
  };
  auto* idr = find.operator()<IdPayload>(PayloadType::idr);
  auto* auth = find.operator()<AuthPayload>(PayloadType::auth);
  uint16_t error = 0;
  for (const auto& p : inner)
    if (auto* n = std::get_if<NotifyPayload>(&p.body); n && is_error_notify(n->type) && !error) error = n->type;
  if (!idr || !auth) {
    // Without AUTH the IKE_SA itself was refused (AUTHENTICATION_FAILED and friends).
    fail(now, error ? FailureCause::notify_received : FailureCause::protocol_error, error,
         error ? "IKE_AUTH refused with " + notify_name(error) : "IKE_AUTH response without IDr or AUTH");
    return;
  }
  if (cfg_.remote_id && !(*idr == *cfg_.remote_id)) {
    fail(now, FailureCause::auth_mismatch, notify_type::authentication_failed, "responder identity differs from IDr");
    return;
  }
  Bytes expected = psk_auth(cfg_.psk, init_response_, ni_, keys_.sk_pr, *idr);
  if (auth->method != auth_method::shared_key_mic || auth->data != expected) {
    fail(now, FailureCause::auth_mismatch, notify_type::authentication_failed, "responder AUTH does not verify");
    return;
  }
  state_ = InitiatorState::established;
  emit(InitiatorEvent{.kind = EventKind::ike_up, .at = now, .exchange = ExchangeType::ike_auth});

  auto* sa = find.operator()<SaPayload>(PayloadType::sa);
  auto* tsi = find.operator()<TsPayload>(PayloadType::tsi);
  auto* tsr = find.operator()<TsPayload>(PayloadType::tsr);
  if (error || !sa || !tsi || !tsr) {
    fail(now, error ? FailureCause::notify_received : FailureCause::protocol_error, error,
         error ? "CHILD_SA refused with " + notify_name(error) : "IKE_AUTH response without SA/TSi/TSr", true);
    return;
  }
  if (sa->proposals.size() != 1 || sa->proposals[0].protocol != ProtocolId::esp || sa->proposals[0].spi.size() != 4) {
    fail(now, FailureCause::protocol_error, 0, "responder's ESP proposal is not one ESP proposal with a 4-byte SPI", true);
    return;
  }
  Proposal offered = esp_proposal();
  for (const auto& t : sa->proposals[0].transforms)
    if (std::find(offered.transforms.begin(), offered.transforms.end(), t) == offered.transforms.end()) {
      fail(now, FailureCause::protocol_error, 0, "responder chose an ESP transform that was not offered", true);
      return;
    }
  ChildSa c;
  c.spi_in = cfg_.child_spi;
  c.spi_out = get_u32(sa->proposals[0].spi.data());
  c.esp = SkSuite{cfg_.esp.encr, cfg_.esp.key_bits, cfg_.esp.integ};
  c.keys = derive_child_keys(keys_.sk_d, ni_, nr_, c.esp.encr_key_size(), c.esp.integ_key_size());
  c.ts_local = tsi->selectors;
  c.ts_remote = tsr->selectors;
  c.udp_encap = use_natt_;
  child_ = std::move(c);
  emit(InitiatorEvent{.kind = EventKind::child_up, .at = now, .exchange = ExchangeType::ike_auth});
}

void Initiator::handle_informational_response(Millis now, const std::vector<Payload>& inner) {
  (void)inner;  // the answer to an IKE delete is empty; anything else needs no action
  if (state_ == InitiatorState::deleting) {
    state_ = InitiatorState::closed;
    child_.reset();
    emit(InitiatorEvent{.kind = EventKind::ike_deleted, .at = now, .exchange = ExchangeType::informational,
                        .detail = "deleted by us"});
  }
}

void Initiator::handle_peer_request(Millis now, const Message& m, const std::vector<Payload>& inner) {
  std::vector<Payload> answer;
  bool ike_deleted = false;
  if (m.header.exchange == ExchangeType::informational) {
    for (const auto& p : inner) {
      auto* d = std::get_if<DeletePayload>(&p.body);
      if (!d) continue;
      if (d->protocol == ProtocolId::ike) {
        ike_deleted = true;
      } else if (d->protocol == ProtocolId::esp && child_) {
        for (const auto& spi : d->spis)
          if (spi.size() == 4 && get_u32(spi.data()) == child_->spi_out) {
            // 1.4.1: answer with the SPI of our half of the pair.
            answer.push_back(make_payload(PayloadType::del,
                DeletePayload{ProtocolId::esp, 4, {u32_bytes(child_->spi_in)}}));
            child_.reset();
            emit(InitiatorEvent{.kind = EventKind::child_deleted, .at = now, .exchange = ExchangeType::informational,
                                .detail = "deleted by the responder"});
            break;
          }
      }
    }
  } else {
    // CREATE_CHILD_SA from the responder (its rekeys) is not implemented yet: refuse politely
    // so the responder keeps the SAs it has (2.7; NO_ADDITIONAL_SAS would end its attempts).
    answer.push_back(make_payload(PayloadType::notify,
        NotifyPayload{ProtocolId::none, {}, notify_type::temporary_failure, {}}));
  }
  auto sealed = seal(m.header.exchange, flags::initiator | flags::response, m.header.message_id, answer);
  if (!sealed) return;
  ++peer_request_id_;
  ++stats_.answered;
  last_response_ = *sealed;
  send_raw(std::move(*sealed));
  if (ike_deleted) {
    state_ = InitiatorState::closed;
    pending_.reset();
    child_.reset();
    emit(InitiatorEvent{.kind = EventKind::ike_deleted, .at = now, .exchange = ExchangeType::informational,
                        .detail = "deleted by the responder"});
  }
}

}  // namespace ist::native
