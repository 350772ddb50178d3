// The initiator state machine against a small in-test responder built from the same codec
// and crypto primitives (whose vectors are checked in native_crypto_test.cpp). Interop with a
// real charon is the privileged test native_interop_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>

#include "ike/initiator.hpp"

namespace ist::native {
namespace {

const Bytes peer_addr{198, 19, 0, 1}, sut_addr{198, 18, 0, 1};

TrafficSelector host_ts(Bytes a) { return TrafficSelector{.start_address = a, .end_address = a}; }

struct ResponderBehaviour {
  bool demand_cookie = false;
  uint16_t demand_group = 0;  // INVALID_KE_PAYLOAD unless KE uses it
  uint16_t init_error = 0;    // answer IKE_SA_INIT with this notify
  bool fake_nat = false;      // NAT_DETECTION_SOURCE_IP of another address
  uint16_t auth_error = 0;    // refuse IKE_AUTH with this notify (no AUTH)
  uint16_t child_error = 0;   // IKE_SA up, CHILD_SA refused with this notify
  bool corrupt_auth = false;  // send an AUTH that does not verify
  Bytes psk = to_bytes("secret");
  Bytes peer = peer_addr, sut = sut_addr;  // the addresses its NAT detection hashes
};

class TestResponder {
 public:
  explicit TestResponder(ResponderBehaviour b) : b_(std::move(b)) {}

  // Answer to one datagram (marker already stripped), empty when it sends nothing.
  Bytes answer(ByteView raw) {
    auto m = parse_message(raw);
    EXPECT_TRUE(m.ok()) << m.error().describe();
    if (!m) return {};
    if (m->header.exchange == ExchangeType::ike_sa_init) return on_init(raw, *m);
    auto* sk = m->find<SkPayload>(PayloadType::sk);
    EXPECT_NE(sk, nullptr);
    if (!sk) return {};
    auto plain = open_message(suite_, keys_.sk_ei(), keys_.sk_ai(), raw, *sk);
    EXPECT_TRUE(plain.ok()) << plain.error().describe();
    if (!plain) return {};
    auto inner = parse_payload_chain(sk->first_inner, *plain);
    EXPECT_TRUE(inner.ok()) << inner.error().describe();
    if (!inner) return {};
    if (m->header.is_response()) {
      last_answer_inner_ = *inner;
      return {};
    }
    if (m->header.exchange == ExchangeType::ike_auth) return on_auth(*m, *inner);
    for (const auto& p : *inner)
      if (auto* d = std::get_if<DeletePayload>(&p.body); d && d->protocol == ProtocolId::ike) deleted_ = true;
    return seal_response(*m, {});
  }

  // A request of ours (liveness check when empty).
  Bytes request(ExchangeType ex, const std::vector<Payload>& inner) {
    Header h{.spi_i = spi_i_, .spi_r = spi_r_, .exchange = ex, .flags = 0, .message_id = my_mid_++};
    auto r = seal_message(suite_, keys_.sk_er(), keys_.sk_ar(), h, inner.empty() ? PayloadType::none : inner[0].type,
                          serialize_payload_chain(inner));
    return r ? *r : Bytes{};
  }

  const IkeKeys& keys() const { return keys_; }
  const SkSuite& suite() const { return suite_; }
  uint64_t spi_i() const { return spi_i_; }
  uint64_t spi_r() const { return spi_r_; }
  const Bytes& ni() const { return ni_; }
  const Bytes& nr() const { return nr_; }
  uint16_t group_seen() const { return group_seen_; }
  bool deleted() const { return deleted_; }
  unsigned init_requests() const { return init_requests_; }
  const Bytes& cookie_seen() const { return cookie_seen_; }
  const std::vector<Payload>& last_answer_inner() const { return last_answer_inner_; }
  static constexpr uint32_t child_spi = 0xc0ffee01;

 private:
  Bytes plain_response(const Message& req, std::vector<Payload> payloads, uint64_t spi_r) {
    Message r;
    r.header = Header{.spi_i = req.header.spi_i, .spi_r = spi_r, .exchange = req.header.exchange,
                      .flags = flags::response, .message_id = 0};
    r.payloads = std::move(payloads);
    return serialize_message(r);
  }
  Bytes notify_only(const Message& req, uint16_t type, Bytes data) {
    return plain_response(req, {make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, type, data})}, 0);
  }

  Bytes on_init(ByteView raw, const Message& m) {
    ++init_requests_;
    const auto* cookie = m.find_notify(notify_type::cookie);
    if (cookie) cookie_seen_ = cookie->data;
    if (b_.demand_cookie && !cookie) return notify_only(m, notify_type::cookie, to_bytes("cookie-from-sut"));
    auto* ke = m.find<KePayload>(PayloadType::ke);
    auto* sa = m.find<SaPayload>(PayloadType::sa);
    auto* nonce = m.find<NoncePayload>(PayloadType::nonce);
    EXPECT_TRUE(ke && sa && nonce);
    if (!ke || !sa || !nonce) return {};
    group_seen_ = ke->group;
    if (b_.demand_group && ke->group != b_.demand_group) {
      Bytes g;
      put_u16(g, b_.demand_group);
      return notify_only(m, notify_type::invalid_ke_payload, g);
    }
    if (b_.init_error) return notify_only(m, b_.init_error, {});
    const Proposal& offered = sa->proposals.front();
    Proposal chosen{.number = offered.number, .protocol = ProtocolId::ike, .spi = {}, .transforms = {}};
    for (auto type : {TransformType::encr, TransformType::prf, TransformType::integ})
      if (auto* t = offered.find(type)) chosen.transforms.push_back(*t);
    chosen.transforms.push_back({TransformType::dh, ke->group, std::nullopt});
    suite_ = *SkSuite::from_proposal(chosen);
    auto dh = DhKeyPair::generate(ke->group);
    spi_i_ = m.header.spi_i;
    ni_ = nonce->nonce;
    nr_ = Bytes(32, 0x77);
    keys_ = derive_ike_keys(*dh->shared_secret(ke->data), ni_, nr_, spi_i_, spi_r_,
                            IkeKeyLengths{.integ = suite_.integ_key_size(), .encr = suite_.encr_key_size()});
    init_request_.assign(raw.begin(), raw.end());
    Bytes src = nat_detection_hash(spi_i_, spi_r_, b_.fake_nat ? Bytes{10, 9, 9, 9} : b_.sut, 500);
    init_response_ = plain_response(m, {
        make_payload(PayloadType::sa, SaPayload{{chosen}}),
        make_payload(PayloadType::ke, KePayload{ke->group, dh->public_value()}),
        make_payload(PayloadType::nonce, NoncePayload{nr_}),
        make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, notify_type::nat_detection_source_ip, src}),
        make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, notify_type::nat_detection_destination_ip,
                                                        nat_detection_hash(spi_i_, spi_r_, b_.peer, 500)}),
    }, spi_r_);
    return init_response_;
  }

  Bytes seal_response(const Message& req, const std::vector<Payload>& inner) {
    Header h{.spi_i = spi_i_, .spi_r = spi_r_, .exchange = req.header.exchange, .flags = flags::response,
             .message_id = req.header.message_id};
    auto r = seal_message(suite_, keys_.sk_er(), keys_.sk_ar(), h, inner.empty() ? PayloadType::none : inner[0].type,
                          serialize_payload_chain(inner));
    return r ? *r : Bytes{};
  }

  Bytes on_auth(const Message& req, const std::vector<Payload>& inner) {
    const IdPayload* idi = nullptr;
    const AuthPayload* auth = nullptr;
    const SaPayload* sa = nullptr;
    const TsPayload *tsi = nullptr, *tsr = nullptr;
    for (const auto& p : inner) {
      if (p.type == PayloadType::idi) idi = &std::get<IdPayload>(p.body);
      if (p.type == PayloadType::auth) auth = &std::get<AuthPayload>(p.body);
      if (p.type == PayloadType::sa) sa = &std::get<SaPayload>(p.body);
      if (p.type == PayloadType::tsi) tsi = &std::get<TsPayload>(p.body);
      if (p.type == PayloadType::tsr) tsr = &std::get<TsPayload>(p.body);
    }
    auto refuse = [&](uint16_t n) {
      return seal_response(req, {make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, n, {}})});
    };
    if (!idi || !auth || !sa || !tsi || !tsr) return refuse(notify_type::invalid_syntax);
    if (b_.auth_error) return refuse(b_.auth_error);
    if (auth->data != psk_auth(b_.psk, init_request_, nr_, keys_.sk_pi(), *idi))
      return refuse(notify_type::authentication_failed);
    IdPayload idr{b_.sut.size() == 16 ? id_type::ipv6_addr : id_type::ipv4_addr, b_.sut};
    std::vector<Payload> out{
        make_payload(PayloadType::idr, idr),
        make_payload(PayloadType::auth, AuthPayload{auth_method::shared_key_mic,
                                                    psk_auth(b_.psk, init_response_, ni_, keys_.sk_pr(), idr)})};
    if (b_.corrupt_auth) std::get<AuthPayload>(out[1].body).data[0] ^= 0x01;
    if (b_.child_error) {
      out.push_back(make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, b_.child_error, {}}));
      return seal_response(req, out);
    }
    Proposal esp = sa->proposals.front();
    initiator_child_spi_ = get_u32(esp.spi.data());
    esp.spi.clear();
    put_u32(esp.spi, child_spi);
    out.push_back(make_payload(PayloadType::sa, SaPayload{{esp}}));
    out.push_back(make_payload(PayloadType::tsi, *tsi));
    out.push_back(make_payload(PayloadType::tsr, *tsr));
    return seal_response(req, out);
  }

  ResponderBehaviour b_;
  SkSuite suite_;
  IkeKeys keys_;
  uint64_t spi_i_ = 0, spi_r_ = 0x5151515151515151ULL;
  Bytes ni_, nr_, init_request_, init_response_, cookie_seen_;
  uint16_t group_seen_ = 0;
  uint32_t initiator_child_spi_ = 0;
  uint32_t my_mid_ = 0;
  bool deleted_ = false;
  unsigned init_requests_ = 0;
  std::vector<Payload> last_answer_inner_;
};

