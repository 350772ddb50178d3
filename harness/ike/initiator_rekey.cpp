// CREATE_CHILD_SA (RFC 7296 1.3, 2.8, 2.17, 2.18, 2.25): the initiator's own rekeys of its
// CHILD_SA and IKE_SA, its answers to the peer's, and the collisions between the two.
#include <algorithm>

#include "ike/initiator.hpp"
#include "ike/initiator_helpers.hpp"

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
  retry_child_at_.reset();
  PendingRequest extra;
  extra.new_child_spi = random_esp_spi();
  IST_TRY_ASSIGN(extra.nonce, random_bytes(cfg_->nonce_size));
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
  retry_ike_at_.reset();
  PendingRequest extra;
  extra.new_ike_spi = random_u64();
  IST_TRY_ASSIGN(extra.nonce, random_bytes(cfg_->nonce_size));
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

void Initiator::schedule_rekey_retry(Millis now, Purpose purpose, uint16_t notify_type_) {
  const bool child = purpose == Purpose::rekey_child;
  const std::string what = child ? "CHILD_SA rekey" : "IKE_SA rekey";
  unsigned& refusals = child ? child_refusals_ : ike_refusals_;
  if (++refusals > cfg_->max_rekey_retries) {
    refusals = 0;
    fail(now, FailureCause::notify_received, notify_type_,
         what + " refused with " + notify_name(notify_type_) + " " + std::to_string(cfg_->max_rekey_retries + 1) +
             " times in a row",
         true);
    return;
  }
  // 2.25: not at once; give the peer time to finish the exchange that made it refuse.
  const Millis wait = cfg_->rekey_retry * refusals;
  (child ? retry_child_at_ : retry_ike_at_) = now + wait;
  ++stats_.collisions;
  emit(InitiatorEvent{.kind = EventKind::rekey_collision, .at = now, .exchange = ExchangeType::create_child_sa,
                      .notify = notify_type_,
                      .detail = what + " answered " + notify_name(notify_type_) +
                                " (the peer is busy with an exchange of its own); retry in " +
                                std::to_string(wait.count()) + " ms"});
}

// The peer's new IKE_SA from an unsettled collision becomes the current one; the old one
// waits in extra_ike_ for the peer's delete (the winner closes it, 2.8.2).
void Initiator::adopt_peer_ike_sa(Millis now) {
  IkeSaState peer_made = take_extra(ike_collision_->spi_i, ike_collision_->spi_r);
  ike_collision_.reset();
  peer_made.forget_at.reset();
  ike_.forget_at = now + cfg_->peer_delete_wait;
  extra_ike_.push_back(std::move(ike_));
  ike_ = std::move(peer_made);
  retry_ike_at_.reset();
  ike_refusals_ = 0;
  ++stats_.ike_rekeys;
  emit(InitiatorEvent{.kind = EventKind::ike_rekeyed, .at = now, .exchange = ExchangeType::create_child_sa,
                      .by_peer = true});
}

// An error notify in the answer to one of our rekeys. True when it was one (and handled).
bool Initiator::handle_rekey_refusal(Millis now, const PendingRequest& req, const std::vector<Payload>& inner) {
  const uint16_t error = first_error_notify(inner);
  if (!error) return false;
  const bool child = req.purpose == Purpose::rekey_child;
  if (child && child_rekey_lost_) {  // the peer's SA replaced the old one already
    child_rekey_lost_ = false;
    ++stats_.child_rekeys;
    emit(InitiatorEvent{.kind = EventKind::child_rekeyed, .at = now, .exchange = ExchangeType::create_child_sa,
                        .by_peer = true});
    return true;
  }
  // A crossing rekey of the peer's that we answered made its SA; ours made none, so the
  // peer's survives alone and the peer deletes the old SA (2.8.1, 2.8.2).
  if (child && collision_) {
    old_child_ = std::move(child_);
    child_ = std::move(collision_->peer_made);
    collision_.reset();
    child_refusals_ = 0;
    ++stats_.child_rekeys;
    emit(InitiatorEvent{.kind = EventKind::child_rekeyed, .at = now, .exchange = ExchangeType::create_child_sa,
                        .by_peer = true});
    return true;
  }
  if (!child && ike_collision_) {
    adopt_peer_ike_sa(now);
    return true;
  }
  if (child && !child_) return true;  // the peer deleted the CHILD_SA meanwhile (2.25.1): nothing to rekey
  if (error == notify_type::temporary_failure) {
    schedule_rekey_retry(now, req.purpose, error);
    return true;
  }
  if (child && error == notify_type::child_sa_not_found) {
    // 2.25: the peer has no such SA; ours is deleted silently.
    child_.reset();
    emit(InitiatorEvent{.kind = EventKind::child_deleted, .at = now, .exchange = ExchangeType::create_child_sa,
                        .notify = error, .by_peer = true, .detail = "unknown to the responder (CHILD_SA_NOT_FOUND)"});
    return true;
  }
  fail(now, FailureCause::notify_received, error,
       std::string(child ? "CHILD_SA" : "IKE_SA") + " rekey refused with " + notify_name(error), true);
  return true;
}

