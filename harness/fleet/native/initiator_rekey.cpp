// CREATE_CHILD_SA (RFC 7296 1.3, 2.8, 2.17, 2.18): the initiator's own rekeys of its CHILD_SA
// and IKE_SA, and its answers to the peer's.
#include <algorithm>

#include "fleet/native/initiator.hpp"
#include "fleet/native/initiator_helpers.hpp"

namespace ist::native {

using namespace detail;

// A proposal of the peer's we can take whole: every transform type it lists has an option we
// configured (the first matching one is what we answer with, see 3.3.6).
bool Initiator::esp_acceptable(const Proposal& p) const {
  if (p.protocol != ProtocolId::esp || p.spi.size() != 4) return false;
  Proposal mine = esp_proposal(0);
  for (auto type : {TransformType::encr, TransformType::integ, TransformType::esn}) {
    const Transform* want = mine.find(type);
    bool found = false, listed = false;
    for (const auto& t : p.transforms)
      if (t.type == type) {
        listed = true;
        found = found || (want && t == *want);
      }
    if (want && !found) return false;
    if (!want && listed && type != TransformType::integ) return false;
    if (!want && listed && type == TransformType::integ) {
      // "none" is the only integrity we can take with an AEAD cipher.
      bool none = false;
      for (const auto& t : p.transforms)
        if (t.type == type && t.id == transform_id::integ_none) none = true;
      if (!none) return false;
    }
  }
  return true;
}

bool Initiator::ike_acceptable(const Proposal& p) const {
  if (p.protocol != ProtocolId::ike || p.spi.size() != 8) return false;
  Proposal mine = ike_proposal();
  for (auto type : {TransformType::encr, TransformType::prf, TransformType::integ}) {
    const Transform* want = mine.find(type);
    bool found = false;
    for (const auto& t : p.transforms)
      if (t.type == type && want && t == *want) found = true;
    if (want && !found) return false;
  }
  for (const auto& t : p.transforms)
    if (t.type == TransformType::dh && t.id == dh_group_) return true;
  return false;
}

Status Initiator::rekey_child(Millis now) {
  if (state_ != InitiatorState::established || !child_) return Error("no established CHILD_SA to rekey");
  if (pending_) return Error("a request is in flight");
  PendingRequest extra;
  extra.new_child_spi = random_esp_spi();
  IST_TRY_ASSIGN(extra.nonce, random_bytes(cfg_.nonce_size));
  std::vector<Payload> inner{
      notify(notify_type::rekey_sa, {}, ProtocolId::esp, u32_bytes(child_->spi_in)),
      make_payload(PayloadType::sa, SaPayload{{esp_proposal(extra.new_child_spi)}}),
      make_payload(PayloadType::nonce, NoncePayload{extra.nonce}),
      make_payload(PayloadType::tsi, TsPayload{child_->ts_local}),
      make_payload(PayloadType::tsr, TsPayload{child_->ts_remote})};
  return send_request(now, ike_, Purpose::rekey_child, ExchangeType::create_child_sa, inner, std::move(extra));
}

Status Initiator::rekey_ike(Millis now) {
  if (state_ != InitiatorState::established) return Error("no established IKE_SA to rekey");
  if (pending_) return Error("a request is in flight");
  PendingRequest extra;
  extra.new_ike_spi = random_u64();
  IST_TRY_ASSIGN(extra.nonce, random_bytes(cfg_.nonce_size));
  IST_TRY_ASSIGN(auto dh, DhKeyPair::generate(dh_group_));
  Proposal p = ike_proposal();
  p.spi = u64_bytes(extra.new_ike_spi);
  // Offer only the group of our KE so the answer cannot ask for another.
  std::erase_if(p.transforms, [&](const Transform& t) { return t.type == TransformType::dh && t.id != dh.group(); });
  std::vector<Payload> inner{make_payload(PayloadType::sa, SaPayload{{p}}),
                             make_payload(PayloadType::nonce, NoncePayload{extra.nonce}),
                             make_payload(PayloadType::ke, KePayload{dh.group(), dh.public_value()})};
  extra.dh.emplace(std::move(dh));
  return send_request(now, ike_, Purpose::rekey_ike, ExchangeType::create_child_sa, inner, std::move(extra));
}

void Initiator::handle_rekey_child_response(Millis now, PendingRequest& req, const std::vector<Payload>& inner) {
  auto* sa = find_in<SaPayload>(inner, PayloadType::sa);
  auto* nonce = find_in<NoncePayload>(inner, PayloadType::nonce);
  auto* tsi = find_in<TsPayload>(inner, PayloadType::tsi);
  auto* tsr = find_in<TsPayload>(inner, PayloadType::tsr);
  if (uint16_t error = first_error_notify(inner)) {
    fail(now, FailureCause::notify_received, error, "CHILD_SA rekey refused with " + notify_name(error), true);
    return;
  }
  if (!sa || !nonce || !tsi || !tsr || sa->proposals.size() != 1 || !esp_acceptable(sa->proposals[0]) || !child_) {
    fail(now, FailureCause::protocol_error, 0, "CHILD_SA rekey answer without a usable SA, Nr, TSi or TSr", true);
    return;
  }
  auto fresh = make_child(req.new_child_spi, get_u32(sa->proposals[0].spi.data()), true, req.nonce, nonce->nonce,
                          {}, tsi->selectors, tsr->selectors);
  if (!fresh) {
    fail(now, FailureCause::protocol_error, 0, fresh.error().message, true);
    return;
  }
  old_child_ = std::move(child_);
  std::vector<Bytes> to_delete{u32_bytes(old_child_->spi_in)};
  if (collision_) {
    // 2.8.1: the SA made with the lowest of the four nonces is redundant and is closed by
    // whoever made it. Nonces compare as unsigned octet strings.
    const Bytes* lowest = &req.nonce;
    for (const Bytes* n : std::initializer_list<const Bytes*>{&nonce->nonce, &collision_->peer_ni, &collision_->our_nr})
      if (std::lexicographical_compare(n->begin(), n->end(), lowest->begin(), lowest->end())) lowest = n;
    bool ours_redundant = lowest == &req.nonce || lowest == &nonce->nonce;
    if (ours_redundant) {
      // We lost: close only the SA we made. The old SA is the winner's to delete once its
      // own exchange completes; deleting it now makes charon treat its rekey as colliding
      // with a delete and close the surviving SA too.
      child_ = std::move(collision_->peer_made);
      collision_.reset();
      (void)send_request(now, ike_, Purpose::delete_redundant_child, ExchangeType::informational,
                         {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {u32_bytes(fresh->spi_in)}})},
                         PendingRequest{});
      return;
    } else {
      redundant_child_ = std::move(collision_->peer_made);
      child_ = std::move(*fresh);
    }
    collision_.reset();
  } else {
    child_ = std::move(*fresh);
  }
  // 2.8: the initiator of the rekey deletes the old CHILD_SA (after a collision: the winner).
  (void)send_request(now, ike_, Purpose::delete_old_child, ExchangeType::informational,
                     {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, to_delete})}, PendingRequest{});
}