InitiatorConfig base_config() {
  InitiatorConfig c;
  c.local = Endpoint{peer_addr, 500};
  c.remote = Endpoint{sut_addr, 500};
  c.psk = to_bytes("secret");
  c.local_id = IdPayload{id_type::fqdn, to_bytes("p1.peers.ikestorm")};
  c.ts_local = {host_ts({198, 19, 128, 1})};
  c.ts_remote = {TrafficSelector{.start_address = {198, 18, 255, 0}, .end_address = {198, 18, 255, 255}}};
  return c;
}

Bytes strip_marker(const Datagram& d) {
  if (d.local_port != natt_port) return d.payload;
  EXPECT_GE(d.payload.size(), 4u);
  EXPECT_EQ(Bytes(d.payload.begin(), d.payload.begin() + 4), Bytes(4, 0));
  return Bytes(d.payload.begin() + 4, d.payload.end());
}

// Shuttles datagrams between the two until neither has anything to say; returns the events.
std::vector<InitiatorEvent> converse(Initiator& ini, TestResponder& resp, std::vector<Datagram>* seen = nullptr) {
  std::vector<InitiatorEvent> events;
  for (int round = 0; round < 20; ++round) {
    auto out = ini.take_outgoing();
    if (out.empty()) break;
    for (auto& d : out) {
      if (seen) seen->push_back(d);
      Bytes reply = resp.answer(strip_marker(d));
      if (reply.empty()) continue;
      Bytes wire;
      if (d.local_port == natt_port) wire = Bytes(4, 0);
      put_bytes(wire, reply);
      ini.on_datagram(Millis(round), d.local_port, wire);
    }
    auto ev = ini.take_events();
    events.insert(events.end(), ev.begin(), ev.end());
  }
  return events;
}

std::vector<EventKind> kinds(const std::vector<InitiatorEvent>& ev) {
  std::vector<EventKind> k;
  for (auto& e : ev) k.push_back(e.kind);
  return k;
}

struct SuiteCase {
  const char* name;
  IkeProposalConfig ike;
  EspProposalConfig esp;
  size_t child_encr_key;
  size_t child_integ_key;
};

TEST(NativeInitiator, EstablishesAndDeletesWithEverySuite) {
  const SuiteCase cases[] = {
      {"x25519 aes128gcm16", {transform_id::encr_aes_gcm_16, 128, transform_id::integ_none, {31}},
       {transform_id::encr_aes_gcm_16, 128, transform_id::integ_none}, 20, 0},
      {"ecp256 aes256-sha256", {transform_id::encr_aes_cbc, 256, transform_id::integ_hmac_sha2_256_128, {19}},
       {transform_id::encr_aes_cbc, 128, transform_id::integ_hmac_sha2_256_128}, 16, 32},
      {"modp2048 aes256gcm16", {transform_id::encr_aes_gcm_16, 256, transform_id::integ_none, {14}},
       {transform_id::encr_aes_gcm_16, 256, transform_id::integ_none}, 36, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = base_config();
    cfg.ike = c.ike;
    cfg.esp = c.esp;
    Initiator ini(cfg);
    TestResponder resp({});
    ASSERT_TRUE(ini.start(Millis(0)).ok());
    std::vector<Datagram> seen;
    auto ev = converse(ini, resp, &seen);
    ASSERT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::ike_up, EventKind::child_up}));
    EXPECT_EQ(ini.state(), InitiatorState::established);
    EXPECT_FALSE(ini.behind_nat());
    for (auto& d : seen) EXPECT_EQ(d.remote_port, 500);
    EXPECT_EQ(to_hex(ini.ike_keys().sk_d()), to_hex(resp.keys().sk_d()));
    const ChildSa* child = ini.child();
    ASSERT_NE(child, nullptr);
    EXPECT_EQ(child->spi_out, TestResponder::child_spi);
    auto expect = derive_child_keys(resp.keys().sk_d(), resp.ni(), resp.nr(), c.child_encr_key, c.child_integ_key);
    EXPECT_EQ(child->encr_out, expect.encr_i);
    EXPECT_EQ(child->integ_in, expect.integ_r);
    EXPECT_EQ(child->encr_out.size(), c.child_encr_key);
    EXPECT_EQ(child->ts_remote.front().start_address, (Bytes{198, 18, 255, 0}));

    ASSERT_TRUE(ini.delete_ike(Millis(100)).ok());
    auto del = converse(ini, resp);
    ASSERT_EQ(kinds(del), (std::vector<EventKind>{EventKind::ike_deleted}));
    EXPECT_TRUE(resp.deleted());
    EXPECT_EQ(ini.state(), InitiatorState::closed);
    EXPECT_FALSE(ini.next_timer().has_value());
  }
}

TEST(NativeInitiator, CookieIsSentFirstWithTheRestUnchanged) {
  ResponderBehaviour b;
  b.demand_cookie = true;
  Initiator ini(base_config());
  TestResponder resp(b);
  ASSERT_TRUE(ini.start(Millis(0)).ok());
  std::vector<Datagram> seen;
  auto ev = converse(ini, resp, &seen);
  EXPECT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::ike_up, EventKind::child_up}));
  ASSERT_GE(seen.size(), 2u);
  auto first = parse_message(seen[0].payload);
  auto second = parse_message(seen[1].payload);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_EQ(second->payloads.size(), first->payloads.size() + 1);
  auto* cookie = std::get_if<NotifyPayload>(&second->payloads.front().body);
  ASSERT_NE(cookie, nullptr);
  EXPECT_EQ(cookie->type, notify_type::cookie);
  EXPECT_EQ(cookie->data, to_bytes("cookie-from-sut"));
  EXPECT_TRUE(std::equal(first->payloads.begin(), first->payloads.end(), second->payloads.begin() + 1));
  EXPECT_EQ(ini.stats().cookie_rounds, 1u);
}

struct KeCase {
  const char* name;
  std::vector<uint16_t> offered;
  uint16_t demanded;
  bool established;
};

TEST(NativeInitiator, InvalidKePayloadSwitchesToAnOfferedGroupOnly) {
  const KeCase cases[] = {
      {"x25519 -> ecp256", {31, 19}, 19, true},
      {"x25519 -> modp2048", {31, 14}, 14, true},
      {"not offered", {31}, 19, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = base_config();
    cfg.ike.dh_groups = c.offered;
    ResponderBehaviour b;
    b.demand_group = c.demanded;
    Initiator ini(cfg);
    TestResponder resp(b);
    ASSERT_TRUE(ini.start(Millis(0)).ok());
    auto ev = converse(ini, resp);
    if (c.established) {
      EXPECT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::ike_up, EventKind::child_up}));
      EXPECT_EQ(ini.dh_group(), c.demanded);
      EXPECT_EQ(ini.stats().ke_rounds, 1u);
    } else {
      ASSERT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::failed}));
      EXPECT_EQ(ev[0].notify, notify_type::invalid_ke_payload);
      EXPECT_EQ(ini.state(), InitiatorState::failed);
    }
  }
}

struct RefusalCase {
  const char* name;
  ResponderBehaviour behaviour;
  std::vector<EventKind> events;
  ExchangeType exchange;
  uint16_t notify;
  FailureCause cause;
  bool child_only;
};