void Initiator::handle_rekey_child_response(Millis now, PendingRequest& req, const std::vector<Payload>& inner) {
  if (handle_rekey_refusal(now, req, inner)) return;
  auto* sa = find_in<SaPayload>(inner, PayloadType::sa);
  auto* nonce = find_in<NoncePayload>(inner, PayloadType::nonce);
  auto* tsi = find_in<TsPayload>(inner, PayloadType::tsi);
  auto* tsr = find_in<TsPayload>(inner, PayloadType::tsr);
  if (!sa || !nonce || !tsi || !tsr || sa->proposals.size() != 1 || !esp_acceptable(sa->proposals[0])) {
    fail(now, FailureCause::protocol_error, 0, "CHILD_SA rekey answer without a usable SA, Nr, TSi or TSr", true);
    return;
  }
  // The exchange ran on the IKE_SA the request went out on, even if the peer rekeyed it since.
  const IkeSaState* on = find_sa(req.spi_i, req.spi_r);
  auto fresh = make_child(on ? on->keys.sk_d() : ike_.keys.sk_d(), req.new_child_spi, get_u32(sa->proposals[0].spi.data()),
                          true, req.nonce, nonce->nonce, {}, tsi->selectors, tsr->selectors);
  if (!fresh) {
    fail(now, FailureCause::protocol_error, 0, fresh.error().message, true);
    return;
  }
  child_refusals_ = 0;
  if (child_rekey_lost_) {
    // The peer won the collision and already closed the old SA: close the one we made.
    child_rekey_lost_ = false;
    PendingRequest extra;
    extra.new_child_spi = fresh->spi_in;
    (void)send_request(now, ike_, Purpose::delete_redundant_child, ExchangeType::informational,
                       {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {u32_bytes(fresh->spi_in)}})},
                       std::move(extra));
    return;
  }
  if (!child_) {
    // The peer deleted the CHILD_SA while our rekey was in flight, yet made the new one.
    child_ = std::move(*fresh);
    emit(InitiatorEvent{.kind = EventKind::child_up, .at = now, .exchange = ExchangeType::create_child_sa});
    return;
  }
  old_child_ = std::move(child_);
  uint32_t to_delete = old_child_->spi_in;
  Purpose purpose = Purpose::delete_old_child;
  if (collision_) {
    ChildCollision c = std::move(*collision_);
    collision_.reset();
    if (our_exchange_made_the_redundant_sa(req.nonce, nonce->nonce, c.peer_ni, c.our_nr)) {
      // We lost: close only the SA we made. The old SA is the winner's to delete once its
      // own exchange completes; deleting it now makes charon treat its rekey as colliding
      // with a delete and close the surviving SA too.
      child_ = std::move(c.peer_made);
      to_delete = fresh->spi_in;
      purpose = Purpose::delete_redundant_child;
    } else {
      redundant_child_ = std::move(c.peer_made);
      child_ = std::move(*fresh);
    }
  } else {
    child_ = std::move(*fresh);
  }
  // 2.8: the initiator of the surviving rekey deletes the old CHILD_SA, on the current IKE_SA.
  PendingRequest extra;
  extra.new_child_spi = to_delete;
  (void)send_request(now, ike_, purpose, ExchangeType::informational,
                     {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {u32_bytes(to_delete)}})},
                     std::move(extra));
}