void Initiator::handle_rekey_ike_response(Millis now, PendingRequest& req, const std::vector<Payload>& inner) {
  auto* sa = find_in<SaPayload>(inner, PayloadType::sa);
  auto* nonce = find_in<NoncePayload>(inner, PayloadType::nonce);
  auto* ke = find_in<KePayload>(inner, PayloadType::ke);
  if (uint16_t error = first_error_notify(inner)) {
    fail(now, FailureCause::notify_received, error, "IKE_SA rekey refused with " + notify_name(error), true);
    return;
  }
  if (!sa || !nonce || !ke || sa->proposals.size() != 1 || sa->proposals[0].spi.size() != 8 || !req.dh ||
      ke->group != req.dh->group()) {
    fail(now, FailureCause::protocol_error, 0, "IKE_SA rekey answer without a usable SA, Nr or KE", true);
    return;
  }
  auto shared = req.dh->shared_secret(ke->data);
  if (!shared) {
    fail(now, FailureCause::protocol_error, 0, "bad KE data in IKE rekey: " + shared.error().message, true);
    return;
  }
  IkeSaState fresh;
  fresh.spi_i = req.new_ike_spi;
  fresh.spi_r = get_u64(sa->proposals[0].spi.data());
  fresh.original_initiator = true;
  fresh.suite = ike_.suite;
  fresh.keys = derive_rekeyed_ike_keys(ike_.keys.sk_d, *shared, req.nonce, nonce->nonce, fresh.spi_i, fresh.spi_r,
                                       IkeKeyLengths{.integ = fresh.suite.integ_key_size(), .encr = fresh.suite.encr_key_size()});
  old_ike_ = std::move(ike_);
  ike_ = std::move(fresh);
  // 2.18: the old IKE_SA is deleted by the rekey's initiator, on the old SA.
  (void)send_request(now, *old_ike_, Purpose::delete_old_ike, ExchangeType::informational,
                     {make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}})}, PendingRequest{});
}