TEST(NativeInitiator, RefusalsBecomeFailedEventsWithTheNotify) {
  ResponderBehaviour no_proposal, auth_failed, wrong_psk, ts_unacceptable, no_additional, bad_auth;
  bad_auth.corrupt_auth = true;
  no_proposal.init_error = notify_type::no_proposal_chosen;
  auth_failed.auth_error = notify_type::authentication_failed;
  wrong_psk.psk = to_bytes("other secret");
  ts_unacceptable.child_error = notify_type::ts_unacceptable;
  no_additional.child_error = notify_type::no_proposal_chosen;
  const RefusalCase cases[] = {
      {"NO_PROPOSAL_CHOSEN in IKE_SA_INIT", no_proposal, {EventKind::failed}, ExchangeType::ike_sa_init,
       notify_type::no_proposal_chosen, FailureCause::notify_received, false},
      {"AUTHENTICATION_FAILED", auth_failed, {EventKind::failed}, ExchangeType::ike_auth,
       notify_type::authentication_failed, FailureCause::notify_received, false},
      {"responder has another PSK", wrong_psk, {EventKind::failed}, ExchangeType::ike_auth,
       notify_type::authentication_failed, FailureCause::notify_received, false},
      {"TS_UNACCEPTABLE keeps the IKE_SA", ts_unacceptable, {EventKind::ike_up, EventKind::failed},
       ExchangeType::ike_auth, notify_type::ts_unacceptable, FailureCause::notify_received, true},
      {"responder AUTH does not verify", bad_auth, {EventKind::failed}, ExchangeType::ike_auth,
       notify_type::authentication_failed, FailureCause::auth_mismatch, false},
      {"child NO_PROPOSAL_CHOSEN", no_additional, {EventKind::ike_up, EventKind::failed}, ExchangeType::ike_auth,
       notify_type::no_proposal_chosen, FailureCause::notify_received, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Initiator ini(base_config());
    TestResponder resp(c.behaviour);
    ASSERT_TRUE(ini.start(Millis(0)).ok());
    auto ev = converse(ini, resp);
    ASSERT_EQ(kinds(ev), c.events);
    const auto& f = ev.back();
    EXPECT_EQ(f.exchange, c.exchange);
    EXPECT_EQ(f.notify, c.notify);
    EXPECT_EQ(f.cause, c.cause);
    EXPECT_EQ(f.child, c.child_only);
    EXPECT_EQ(ini.state(), c.child_only ? InitiatorState::established : InitiatorState::failed);
    EXPECT_EQ(ini.child(), nullptr);
  }
}

TEST(NativeInitiator, NatDetectionFloatsToPort4500WithMarker) {
  ResponderBehaviour b;
  b.fake_nat = true;  // as kernel-libipsec does (harness/charon/NAT.md)
  Initiator ini(base_config());
  TestResponder resp(b);
  ASSERT_TRUE(ini.start(Millis(0)).ok());
  std::vector<Datagram> seen;
  auto ev = converse(ini, resp, &seen);
  EXPECT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::ike_up, EventKind::child_up}));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].remote_port, 500);
  EXPECT_EQ(seen[1].local_port, natt_port);
  EXPECT_EQ(seen[1].remote_port, natt_port);
  EXPECT_TRUE(ini.behind_nat());
  const ChildSa* child = ini.child();
  ASSERT_NE(child, nullptr);
  EXPECT_TRUE(child != nullptr && child->udp_encap);
  // On 4500 a datagram without the marker is ESP, not IKE: ignored.
  unsigned dropped = ini.stats().dropped;
  ini.on_datagram(Millis(5), natt_port, Bytes{0, 0, 0, 1, 2, 3});
  EXPECT_EQ(ini.stats().dropped, dropped + 1);
}

// IPv6 end to end in the state machine: NAT detection hashes over the 16-byte addresses (no
// NAT seen, so no float), ID_IPV6_ADDR identities, TS_IPV6_ADDR_RANGE selectors on the wire
// and in the CHILD_SA; and a NAT seen over IPv6 floats to 4500 as over IPv4.
TEST(NativeInitiator, EstablishesOverIpv6WithIpv6SelectorsAndNatDetection) {
  const Bytes peer6{0x20, 0x01, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1};   // 2001:2:0:2::1
  const Bytes sut6{0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};    // 2001:2::1
  const Bytes inner6{0x20, 0x01, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1};  // 2001:2:0:3::1
  Bytes subnet_first{0x20, 0x01, 0, 2, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
  Bytes subnet_last = subnet_first;
  std::fill(subnet_last.begin() + 8, subnet_last.end(), 0xff);
  for (bool nat : {false, true}) {
    SCOPED_TRACE(nat ? "NAT seen" : "no NAT");
    auto cfg = base_config();
    cfg.local = Endpoint{peer6, 500};
    cfg.remote = Endpoint{sut6, 500};
    cfg.local_id = IdPayload{id_type::ipv6_addr, peer6};
    cfg.remote_id = IdPayload{id_type::ipv6_addr, sut6};
    cfg.ts_local = {TrafficSelector{.type = ts_type::ipv6_addr_range, .start_address = inner6, .end_address = inner6}};
    cfg.ts_remote = {TrafficSelector{.type = ts_type::ipv6_addr_range, .start_address = subnet_first, .end_address = subnet_last}};
    ResponderBehaviour b;
    b.peer = peer6;
    b.sut = sut6;
    b.fake_nat = nat;
    Initiator ini(cfg);
    TestResponder resp(b);
    ASSERT_TRUE(ini.start(Millis(0)).ok());
    std::vector<Datagram> seen;
    auto ev = converse(ini, resp, &seen);
    ASSERT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::ike_up, EventKind::child_up}));
    ASSERT_EQ(seen.size(), 2u);
    // The IKE_SA_INIT request's hashes are of the IPv6 addresses and port 500.
    auto init = parse_message(seen[0].payload);
    ASSERT_TRUE(init.ok());
    const auto* src = init->find_notify(notify_type::nat_detection_source_ip);
    const auto* dst = init->find_notify(notify_type::nat_detection_destination_ip);
    ASSERT_TRUE(src && dst);
    EXPECT_EQ(src->data, nat_detection_hash(init->header.spi_i, 0, peer6, 500));
    EXPECT_EQ(dst->data, nat_detection_hash(init->header.spi_i, 0, sut6, 500));
    EXPECT_EQ(ini.behind_nat(), nat);
    EXPECT_EQ(seen[1].local_port, nat ? natt_port : ike_port);
    // IKE_AUTH carried TSi/TSr of type 8 with 16-byte addresses (the responder echoes them).
    const ChildSa* child = ini.child();
    ASSERT_NE(child, nullptr);
    EXPECT_EQ(child->udp_encap, nat);
    ASSERT_EQ(child->ts_local.size(), 1u);
    EXPECT_EQ(child->ts_local.front().type, ts_type::ipv6_addr_range);
    EXPECT_EQ(child->ts_local.front().start_address, inner6);
    EXPECT_EQ(child->ts_remote.front().type, ts_type::ipv6_addr_range);
    EXPECT_EQ(child->ts_remote.front().start_address, subnet_first);
    EXPECT_EQ(child->ts_remote.front().end_address, subnet_last);
  }
  // Mixed families are refused before anything is sent.
  auto mixed = base_config();
  mixed.remote = Endpoint{sut6, 500};
  Initiator ini(mixed);
  auto st = ini.start(Millis(0));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().describe().find("must both be IPv4 or both IPv6"), std::string::npos) << st.error().describe();
  EXPECT_TRUE(ini.take_outgoing().empty());
}

TEST(NativeInitiator, RetransmitsOnScheduleThenGivesUp) {
  auto cfg = base_config();
  EXPECT_EQ(cfg.retransmit.schedule(),
            (std::vector<Millis>{Millis(4000), Millis(7200), Millis(12960), Millis(23328), Millis(41990), Millis(75583)}));
  Initiator ini(cfg);
  ASSERT_TRUE(ini.start(Millis(0)).ok());
  Bytes first = ini.take_outgoing().at(0).payload;
  std::vector<int64_t> sends;
  std::vector<InitiatorEvent> ev;
  // Step the clock in 1 ms increments only where a timer is due.
  while (auto t = ini.next_timer()) {
    ini.on_timer(*t - Millis(1));  // early: nothing happens
    EXPECT_TRUE(ini.take_outgoing().empty());
    ini.on_timer(*t);
    for (auto& d : ini.take_outgoing()) {
      EXPECT_EQ(d.payload, first);  // retransmits are byte-identical
      sends.push_back(t->count());
    }
    auto e = ini.take_events();
    ev.insert(ev.end(), e.begin(), e.end());
  }
  EXPECT_EQ(sends, (std::vector<int64_t>{4000, 11200, 24160, 47488, 89478}));
  ASSERT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::failed}));
  EXPECT_EQ(ev[0].cause, FailureCause::no_response);
  EXPECT_EQ(ev[0].at, Millis(165061));
  EXPECT_EQ(ev[0].exchange, ExchangeType::ike_sa_init);
  EXPECT_EQ(ini.stats().retransmits, 5u);
}