void Initiator::handle_rekey_ike_response(Millis now, PendingRequest& req, const std::vector<Payload>& inner) {
  if (handle_rekey_refusal(now, req, inner)) return;
  auto* sa = find_in<SaPayload>(inner, PayloadType::sa);
  auto* nonce = find_in<NoncePayload>(inner, PayloadType::nonce);
  auto* ke = find_in<KePayload>(inner, PayloadType::ke);
  IkeSaState* rekeyed = find_sa(req.spi_i, req.spi_r);
  if (!sa || !nonce || !ke || sa->proposals.size() != 1 || sa->proposals[0].spi.size() != 8 || !req.dh ||
      ke->group != req.dh->group() || rekeyed != &ike_) {
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
  fresh.keys = derive_rekeyed_ike_keys(ike_.keys.sk_d(), *shared, req.nonce, nonce->nonce, fresh.spi_i, fresh.spi_r,
                                       IkeKeyLengths{.integ = fresh.suite.integ_key_size(), .encr = fresh.suite.encr_key_size()});
  fresh.keys.forget_auth_keys();  // a rekeyed IKE_SA has no AUTH: SKEYSEED and SK_p* serve nothing
  ike_refusals_ = 0;
  if (ike_collision_ &&
      our_exchange_made_the_redundant_sa(req.nonce, nonce->nonce, ike_collision_->peer_ni, ike_collision_->our_nr)) {
    // 2.8.2, we lost: the peer's new SA is current (the peer deletes the old one), and we
    // close the one our exchange made, on that SA itself.
    adopt_peer_ike_sa(now);
    const uint64_t spi_i = fresh.spi_i, spi_r = fresh.spi_r;
    extra_ike_.push_back(std::move(fresh));
    (void)send_request(now, *find_sa(spi_i, spi_r), Purpose::delete_redundant_ike, ExchangeType::informational,
                       {make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}})}, PendingRequest{});
    return;
  }
  // No collision, or we won it: the peer's new SA (if any) stays in extra_ike_ until the
  // peer deletes it (or peer_delete_wait passes: charon drops it unannounced when our
  // delete of the old SA overtakes our answer to its rekey).
  if (ike_collision_)
    if (IkeSaState* redundant = find_sa(ike_collision_->spi_i, ike_collision_->spi_r))
      redundant->forget_at = now + cfg_->peer_delete_wait;
  ike_collision_.reset();
  extra_ike_.push_back(std::move(ike_));
  ike_ = std::move(fresh);
  // 2.18: the old IKE_SA is deleted by the rekey's initiator, on the old SA.
  (void)send_request(now, extra_ike_.back(), Purpose::delete_old_ike, ExchangeType::informational,
                     {make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}})}, PendingRequest{});
}

std::vector<Payload> Initiator::answer_peer_create_child(Millis now, const IkeSaState& sa,
                                                         const std::vector<Payload>& inner) {
  auto refuse = [&](uint16_t type) {
    ++stats_.refused_requests;
    return std::vector<Payload>{notify(type)};
  };
  // 2.25.1 / 2.25.2: we are closing the IKE_SA.
  if (state_ == InitiatorState::deleting) return refuse(notify_type::temporary_failure);
  auto* proposals = find_in<SaPayload>(inner, PayloadType::sa);
  if (!proposals || !find_in<NoncePayload>(inner, PayloadType::nonce) || state_ != InitiatorState::established)
    return refuse(notify_type::no_proposal_chosen);
  const bool ike = std::any_of(proposals->proposals.begin(), proposals->proposals.end(),
                               [](const Proposal& p) { return p.protocol == ProtocolId::ike; });
  return ike ? answer_peer_ike_rekey(now, sa, inner) : answer_peer_child(now, sa, inner);
}