std::vector<Payload> Initiator::answer_peer_create_child(Millis now, const std::vector<Payload>& inner) {
  auto refuse = [&](uint16_t type, Bytes data = {}) {
    ++stats_.refused_requests;
    return std::vector<Payload>{notify(type, std::move(data))};
  };
  auto* sa = find_in<SaPayload>(inner, PayloadType::sa);
  auto* nonce = find_in<NoncePayload>(inner, PayloadType::nonce);
  auto* ke = find_in<KePayload>(inner, PayloadType::ke);
  if (!sa || !nonce || state_ != InitiatorState::established) return refuse(notify_type::no_proposal_chosen);
  // Our IKE rekey is in flight: the peer retries later (a simplification of 2.8.2, which
  // resolves IKE rekey collisions by nonces too).
  if (pending_ && pending_->purpose == Purpose::rekey_ike) {
    ++stats_.collisions;
    emit(InitiatorEvent{.kind = EventKind::rekey_collision, .at = now, .exchange = ExchangeType::create_child_sa,
                        .by_peer = true, .detail = "peer request during our IKE_SA rekey"});
    return refuse(notify_type::temporary_failure);
  }

  if (auto* rekey = find_notify_in(inner, notify_type::rekey_sa)) {
    // CHILD_SA rekey: the notify names the peer's inbound SPI, i.e. our outbound one.
    uint32_t named = rekey->spi.size() == 4 ? get_u32(rekey->spi.data()) : 0;
    // 2.25.1: rekeying an SA we are closing gets TEMPORARY_FAILURE.
    if (old_child_ && named == old_child_->spi_out) return refuse(notify_type::temporary_failure);
    if (!child_ || named != child_->spi_out) return refuse(notify_type::child_sa_not_found);
    bool colliding = pending_ && pending_->purpose == Purpose::rekey_child;
    auto* tsi = find_in<TsPayload>(inner, PayloadType::tsi);
    auto* tsr = find_in<TsPayload>(inner, PayloadType::tsr);
    if (!tsi || !tsr) return refuse(notify_type::ts_unacceptable);
    const Proposal* chosen = nullptr;
    for (const auto& p : sa->proposals)
      if (esp_acceptable(p) && !p.find(TransformType::dh)) {
        chosen = &p;
        break;
      }
    if (!chosen) return refuse(notify_type::no_proposal_chosen);
    auto our_nonce = random_bytes(cfg_.nonce_size);
    uint32_t spi = random_esp_spi();
    if (!our_nonce || spi == 0) return refuse(notify_type::temporary_failure);
    // The peer's TSi is its side, i.e. our remote selectors.
    auto fresh = make_child(spi, get_u32(chosen->spi.data()), false, nonce->nonce, *our_nonce, {}, tsr->selectors,
                            tsi->selectors);
    if (!fresh) return refuse(notify_type::temporary_failure);
    Proposal answer_p = esp_proposal(spi);
    answer_p.number = chosen->number;
    if (colliding) {
      // 2.25.1: answer as usual; which SA survives is settled when our answer arrives.
      ++stats_.collisions;
      collision_ = ChildCollision{nonce->nonce, *our_nonce, std::move(*fresh)};
      emit(InitiatorEvent{.kind = EventKind::rekey_collision, .at = now, .exchange = ExchangeType::create_child_sa,
                          .by_peer = true, .detail = "simultaneous CHILD_SA rekey"});
    } else {
      old_child_ = std::move(child_);
      child_ = std::move(*fresh);
      ++stats_.child_rekeys;
      emit(InitiatorEvent{.kind = EventKind::child_rekeyed, .at = now, .exchange = ExchangeType::create_child_sa,
                          .by_peer = true});
    }
    return {make_payload(PayloadType::sa, SaPayload{{answer_p}}), make_payload(PayloadType::nonce, NoncePayload{*our_nonce}),
            make_payload(PayloadType::tsi, *tsi), make_payload(PayloadType::tsr, *tsr)};
  }

  // IKE_SA rekey: an IKE proposal with the peer's new SPI, and a KE.
  bool ike = std::any_of(sa->proposals.begin(), sa->proposals.end(),
                         [](const Proposal& p) { return p.protocol == ProtocolId::ike; });
  if (!ike && child_) return refuse(notify_type::no_additional_sas);  // a second CHILD_SA: not offered
  if (!ike) {
    // We hold no CHILD_SA (the peer deleted it, e.g. at its hard lifetime) and the peer
    // creates a new one: take it like a rekey without an old SA.
    auto* tsi = find_in<TsPayload>(inner, PayloadType::tsi);
    auto* tsr = find_in<TsPayload>(inner, PayloadType::tsr);
    if (!tsi || !tsr) return refuse(notify_type::ts_unacceptable);
    const Proposal* chosen = nullptr;
    for (const auto& p : sa->proposals)
      if (esp_acceptable(p) && !p.find(TransformType::dh)) {
        chosen = &p;
        break;
      }
    if (!chosen) return refuse(notify_type::no_proposal_chosen);
    auto our_nonce = random_bytes(cfg_.nonce_size);
    uint32_t spi = random_esp_spi();
    if (!our_nonce || spi == 0) return refuse(notify_type::temporary_failure);
    auto fresh = make_child(spi, get_u32(chosen->spi.data()), false, nonce->nonce, *our_nonce, {}, tsr->selectors,
                            tsi->selectors);
    if (!fresh) return refuse(notify_type::temporary_failure);
    Proposal answer_p = esp_proposal(spi);
    answer_p.number = chosen->number;
    child_ = std::move(*fresh);
    emit(InitiatorEvent{.kind = EventKind::child_up, .at = now, .exchange = ExchangeType::create_child_sa,
                        .by_peer = true});
    return {make_payload(PayloadType::sa, SaPayload{{answer_p}}), make_payload(PayloadType::nonce, NoncePayload{*our_nonce}),
            make_payload(PayloadType::tsi, *tsi), make_payload(PayloadType::tsr, *tsr)};
  }
  if (!ke) return refuse(notify_type::invalid_syntax);
  const Proposal* chosen = nullptr;
  for (const auto& p : sa->proposals)
    if (ike_acceptable(p)) {
      chosen = &p;
      break;
    }
  if (!chosen) return refuse(notify_type::no_proposal_chosen);
  if (ke->group != dh_group_) {
    Bytes g;
    put_u16(g, dh_group_);
    return refuse(notify_type::invalid_ke_payload, g);
  }
  auto dh = DhKeyPair::generate(dh_group_);
  auto our_nonce = random_bytes(cfg_.nonce_size);
  if (!dh || !our_nonce) return refuse(notify_type::temporary_failure);
  auto shared = dh->shared_secret(ke->data);
  if (!shared) return refuse(notify_type::invalid_syntax);
  IkeSaState fresh;
  fresh.spi_i = get_u64(chosen->spi.data());
  fresh.spi_r = random_u64();
  fresh.original_initiator = false;  // the peer started this IKE_SA
  fresh.suite = ike_.suite;
  fresh.keys = derive_rekeyed_ike_keys(ike_.keys.sk_d, *shared, nonce->nonce, *our_nonce, fresh.spi_i, fresh.spi_r,
                                       IkeKeyLengths{.integ = fresh.suite.integ_key_size(), .encr = fresh.suite.encr_key_size()});
  Proposal answer_p = ike_proposal();
  answer_p.number = chosen->number;
  answer_p.spi = u64_bytes(fresh.spi_r);
  std::erase_if(answer_p.transforms, [&](const Transform& t) { return t.type == TransformType::dh && t.id != dh->group(); });
  std::vector<Payload> out{make_payload(PayloadType::sa, SaPayload{{answer_p}}),
                           make_payload(PayloadType::nonce, NoncePayload{*our_nonce}),
                           make_payload(PayloadType::ke, KePayload{dh->group(), dh->public_value()})};
  // The answer goes out on the old SA (the caller seals it); afterwards the new one is current.
  old_ike_ = std::move(ike_);
  ike_ = std::move(fresh);
  ++stats_.ike_rekeys;
  emit(InitiatorEvent{.kind = EventKind::ike_rekeyed, .at = now, .exchange = ExchangeType::create_child_sa,
                      .by_peer = true});
  return out;
}

}  // namespace ist::native