TEST(NativeInitiator, AnswersLivenessChecksAndResponderDeletes) {
  Initiator ini(base_config());
  TestResponder resp({});
  ASSERT_TRUE(ini.start(Millis(0)).ok());
  converse(ini, resp);
  ASSERT_EQ(ini.state(), InitiatorState::established);

  Bytes dpd = resp.request(ExchangeType::informational, {});
  ini.on_datagram(Millis(10), 500, dpd);
  auto out = ini.take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  resp.answer(out[0].payload);  // decrypts with the initiator's keys: an empty answer
  EXPECT_TRUE(resp.last_answer_inner().empty());
  ini.on_datagram(Millis(11), 500, dpd);  // a retransmitted request gets the same answer
  auto again = ini.take_outgoing();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].payload, out[0].payload);
  EXPECT_EQ(ini.stats().answered, 1u);

  Bytes del_child = resp.request(ExchangeType::informational,
      {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {{0xc0, 0xff, 0xee, 0x01}}})});
  ini.on_datagram(Millis(12), 500, del_child);
  resp.answer(ini.take_outgoing().at(0).payload);
  ASSERT_EQ(resp.last_answer_inner().size(), 1u);
  auto& d = std::get<DeletePayload>(resp.last_answer_inner()[0].body);
  EXPECT_EQ(d.protocol, ProtocolId::esp);
  EXPECT_EQ(ini.child(), nullptr);

  Bytes del = resp.request(ExchangeType::informational,
                           {make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}})});
  ini.on_datagram(Millis(13), 500, del);
  EXPECT_EQ(ini.take_outgoing().size(), 1u);
  EXPECT_EQ(kinds(ini.take_events()), (std::vector<EventKind>{EventKind::child_deleted, EventKind::ike_deleted}));
  EXPECT_EQ(ini.state(), InitiatorState::closed);
}

TEST(NativeInitiator, IgnoresForeignMalformedAndTamperedDatagrams) {
  Initiator ini(base_config());
  TestResponder resp({});
  ASSERT_TRUE(ini.start(Millis(0)).ok());
  auto init = ini.take_outgoing().at(0);
  Bytes reply = resp.answer(init.payload);
  Bytes other_spi = reply;
  other_spi[0] ^= 0xff;
  ini.on_datagram(Millis(1), 500, Bytes{1, 2, 3});
  ini.on_datagram(Millis(1), 500, other_spi);
  EXPECT_EQ(ini.stats().dropped, 2u);
  EXPECT_EQ(ini.state(), InitiatorState::init_sent);
  ini.on_datagram(Millis(2), 500, reply);
  auto auth = ini.take_outgoing().at(0);
  Bytes auth_reply = resp.answer(auth.payload);
  Bytes tampered = auth_reply;
  tampered[tampered.size() - 3] ^= 0x01;
  ini.on_datagram(Millis(3), 500, tampered);
  EXPECT_EQ(ini.stats().dropped, 3u);
  EXPECT_EQ(ini.state(), InitiatorState::auth_sent);
  ini.on_datagram(Millis(4), 500, auth_reply);
  EXPECT_EQ(ini.state(), InitiatorState::established);
}

// One side of an IKE_SA as the tests see it, to seal requests and open answers by hand.
struct SaView {
  uint64_t spi_i, spi_r;
  SkSuite suite;
  IkeKeys keys;
  bool we_are_original_initiator;  // "we" = the test's SUT stand-in
  Bytes request(ExchangeType ex, uint32_t mid, const std::vector<Payload>& inner) const {
    Header h{.spi_i = spi_i, .spi_r = spi_r, .exchange = ex,
             .flags = static_cast<uint8_t>(we_are_original_initiator ? flags::initiator : 0), .message_id = mid};
    auto r = seal_message(suite, we_are_original_initiator ? keys.sk_ei() : keys.sk_er(),
                          we_are_original_initiator ? keys.sk_ai() : keys.sk_ar(), h,
                          inner.empty() ? PayloadType::none : inner[0].type, serialize_payload_chain(inner));
    return r ? *r : Bytes{};
  }
  Bytes respond(ExchangeType ex, uint32_t mid, const std::vector<Payload>& inner) const {
    Header h{.spi_i = spi_i, .spi_r = spi_r, .exchange = ex,
             .flags = static_cast<uint8_t>((we_are_original_initiator ? flags::initiator : 0) | flags::response),
             .message_id = mid};
    auto r = seal_message(suite, we_are_original_initiator ? keys.sk_ei() : keys.sk_er(),
                          we_are_original_initiator ? keys.sk_ai() : keys.sk_ar(), h,
                          inner.empty() ? PayloadType::none : inner[0].type, serialize_payload_chain(inner));
    return r ? *r : Bytes{};
  }
  Result<std::vector<Payload>> open(ByteView raw) const {
    IST_TRY_ASSIGN(auto m, parse_message(raw));
    auto* sk = m.find<SkPayload>(PayloadType::sk);
    if (!sk) return Error("no SK payload");
    if (m.header.spi_i != spi_i || m.header.spi_r != spi_r) return Error("answer on other SPIs");
    IST_TRY_ASSIGN(auto plain, open_message(suite, we_are_original_initiator ? keys.sk_er() : keys.sk_ei(),
                                            we_are_original_initiator ? keys.sk_ar() : keys.sk_ai(), raw, *sk));
    return parse_payload_chain(sk->first_inner, plain);
  }
};

template <class T>
const T* find_body(const std::vector<Payload>& chain, PayloadType t) {
  for (const auto& p : chain)
    if (p.type == t)
      if (auto* b = std::get_if<T>(&p.body)) return b;
  return nullptr;
}

uint16_t error_in(const std::vector<Payload>& chain) {
  for (const auto& p : chain)
    if (auto* n = std::get_if<NotifyPayload>(&p.body); n && is_error_notify(n->type)) return n->type;
  return 0;
}

struct Established {
  Initiator ini{base_config()};
  TestResponder resp{ResponderBehaviour{}};
  SaView sa{};
  Established() {
    EXPECT_TRUE(ini.start(Millis(0)).ok());
    converse(ini, resp);
    EXPECT_EQ(ini.state(), InitiatorState::established);
    sa = SaView{resp.spi_i(), resp.spi_r(), resp.suite(), resp.keys(), false};
  }
  // Sends a request as the SUT and returns the initiator's decrypted answer.
  std::vector<Payload> ask(const SaView& on, ExchangeType ex, uint32_t mid, const std::vector<Payload>& inner) {
    ini.on_datagram(Millis(50), 500, on.request(ex, mid, inner));
    auto out = ini.take_outgoing();
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) return {};
    auto chain = on.open(out[0].payload);
    EXPECT_TRUE(chain.ok()) << chain.error().describe();
    return chain ? *chain : std::vector<Payload>{};
  }
};

Proposal esp_gcm128(uint32_t spi) {
  Proposal p{.number = 1, .protocol = ProtocolId::esp, .spi = {}, .transforms = {
      {TransformType::encr, transform_id::encr_aes_gcm_16, 128}, {TransformType::esn, transform_id::esn_none, std::nullopt}}};
  put_u32(p.spi, spi);
  return p;
}

TEST(NativeInitiator, LivenessChecksAreAnsweredOrDeclareThePeerDead) {
  Established e;
  ASSERT_TRUE(e.ini.check_liveness(Millis(100)).ok());
  auto out = e.ini.take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  Bytes reply = e.resp.answer(out[0].payload);
  ASSERT_FALSE(reply.empty());
  e.ini.on_datagram(Millis(101), 500, reply);
  EXPECT_EQ(e.ini.stats().liveness_answers, 1u);
  EXPECT_FALSE(e.ini.busy());

  // No answer: retransmits on the schedule, then the IKE_SA is dead.
  ASSERT_TRUE(e.ini.check_liveness(Millis(200)).ok());
  e.ini.take_outgoing();
  std::vector<InitiatorEvent> ev;
  while (auto t = e.ini.next_timer()) {
    e.ini.on_timer(*t);
    e.ini.take_outgoing();
    auto got = e.ini.take_events();
    ev.insert(ev.end(), got.begin(), got.end());
  }
  ASSERT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::failed}));
  EXPECT_EQ(ev[0].cause, FailureCause::no_response);
  EXPECT_EQ(ev[0].exchange, ExchangeType::informational);
  EXPECT_EQ(e.ini.state(), InitiatorState::failed);
}