// A CHILD_SA the peer creates: a rekey of ours (REKEY_SA names it), or a new one when we hold
// none (the peer deleted ours, e.g. at its hard lifetime). One path for both.
std::vector<Payload> Initiator::answer_peer_child(Millis now, const IkeSaState& sa, const std::vector<Payload>& inner) {
  auto refuse = [&](uint16_t type, ProtocolId protocol = ProtocolId::none, Bytes spi = {}) {
    ++stats_.refused_requests;
    return std::vector<Payload>{notify(type, {}, protocol, std::move(spi))};
  };
  auto* rekey = find_notify_in(inner, notify_type::rekey_sa);
  if (rekey) {
    // The notify names the peer's inbound SPI, i.e. our outbound one.
    uint32_t named = rekey->spi.size() == 4 ? get_u32(rekey->spi.data()) : 0;
    // 2.25.1: rekeying an SA we are closing gets TEMPORARY_FAILURE.
    if ((old_child_ && named == old_child_->spi_out) || (redundant_child_ && named == redundant_child_->spi_out))
      return refuse(notify_type::temporary_failure);
    if (!child_ || named != child_->spi_out) return refuse(notify_type::child_sa_not_found, ProtocolId::esp, rekey->spi);
  } else if (child_) {
    return refuse(notify_type::no_additional_sas);  // a second CHILD_SA: not offered
  }
  auto* offered = find_in<SaPayload>(inner, PayloadType::sa);
  auto* nonce = find_in<NoncePayload>(inner, PayloadType::nonce);
  auto* tsi = find_in<TsPayload>(inner, PayloadType::tsi);
  auto* tsr = find_in<TsPayload>(inner, PayloadType::tsr);
  if (!offered || !nonce) return refuse(notify_type::no_proposal_chosen);
  if (!tsi || !tsr) return refuse(notify_type::ts_unacceptable);
  const Proposal* chosen = nullptr;
  for (const auto& p : offered->proposals)
    if (esp_acceptable(p) && !p.find(TransformType::dh)) {
      chosen = &p;
      break;
    }
  if (!chosen) return refuse(notify_type::no_proposal_chosen);
  auto our_nonce = random_bytes(cfg_->nonce_size);
  uint32_t spi = random_esp_spi();
  if (!our_nonce || spi == 0) return refuse(notify_type::temporary_failure);
  // The peer's TSi is its side, i.e. our remote selectors.
  auto fresh = make_child(sa.keys.sk_d(), spi, get_u32(chosen->spi.data()), false, nonce->nonce, *our_nonce, {},
                          tsr->selectors, tsi->selectors);
  if (!fresh) return refuse(notify_type::temporary_failure);
  Proposal answer_p = esp_proposal(spi);
  answer_p.number = chosen->number;
  std::vector<Payload> out{make_payload(PayloadType::sa, SaPayload{{answer_p}}),
                           make_payload(PayloadType::nonce, NoncePayload{*our_nonce}),
                           make_payload(PayloadType::tsi, *tsi), make_payload(PayloadType::tsr, *tsr)};
  if (!rekey) {
    child_ = std::move(*fresh);
    emit(InitiatorEvent{.kind = EventKind::child_up, .at = now, .exchange = ExchangeType::create_child_sa,
                        .by_peer = true});
    return out;
  }
  if (pending_ && pending_->purpose == Purpose::rekey_child) {
    // 2.8.1 / 2.25.1: answer as usual; which SA survives is settled when our answer arrives.
    ++stats_.collisions;
    collision_ = ChildCollision{nonce->nonce, *our_nonce, std::move(*fresh)};
    emit(InitiatorEvent{.kind = EventKind::rekey_collision, .at = now, .exchange = ExchangeType::create_child_sa,
                        .by_peer = true, .detail = "simultaneous CHILD_SA rekey"});
    return out;
  }
  if (pending_ && pending_->purpose == Purpose::rekey_ike) {
    // 2.25.2 lets us refuse this with TEMPORARY_FAILURE; we answer (see initiator.hpp). The
    // peer is then likely to refuse our IKE rekey, which we retry.
    ++stats_.collisions;
    emit(InitiatorEvent{.kind = EventKind::rekey_collision, .at = now, .exchange = ExchangeType::create_child_sa,
                        .by_peer = true, .detail = "peer's CHILD_SA rekey during our IKE_SA rekey: answered"});
  }
  old_child_ = std::move(child_);
  child_ = std::move(*fresh);
  retry_child_at_.reset();  // the CHILD_SA has fresh keys: our retry has nothing left to do
  child_refusals_ = 0;
  ++stats_.child_rekeys;
  emit(InitiatorEvent{.kind = EventKind::child_rekeyed, .at = now, .exchange = ExchangeType::create_child_sa,
                      .by_peer = true});
  return out;
}