// The SUT's CREATE_CHILD_SA rekeying `old` (2.8): REKEY_SA with old's SPI, its new SA, a
// nonce of 32 `nonce` bytes and old's selectors from its side.
std::vector<Payload> peer_child_rekey(const ChildSa& old, uint32_t new_spi, uint8_t nonce) {
  Bytes old_out;
  put_u32(old_out, old.spi_out);
  return {make_payload(PayloadType::notify, NotifyPayload{ProtocolId::esp, old_out, notify_type::rekey_sa, {}}),
          make_payload(PayloadType::sa, SaPayload{{esp_gcm128(new_spi)}}),
          make_payload(PayloadType::nonce, NoncePayload{Bytes(32, nonce)}),
          make_payload(PayloadType::tsi, TsPayload{old.ts_remote}),
          make_payload(PayloadType::tsr, TsPayload{old.ts_local})};
}

TEST(NativeInitiator, AnswersThePeersChildRekeyAndItsDeleteOfTheOldSa) {
  Established e;
  const ChildSa before = *e.ini.child();
  const Bytes peer_nonce(32, 0x5e);
  Bytes old_spi;
  put_u32(old_spi, before.spi_out);
  auto answer = e.ask(e.sa, ExchangeType::create_child_sa, 0, peer_child_rekey(before, 0xc0ffee02, 0x5e));
  ASSERT_EQ(error_in(answer), 0);
  auto* sa = find_body<SaPayload>(answer, PayloadType::sa);
  auto* nr = find_body<NoncePayload>(answer, PayloadType::nonce);
  ASSERT_TRUE(sa && nr && find_body<TsPayload>(answer, PayloadType::tsi) && find_body<TsPayload>(answer, PayloadType::tsr));
  const ChildSa* now = e.ini.child();
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->spi_out, 0xc0ffee02u);
  EXPECT_EQ(get_u32(sa->proposals.at(0).spi.data()), now->spi_in);
  // The peer started this exchange: its half of KEYMAT comes first, and is our inbound key.
  auto k = derive_child_keys(e.sa.keys.sk_d(), peer_nonce, nr->nonce, 20, 0);
  EXPECT_EQ(now->encr_in, k.encr_i);
  EXPECT_EQ(now->encr_out, k.encr_r);
  EXPECT_EQ(now->ts_remote, before.ts_remote);
  auto ev = e.ini.take_events();
  ASSERT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::child_rekeyed}));
  EXPECT_TRUE(ev[0].by_peer);

  // The peer deletes the old CHILD_SA; we answer with our old inbound SPI.
  auto del = e.ask(e.sa, ExchangeType::informational, 1,
                   {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {old_spi}})});
  auto* d = find_body<DeletePayload>(del, PayloadType::del);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(get_u32(d->spis.at(0).data()), before.spi_in);
  EXPECT_NE(e.ini.child(), nullptr);  // the new one stays
  EXPECT_TRUE(e.ini.take_events().empty());
}

TEST(NativeInitiator, RefusesExtraChildSasAndRekeysOfUnknownSas) {
  Established e;
  const ChildSa child = *e.ini.child();
  // A second CHILD_SA (no REKEY_SA): not offered.
  auto extra = e.ask(e.sa, ExchangeType::create_child_sa, 0, {
      make_payload(PayloadType::sa, SaPayload{{esp_gcm128(0xc0ffee03)}}),
      make_payload(PayloadType::nonce, NoncePayload{Bytes(32, 1)}),
      make_payload(PayloadType::tsi, TsPayload{child.ts_remote}),
      make_payload(PayloadType::tsr, TsPayload{child.ts_local})});
  EXPECT_EQ(error_in(extra), notify_type::no_additional_sas);
  // Once the peer deleted our CHILD_SA, a new one from it is taken.
  Bytes out_spi;
  put_u32(out_spi, child.spi_out);
  e.ask(e.sa, ExchangeType::informational, 1,
        {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {out_spi}})});
  EXPECT_EQ(e.ini.child(), nullptr);
  auto fresh = e.ask(e.sa, ExchangeType::create_child_sa, 2, {
      make_payload(PayloadType::sa, SaPayload{{esp_gcm128(0xc0ffee05)}}),
      make_payload(PayloadType::nonce, NoncePayload{Bytes(32, 3)}),
      make_payload(PayloadType::tsi, TsPayload{child.ts_remote}),
      make_payload(PayloadType::tsr, TsPayload{child.ts_local})});
  EXPECT_EQ(error_in(fresh), 0);
  ASSERT_NE(e.ini.child(), nullptr);
  EXPECT_EQ(e.ini.child() ? e.ini.child()->spi_out : 0u, 0xc0ffee05u);
  EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::child_deleted, EventKind::child_up}));
  auto unknown = e.ask(e.sa, ExchangeType::create_child_sa, 3, {
      make_payload(PayloadType::notify, NotifyPayload{ProtocolId::esp, {1, 2, 3, 4}, notify_type::rekey_sa, {}}),
      make_payload(PayloadType::sa, SaPayload{{esp_gcm128(0xc0ffee04)}}),
      make_payload(PayloadType::nonce, NoncePayload{Bytes(32, 2)}),
      make_payload(PayloadType::tsi, TsPayload{child.ts_remote}),
      make_payload(PayloadType::tsr, TsPayload{child.ts_local})});
  EXPECT_EQ(error_in(unknown), notify_type::child_sa_not_found);
  EXPECT_EQ(e.ini.stats().refused_requests, 2u);
  ASSERT_TRUE(e.ini.rekey_child(Millis(60)).ok());
  EXPECT_FALSE(e.ini.rekey_ike(Millis(60)).ok());  // window size 1
}

// A rekey collision (RFC 7296 2.8.1/2.8.2), for CHILD and IKE SAs alike: our own nonces are
// random, so 00.. and ff.. in the peer's two exchanges decide who made the lowest nonce.
struct CollisionCase {
  const char* name;
  uint8_t peer_ni;  // nonce of the peer's own rekey request
  uint8_t peer_nr;  // nonce of the peer's answer to our rekey
  bool ours_survives;
};
const CollisionCase kCollisionCases[] = {
    {"peer's exchange has the lowest nonce", 0x00, 0xff, true},
    {"our exchange has the lowest nonce", 0xff, 0x00, false},
};

TEST(NativeInitiator, SimultaneousChildRekeysKeepTheSaOfTheHigherNonces) {
  // RFC 7296 2.8.1: the SA made with the lowest of the four nonces is redundant and is
  // closed by its maker.
  for (const auto& c : kCollisionCases) {
    SCOPED_TRACE(c.name);
    Established e;
    const ChildSa old = *e.ini.child();
    ASSERT_TRUE(e.ini.rekey_child(Millis(60)).ok());
    auto ours = e.ini.take_outgoing();
    ASSERT_EQ(ours.size(), 1u);
    auto our_req = e.sa.open(ours[0].payload);
    ASSERT_TRUE(our_req.ok());
    auto* our_sa = find_body<SaPayload>(*our_req, PayloadType::sa);
    ASSERT_NE(our_sa, nullptr);
    const uint32_t our_new_in = get_u32(our_sa->proposals.at(0).spi.data());
    const uint32_t our_mid = parse_message(ours[0].payload)->header.message_id;

    Bytes old_out;
    put_u32(old_out, old.spi_out);
    auto answer = e.ask(e.sa, ExchangeType::create_child_sa, 0, peer_child_rekey(old, 0xc0ffee0b, c.peer_ni));
    ASSERT_EQ(error_in(answer), 0);  // answered as usual (2.25.1)
    auto* peer_sa_answer = find_body<SaPayload>(answer, PayloadType::sa);
    ASSERT_NE(peer_sa_answer, nullptr);
    const uint32_t peer_made_in = get_u32(peer_sa_answer->proposals.at(0).spi.data());
    EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::rekey_collision}));

    e.ini.on_datagram(Millis(70), 500, e.sa.respond(ExchangeType::create_child_sa, our_mid, {
        make_payload(PayloadType::sa, SaPayload{{esp_gcm128(0xc0ffee0a)}}),
        make_payload(PayloadType::nonce, NoncePayload{Bytes(32, c.peer_nr)}),
        make_payload(PayloadType::tsi, TsPayload{old.ts_local}),
        make_payload(PayloadType::tsr, TsPayload{old.ts_remote})}));
    auto del = e.ini.take_outgoing();
    ASSERT_EQ(del.size(), 1u);
    auto del_req = e.sa.open(del[0].payload);
    ASSERT_TRUE(del_req.ok());
    auto* d = find_body<DeletePayload>(*del_req, PayloadType::del);
    ASSERT_NE(d, nullptr);
    std::vector<uint32_t> deleted;
    for (const auto& spi : d->spis) deleted.push_back(get_u32(spi.data()));
    const ChildSa* now = e.ini.child();
    ASSERT_NE(now, nullptr);
    if (c.ours_survives) {
      EXPECT_EQ(deleted, (std::vector<uint32_t>{old.spi_in}));
      EXPECT_EQ(now->spi_out, 0xc0ffee0au);
      EXPECT_EQ(now->spi_in, our_new_in);
      // The peer closes the SA its exchange made; we answer with our half of it.
      auto closed = e.ask(e.sa, ExchangeType::informational, 1,
                          {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {{0xc0, 0xff, 0xee, 0x0b}}})});
      auto* dd = find_body<DeletePayload>(closed, PayloadType::del);
      ASSERT_NE(dd, nullptr);
      EXPECT_EQ(get_u32(dd->spis.at(0).data()), peer_made_in);
      EXPECT_EQ(e.ini.child()->spi_out, 0xc0ffee0au);
    } else {
      // We lost: only our redundant SA is closed by us; the old one is the winner's to close.
      EXPECT_EQ(deleted, (std::vector<uint32_t>{our_new_in}));
      EXPECT_EQ(now->spi_out, 0xc0ffee0bu);
      EXPECT_EQ(now->spi_in, peer_made_in);
      auto closed = e.ask(e.sa, ExchangeType::informational, 1,
                          {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {old_out}})});
      auto* dd = find_body<DeletePayload>(closed, PayloadType::del);
      ASSERT_NE(dd, nullptr);
      EXPECT_EQ(get_u32(dd->spis.at(0).data()), old.spi_in);
      EXPECT_EQ(e.ini.child()->spi_out, 0xc0ffee0bu);
    }
    EXPECT_EQ(e.ini.stats().collisions, 1u);
  }
}

TEST(NativeInitiator, PeerRekeyOfTheIkeSaMakesThePeerTheOriginalInitiator) {
  Established e;
  auto peer_dh = DhKeyPair::generate(transform_id::dh_x25519);
  ASSERT_TRUE(peer_dh.ok());
  const Bytes peer_nonce(32, 0x6e);
  const uint64_t peer_new_spi = 0x7777777777777777ULL;
  Proposal p{.number = 1, .protocol = ProtocolId::ike, .spi = {}, .transforms = {
      {TransformType::encr, transform_id::encr_aes_gcm_16, 128},
      {TransformType::prf, transform_id::prf_hmac_sha2_256, std::nullopt},
      {TransformType::dh, transform_id::dh_x25519, std::nullopt}}};
  put_u64(p.spi, peer_new_spi);
  auto answer = e.ask(e.sa, ExchangeType::create_child_sa, 0, {
      make_payload(PayloadType::sa, SaPayload{{p}}),
      make_payload(PayloadType::nonce, NoncePayload{peer_nonce}),
      make_payload(PayloadType::ke, KePayload{transform_id::dh_x25519, peer_dh->public_value()})});
  ASSERT_EQ(error_in(answer), 0);
  auto* sa = find_body<SaPayload>(answer, PayloadType::sa);
  auto* nr = find_body<NoncePayload>(answer, PayloadType::nonce);
  auto* ke = find_body<KePayload>(answer, PayloadType::ke);
  ASSERT_TRUE(sa && nr && ke);
  ASSERT_EQ(sa->proposals.at(0).spi.size(), 8u);
  uint64_t our_new_spi = get_u64(sa->proposals[0].spi.data());
  EXPECT_EQ(e.ini.spi_i(), peer_new_spi);
  EXPECT_EQ(e.ini.spi_r(), our_new_spi);
  EXPECT_FALSE(e.ini.original_initiator());
  auto shared = peer_dh->shared_secret(ke->data);
  ASSERT_TRUE(shared.ok());
  SaView fresh{peer_new_spi, our_new_spi, e.sa.suite,
               derive_rekeyed_ike_keys(e.sa.keys.sk_d(), *shared, peer_nonce, nr->nonce, peer_new_spi, our_new_spi,
                                       IkeKeyLengths{.integ = 0, .encr = 20}),
               true};
  EXPECT_EQ(to_hex(e.ini.ike_keys().sk_d()), to_hex(fresh.keys.sk_d()));
  EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::ike_rekeyed}));

  // Liveness on the new SA (the peer now sets the I flag), then the old SA's delete.
  auto dpd = e.ask(fresh, ExchangeType::informational, 0, {});
  EXPECT_TRUE(dpd.empty());
  auto del = e.ask(e.sa, ExchangeType::informational, 1,
                   {make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}})});
  EXPECT_TRUE(del.empty());
  EXPECT_EQ(e.ini.state(), InitiatorState::established);
  EXPECT_NE(e.ini.child(), nullptr);  // the CHILD_SA moved to the new IKE_SA
  EXPECT_TRUE(e.ini.take_events().empty());
  // Our own requests now go out on the new SA without the I flag.
  ASSERT_TRUE(e.ini.rekey_child(Millis(70)).ok());
  auto out = e.ini.take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  auto m = parse_message(out[0].payload);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.flags, 0);
  EXPECT_EQ(m->header.message_id, 0u);
  EXPECT_TRUE(fresh.open(out[0].payload).ok());
}

// Our own request as the test's SUT stand-in reads it.
struct OurRequest {
  uint32_t mid = 0;
  std::vector<Payload> inner;
};
OurRequest take_request(Initiator& ini, const SaView& on) {
  auto out = ini.take_outgoing();
  EXPECT_EQ(out.size(), 1u);
  if (out.empty()) return {};
  auto m = parse_message(out[0].payload);
  auto chain = on.open(out[0].payload);
  EXPECT_TRUE(m.ok() && chain.ok());
  if (!m || !chain) return {};
  return OurRequest{m->header.message_id, *chain};
}

Proposal ike_gcm128_x25519(uint64_t spi) {
  Proposal p{.number = 1, .protocol = ProtocolId::ike, .spi = {}, .transforms = {
      {TransformType::encr, transform_id::encr_aes_gcm_16, 128},
      {TransformType::prf, transform_id::prf_hmac_sha2_256, std::nullopt},
      {TransformType::dh, transform_id::dh_x25519, std::nullopt}}};
  put_u64(p.spi, spi);
  return p;
}

constexpr IkeKeyLengths kGcm128{.integ = 0, .encr = 20};

struct RetryCase {
  const char* name;
  bool ike;  // rekey the IKE_SA, else the CHILD_SA
};

TEST(NativeInitiator, RekeysAnsweredTemporaryFailureAreRetriedAfterAPauseThenGivenUp) {
  // RFC 7296 2.25: not at once, after the peer had time to finish what made it refuse.
  const RetryCase cases[] = {{"CHILD_SA rekey", false}, {"IKE_SA rekey", true}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = base_config();
    cfg.rekey_retry = Millis(500);
    cfg.max_rekey_retries = 1;
    Initiator ini(cfg);
    TestResponder resp{ResponderBehaviour{}};
    ASSERT_TRUE(ini.start(Millis(0)).ok());
    converse(ini, resp);
    SaView sa{resp.spi_i(), resp.spi_r(), resp.suite(), resp.keys(), false};
    ini.take_events();
    ASSERT_TRUE((c.ike ? ini.rekey_ike(Millis(100)) : ini.rekey_child(Millis(100))).ok());
    auto first = take_request(ini, sa);
    ini.on_datagram(Millis(110), 500, sa.respond(ExchangeType::create_child_sa, first.mid,
                                                 {make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, notify_type::temporary_failure, {}})}));
    auto ev = ini.take_events();
    ASSERT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::rekey_collision}));
    EXPECT_EQ(ev[0].notify, notify_type::temporary_failure);
    EXPECT_FALSE(ini.busy());
    EXPECT_TRUE(ini.rekey_retry_pending());
    EXPECT_EQ(ini.next_timer(), Millis(610));
    ini.on_timer(Millis(609));
    EXPECT_TRUE(ini.take_outgoing().empty());
    ini.on_timer(Millis(610));
    auto again = take_request(ini, sa);
    EXPECT_EQ(again.mid, first.mid + 1);
    const auto* again_sa = find_body<SaPayload>(again.inner, PayloadType::sa);
    ASSERT_NE(again_sa, nullptr);
    EXPECT_EQ(again_sa->proposals.at(0).protocol, c.ike ? ProtocolId::ike : ProtocolId::esp);
    EXPECT_EQ(ini.stats().rekey_retries, 1u);
    // Refused again: max_rekey_retries (1) is used up, the rekey fails; the SAs stay.
    ini.on_datagram(Millis(620), 500, sa.respond(ExchangeType::create_child_sa, again.mid,
                                                 {make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, notify_type::temporary_failure, {}})}));
    ev = ini.take_events();
    ASSERT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::failed}));
    EXPECT_TRUE(ev[0].child);
    EXPECT_EQ(ev[0].notify, notify_type::temporary_failure);
    EXPECT_FALSE(ini.rekey_retry_pending());
    EXPECT_EQ(ini.state(), InitiatorState::established);
    EXPECT_NE(ini.child(), nullptr);
  }
}