// The peer rekeys an IKE_SA (an IKE proposal with its new SPI, and a KE).
std::vector<Payload> Initiator::answer_peer_ike_rekey(Millis now, const IkeSaState& sa,
                                                      const std::vector<Payload>& inner) {
  auto refuse = [&](uint16_t type, Bytes data = {}) {
    ++stats_.refused_requests;
    return std::vector<Payload>{notify(type, std::move(data))};
  };
  // 2.25.2: an IKE_SA we replaced (or whose collision is unsettled) is being closed.
  if (&sa != &ike_ || ike_collision_) return refuse(notify_type::temporary_failure);
  auto* offered = find_in<SaPayload>(inner, PayloadType::sa);
  auto* nonce = find_in<NoncePayload>(inner, PayloadType::nonce);
  auto* ke = find_in<KePayload>(inner, PayloadType::ke);
  if (!offered || !nonce) return refuse(notify_type::no_proposal_chosen);
  if (!ke) return refuse(notify_type::invalid_syntax);
  const Proposal* chosen = nullptr;
  for (const auto& p : offered->proposals)
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
  auto our_nonce = random_bytes(cfg_->nonce_size);
  if (!dh || !our_nonce) return refuse(notify_type::temporary_failure);
  auto shared = dh->shared_secret(ke->data);
  if (!shared) return refuse(notify_type::invalid_syntax);
  IkeSaState fresh;
  fresh.spi_i = get_u64(chosen->spi.data());
  fresh.spi_r = random_u64();
  fresh.original_initiator = false;  // the peer started this IKE_SA
  fresh.suite = sa.suite;
  fresh.keys = derive_rekeyed_ike_keys(sa.keys.sk_d(), *shared, nonce->nonce, *our_nonce, fresh.spi_i, fresh.spi_r,
                                       IkeKeyLengths{.integ = fresh.suite.integ_key_size(), .encr = fresh.suite.encr_key_size()});
  fresh.keys.forget_auth_keys();
  Proposal answer_p = ike_proposal();
  answer_p.number = chosen->number;
  answer_p.spi = u64_bytes(fresh.spi_r);
  std::erase_if(answer_p.transforms, [&](const Transform& t) { return t.type == TransformType::dh && t.id != dh->group(); });
  std::vector<Payload> out{make_payload(PayloadType::sa, SaPayload{{answer_p}}),
                           make_payload(PayloadType::nonce, NoncePayload{*our_nonce}),
                           make_payload(PayloadType::ke, KePayload{dh->group(), dh->public_value()})};
  if (pending_ && pending_->purpose == Purpose::rekey_ike) {
    // 2.8.2: both sides rekey the IKE_SA. Answer as usual; the SA made with the lowest nonce
    // is redundant, settled when our own answer arrives.
    ike_collision_ = IkeCollision{nonce->nonce, *our_nonce, fresh.spi_i, fresh.spi_r};
    extra_ike_.push_back(std::move(fresh));
    ++stats_.collisions;
    emit(InitiatorEvent{.kind = EventKind::rekey_collision, .at = now, .exchange = ExchangeType::create_child_sa,
                        .by_peer = true, .detail = "simultaneous IKE_SA rekey"});
    return out;
  }
  // The answer goes out on the old SA (the caller seals it there); afterwards the new one is
  // current. A request of ours in flight on the old SA is answered there (2.25.2 would let
  // us refuse this rekey during a CHILD_SA exchange of ours; we answer, see initiator.hpp).
  extra_ike_.push_back(std::move(ike_));
  ike_ = std::move(fresh);
  retry_ike_at_.reset();
  ike_refusals_ = 0;
  ++stats_.ike_rekeys;
  emit(InitiatorEvent{.kind = EventKind::ike_rekeyed, .at = now, .exchange = ExchangeType::create_child_sa,
                      .by_peer = true});
  return out;
}

}  // namespace ist::native