TEST(NativeInitiator, ChildSaNotFoundDropsTheChildSaQuietly) {
  Established e;
  ASSERT_TRUE(e.ini.rekey_child(Millis(60)).ok());
  auto req = take_request(e.ini, e.sa);
  e.ini.on_datagram(Millis(70), 500, e.sa.respond(ExchangeType::create_child_sa, req.mid,
                                                  {make_payload(PayloadType::notify, NotifyPayload{ProtocolId::esp, {1, 2, 3, 4}, notify_type::child_sa_not_found, {}})}));
  EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::child_deleted}));
  EXPECT_EQ(e.ini.child(), nullptr);
  EXPECT_EQ(e.ini.state(), InitiatorState::established);
  EXPECT_TRUE(e.ini.take_outgoing().empty());
}

TEST(NativeInitiator, SimultaneousIkeRekeysKeepTheSaOfTheHigherNonces) {
  // RFC 7296 2.8.2: the new IKE_SA made with the lowest of the four nonces is redundant and
  // closed by its maker; the maker of the survivor closes the old IKE_SA.
  for (const auto& c : kCollisionCases) {
    SCOPED_TRACE(c.name);
    Established e;
    const uint64_t old_spi_i = e.ini.spi_i();
    ASSERT_TRUE(e.ini.rekey_ike(Millis(60)).ok());
    auto ours = take_request(e.ini, e.sa);
    const auto* our_sa = find_body<SaPayload>(ours.inner, PayloadType::sa);
    const auto* our_ni = find_body<NoncePayload>(ours.inner, PayloadType::nonce);
    const auto* our_ke = find_body<KePayload>(ours.inner, PayloadType::ke);
    ASSERT_TRUE(our_sa && our_ni && our_ke);
    const uint64_t our_new_spi_i = get_u64(our_sa->proposals.at(0).spi.data());

    // The peer's IKE rekey crosses ours: answered as usual (2.25.2).
    auto peer_dh = DhKeyPair::generate(transform_id::dh_x25519);
    ASSERT_TRUE(peer_dh.ok());
    const uint64_t peer_new_spi_i = 0x7171717171717171ULL;
    const Bytes peer_ni(32, c.peer_ni);
    auto answer = e.ask(e.sa, ExchangeType::create_child_sa, 0, {
        make_payload(PayloadType::sa, SaPayload{{ike_gcm128_x25519(peer_new_spi_i)}}),
        make_payload(PayloadType::nonce, NoncePayload{peer_ni}),
        make_payload(PayloadType::ke, KePayload{transform_id::dh_x25519, peer_dh->public_value()})});
    ASSERT_EQ(error_in(answer), 0);
    EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::rekey_collision}));
    EXPECT_EQ(e.ini.spi_i(), old_spi_i);  // unsettled: the old SA is still current
    const auto* our_nr = find_body<NoncePayload>(answer, PayloadType::nonce);
    const auto* our_ke_r = find_body<KePayload>(answer, PayloadType::ke);
    const auto* our_sa_r = find_body<SaPayload>(answer, PayloadType::sa);
    ASSERT_TRUE(our_nr && our_ke_r && our_sa_r);
    const uint64_t our_new_spi_r = get_u64(our_sa_r->proposals.at(0).spi.data());
    SaView peer_made{peer_new_spi_i, our_new_spi_r, e.sa.suite,
                     derive_rekeyed_ike_keys(e.sa.keys.sk_d(), *peer_dh->shared_secret(our_ke_r->data), peer_ni,
                                             our_nr->nonce, peer_new_spi_i, our_new_spi_r, kGcm128),
                     true};

    // The peer's answer to ours settles it.
    auto peer_dh2 = DhKeyPair::generate(transform_id::dh_x25519);
    ASSERT_TRUE(peer_dh2.ok());
    const uint64_t peer_new_spi_r = 0x3939393939393939ULL;
    const Bytes peer_nr(32, c.peer_nr);
    e.ini.on_datagram(Millis(70), 500, e.sa.respond(ExchangeType::create_child_sa, ours.mid, {
        make_payload(PayloadType::sa, SaPayload{{ike_gcm128_x25519(peer_new_spi_r)}}),
        make_payload(PayloadType::nonce, NoncePayload{peer_nr}),
        make_payload(PayloadType::ke, KePayload{transform_id::dh_x25519, peer_dh2->public_value()})}));
    SaView our_made{our_new_spi_i, peer_new_spi_r, e.sa.suite,
                    derive_rekeyed_ike_keys(e.sa.keys.sk_d(), *peer_dh2->shared_secret(our_ke->data), our_ni->nonce,
                                            peer_nr, our_new_spi_i, peer_new_spi_r, kGcm128),
                    false};
    EXPECT_EQ(e.ini.retiring_ike_sas(), 2u);  // the old SA and the loser's new one
    if (c.ours_survives) {
      EXPECT_TRUE(e.ini.take_events().empty());  // counted when the old SA's delete completes
      EXPECT_EQ(e.ini.spi_i(), our_new_spi_i);
      EXPECT_TRUE(e.ini.original_initiator());
      auto del = take_request(e.ini, e.sa);  // we close the old SA, on the old SA
      ASSERT_NE(find_body<DeletePayload>(del.inner, PayloadType::del), nullptr);
      e.ini.on_datagram(Millis(80), 500, e.sa.respond(ExchangeType::informational, del.mid, {}));
      EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::ike_rekeyed}));
      // The peer closes the SA it made; a retransmit of that delete gets the same answer
      // until peer_delete_wait (30 s) has passed, then nothing.
      const std::vector<Payload> del_ike{make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}})};
      auto closed = e.ask(peer_made, ExchangeType::informational, 0, del_ike);
      EXPECT_TRUE(closed.empty());
      EXPECT_TRUE(e.ask(peer_made, ExchangeType::informational, 0, del_ike).empty());
      e.ini.on_timer(Millis(50) + Millis(30000));
      e.ini.on_datagram(Millis(30100), 500, peer_made.request(ExchangeType::informational, 0, del_ike));
      EXPECT_TRUE(e.ini.take_outgoing().empty());
    } else {
      auto ev = e.ini.take_events();
      ASSERT_EQ(kinds(ev), (std::vector<EventKind>{EventKind::ike_rekeyed}));
      EXPECT_TRUE(ev[0].by_peer);
      EXPECT_EQ(e.ini.spi_i(), peer_new_spi_i);
      EXPECT_FALSE(e.ini.original_initiator());
      auto del = take_request(e.ini, our_made);  // we close the SA we made, on that SA
      ASSERT_NE(find_body<DeletePayload>(del.inner, PayloadType::del), nullptr);
      EXPECT_EQ(del.mid, 0u);
      e.ini.on_datagram(Millis(80), 500, our_made.respond(ExchangeType::informational, del.mid, {}));
      // The winner (the peer) closes the old SA.
      auto closed = e.ask(e.sa, ExchangeType::informational, 1,
                          {make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}})});
      EXPECT_TRUE(closed.empty());
      EXPECT_TRUE(e.ini.take_events().empty());
    }
    EXPECT_EQ(e.ini.retiring_ike_sas(), 0u);
    EXPECT_EQ(e.ini.state(), InitiatorState::established);
    EXPECT_NE(e.ini.child(), nullptr);  // the CHILD_SA moved to the survivor
    EXPECT_EQ(e.ini.stats().ike_rekeys, 1u);
    EXPECT_EQ(e.ini.stats().collisions, 1u);
  }
}

TEST(NativeInitiator, PeersChildRekeyDuringOurIkeRekeyIsAnswered) {
  Established e;
  const ChildSa before = *e.ini.child();
  ASSERT_TRUE(e.ini.rekey_ike(Millis(60)).ok());
  take_request(e.ini, e.sa);
  auto answer = e.ask(e.sa, ExchangeType::create_child_sa, 0, peer_child_rekey(before, 0xc0ffee21, 0x21));
  EXPECT_EQ(error_in(answer), 0);
  EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::rekey_collision, EventKind::child_rekeyed}));
  ASSERT_NE(e.ini.child(), nullptr);
  EXPECT_EQ(e.ini.child()->spi_out, 0xc0ffee21u);
}

TEST(NativeInitiator, PeersIkeRekeyDuringOurChildRekeyIsAnsweredAndOurChildKeysComeFromTheOldSa) {
  Established e;
  const ChildSa before = *e.ini.child();
  ASSERT_TRUE(e.ini.rekey_child(Millis(60)).ok());
  auto ours = take_request(e.ini, e.sa);
  const auto* our_ni = find_body<NoncePayload>(ours.inner, PayloadType::nonce);
  ASSERT_NE(our_ni, nullptr);
  const Bytes our_nonce = our_ni->nonce;
  auto peer_dh = DhKeyPair::generate(transform_id::dh_x25519);
  ASSERT_TRUE(peer_dh.ok());
  const uint64_t peer_new_spi_i = 0x5656565656565656ULL;
  const Bytes peer_ni(32, 0x56);
  auto answer = e.ask(e.sa, ExchangeType::create_child_sa, 0, {
      make_payload(PayloadType::sa, SaPayload{{ike_gcm128_x25519(peer_new_spi_i)}}),
      make_payload(PayloadType::nonce, NoncePayload{peer_ni}),
      make_payload(PayloadType::ke, KePayload{transform_id::dh_x25519, peer_dh->public_value()})});
  ASSERT_EQ(error_in(answer), 0);
  EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::ike_rekeyed}));
  const auto* nr = find_body<NoncePayload>(answer, PayloadType::nonce);
  const auto* ke = find_body<KePayload>(answer, PayloadType::ke);
  const auto* answer_sa = find_body<SaPayload>(answer, PayloadType::sa);
  ASSERT_TRUE(nr && ke && answer_sa);
  const uint64_t spi_r = get_u64(answer_sa->proposals.at(0).spi.data());
  SaView fresh{peer_new_spi_i, spi_r, e.sa.suite,
               derive_rekeyed_ike_keys(e.sa.keys.sk_d(), *peer_dh->shared_secret(ke->data), peer_ni, nr->nonce,
                                       peer_new_spi_i, spi_r, kGcm128),
               true};
  // Our CHILD rekey is answered on the old SA, where it ran: KEYMAT from the old SK_d.
  const Bytes peer_nr(32, 0x57);
  e.ini.on_datagram(Millis(70), 500, e.sa.respond(ExchangeType::create_child_sa, ours.mid, {
      make_payload(PayloadType::sa, SaPayload{{esp_gcm128(0xc0ffee31)}}),
      make_payload(PayloadType::nonce, NoncePayload{peer_nr}),
      make_payload(PayloadType::tsi, TsPayload{before.ts_local}),
      make_payload(PayloadType::tsr, TsPayload{before.ts_remote})}));
  auto k = derive_child_keys(e.sa.keys.sk_d(), our_nonce, peer_nr, 20, 0);
  ASSERT_NE(e.ini.child(), nullptr);
  EXPECT_EQ(e.ini.child()->encr_out, k.encr_i);
  EXPECT_EQ(e.ini.child()->spi_out, 0xc0ffee31u);
  // The old CHILD_SA's delete goes out on the new IKE_SA.
  auto del = take_request(e.ini, fresh);
  auto* d = find_body<DeletePayload>(del.inner, PayloadType::del);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(get_u32(d->spis.at(0).data()), before.spi_in);
}

TEST(NativeInitiator, PeersDeleteOfTheRekeyedIkeSaCrossingOursCompletesTheRekey) {
  Established e;
  ASSERT_TRUE(e.ini.rekey_ike(Millis(60)).ok());
  auto ours = take_request(e.ini, e.sa);
  auto peer_dh = DhKeyPair::generate(transform_id::dh_x25519);
  ASSERT_TRUE(peer_dh.ok());
  e.ini.on_datagram(Millis(70), 500, e.sa.respond(ExchangeType::create_child_sa, ours.mid, {
      make_payload(PayloadType::sa, SaPayload{{ike_gcm128_x25519(0x4242424242424242ULL)}}),
      make_payload(PayloadType::nonce, NoncePayload{Bytes(32, 0x42)}),
      make_payload(PayloadType::ke, KePayload{transform_id::dh_x25519, peer_dh->public_value()})}));
  take_request(e.ini, e.sa);  // our delete of the old SA, which the peer never answers
  auto closed = e.ask(e.sa, ExchangeType::informational, 0,
                      {make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}})});
  EXPECT_TRUE(closed.empty());
  EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::ike_rekeyed}));
  EXPECT_FALSE(e.ini.busy());
  EXPECT_EQ(e.ini.retiring_ike_sas(), 0u);
  EXPECT_EQ(e.ini.stats().ike_rekeys, 1u);
}

TEST(NativeInitiator, ARequestOnTheNewIkeSaThatOvertakesTheRekeyAnswerIsAnsweredAfterIt) {
  // charon may send on the IKE_SA it just created from another thread, before its answer.
  Established e;
  ASSERT_TRUE(e.ini.rekey_ike(Millis(60)).ok());
  auto ours = take_request(e.ini, e.sa);
  const auto* our_sa = find_body<SaPayload>(ours.inner, PayloadType::sa);
  const auto* our_ni = find_body<NoncePayload>(ours.inner, PayloadType::nonce);
  const auto* our_ke = find_body<KePayload>(ours.inner, PayloadType::ke);
  ASSERT_TRUE(our_sa && our_ni && our_ke);
  const uint64_t spi_i = get_u64(our_sa->proposals.at(0).spi.data()), spi_r = 0x2424242424242424ULL;
  auto peer_dh = DhKeyPair::generate(transform_id::dh_x25519);
  ASSERT_TRUE(peer_dh.ok());
  const Bytes peer_nr(32, 0x24);
  SaView fresh{spi_i, spi_r, e.sa.suite,
               derive_rekeyed_ike_keys(e.sa.keys.sk_d(), *peer_dh->shared_secret(our_ke->data), our_ni->nonce, peer_nr,
                                       spi_i, spi_r, kGcm128),
               false};
  e.ini.on_datagram(Millis(65), 500, fresh.request(ExchangeType::informational, 0, {}));  // liveness, early
  EXPECT_TRUE(e.ini.take_outgoing().empty());
  e.ini.on_datagram(Millis(70), 500, e.sa.respond(ExchangeType::create_child_sa, ours.mid, {
      make_payload(PayloadType::sa, SaPayload{{ike_gcm128_x25519(spi_r)}}),
      make_payload(PayloadType::nonce, NoncePayload{peer_nr}),
      make_payload(PayloadType::ke, KePayload{transform_id::dh_x25519, peer_dh->public_value()})}));
  auto out = e.ini.take_outgoing();
  ASSERT_EQ(out.size(), 2u);  // the delete of the old SA, then the answer on the new one
  EXPECT_TRUE(e.sa.open(out[0].payload).ok());
  auto answer = fresh.open(out[1].payload);
  ASSERT_TRUE(answer.ok()) << answer.error().describe();
  EXPECT_TRUE(answer->empty());
  EXPECT_EQ(e.ini.stats().dropped, 0u);
}

TEST(NativeInitiator, PeerWinningACrossingChildRekeyAndClosingTheOldSaFirstLeavesItsSa) {
  // The peer settles the collision (its SA survives) and deletes the old SA before its
  // answer to our rekey reaches us: its SA becomes current, and we close the one we made.
  Established e;
  const ChildSa old = *e.ini.child();
  ASSERT_TRUE(e.ini.rekey_child(Millis(60)).ok());
  auto ours = take_request(e.ini, e.sa);
  Bytes old_out;
  put_u32(old_out, old.spi_out);
  auto answer = e.ask(e.sa, ExchangeType::create_child_sa, 0, peer_child_rekey(old, 0xc0ffee41, 0xff));
  ASSERT_EQ(error_in(answer), 0);
  auto closed = e.ask(e.sa, ExchangeType::informational, 1,
                      {make_payload(PayloadType::del, DeletePayload{ProtocolId::esp, 4, {old_out}})});
  auto* d = find_body<DeletePayload>(closed, PayloadType::del);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(get_u32(d->spis.at(0).data()), old.spi_in);
  ASSERT_NE(e.ini.child(), nullptr);
  EXPECT_EQ(e.ini.child()->spi_out, 0xc0ffee41u);
  EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::rekey_collision}));  // no child_deleted
  e.ini.on_datagram(Millis(70), 500, e.sa.respond(ExchangeType::create_child_sa, ours.mid, {
      make_payload(PayloadType::sa, SaPayload{{esp_gcm128(0xc0ffee42)}}),
      make_payload(PayloadType::nonce, NoncePayload{Bytes(32, 0x00)}),
      make_payload(PayloadType::tsi, TsPayload{old.ts_local}),
      make_payload(PayloadType::tsr, TsPayload{old.ts_remote})}));
  auto del = take_request(e.ini, e.sa);
  auto* dd = find_body<DeletePayload>(del.inner, PayloadType::del);
  ASSERT_NE(dd, nullptr);
  const auto* our_sa = find_body<SaPayload>(ours.inner, PayloadType::sa);
  ASSERT_NE(our_sa, nullptr);
  EXPECT_EQ(get_u32(dd->spis.at(0).data()), get_u32(our_sa->proposals.at(0).spi.data()));  // the one we made
  EXPECT_EQ(e.ini.child()->spi_out, 0xc0ffee41u);
  e.ini.on_datagram(Millis(80), 500, e.sa.respond(ExchangeType::informational, del.mid, {}));
  EXPECT_EQ(kinds(e.ini.take_events()), (std::vector<EventKind>{EventKind::child_rekeyed}));
  EXPECT_EQ(e.ini.stats().child_rekeys, 1u);
}

}  // namespace
}  // namespace ist::native
