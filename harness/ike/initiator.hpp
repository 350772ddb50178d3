#pragma once
// IKEv2 initiator for one peer as pure logic (RFC 7296): no sockets, no clock. The caller
// feeds received datagrams and the current time, and takes the datagrams to send and the
// events. One IKE_SA with one CHILD_SA: IKE_SA_INIT (COOKIE and INVALID_KE_PAYLOAD retries,
// NAT detection and the float to port 4500), IKE_AUTH with a PSK, CREATE_CHILD_SA rekeys of
// the CHILD_SA and the IKE_SA in both directions (ours, and answers to the responder's,
// after which the responder is the original initiator of the new IKE_SA), INFORMATIONAL
// deletes and liveness answers, and retransmission on a schedule. One request of ours is in
// flight at a time (window size 1, RFC 7296 2.3).
//
// Exchange collisions (2.8.1, 2.8.2, 2.25): crossing rekeys of the same SA are both answered
// and settled by the lowest of the four nonces; a rekey of ours answered TEMPORARY_FAILURE is
// retried after a pause (not at once, 2.25); CHILD_SA_NOT_FOUND drops the CHILD_SA. Where
// 2.25 lets a responder refuse with TEMPORARY_FAILURE but the request can be completed
// consistently (the peer's CHILD rekey during our IKE rekey, its IKE rekey during our CHILD
// rekey, a CHILD rekey on an IKE_SA that is being replaced), we answer it: strongSwan waits
// 5-15 s before it retries, longer than short test lifetimes, and the SA would expire.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ike/bytes.hpp"
#include "ike/crypto.hpp"
#include "ike/heap_optional.hpp"
#include "ike/ike_message.hpp"
#include "ike/sk_payload.hpp"

namespace ist::native {

using Millis = std::chrono::milliseconds;  // time since any origin the caller chooses

inline constexpr uint16_t ike_port = 500;
inline constexpr uint16_t natt_port = 4500;

struct Endpoint {
  Bytes address;  // 4 (IPv4) or 16 (IPv6) bytes, network order
  uint16_t port = ike_port;
};

// Exponential back-off (RFC 7296 2.1 asks for it without fixing numbers); the defaults are
// strongSwan's: wait timeout * base^n after send n, `tries` retransmits, then give up.
struct RetransmitPolicy {
  Millis timeout{4000};
  double base = 1.8;
  unsigned tries = 5;
  // Waits after the initial send and after each retransmit (tries + 1 entries); the request
  // is declared lost when the last wait ends.
  std::vector<Millis> schedule() const;
};

struct IkeProposalConfig {
  uint16_t encr = transform_id::encr_aes_gcm_16;
  uint16_t key_bits = 128;
  uint16_t integ = transform_id::integ_none;
  std::vector<uint16_t> dh_groups{transform_id::dh_x25519};  // the first one is sent in KE
};

struct EspProposalConfig {
  uint16_t encr = transform_id::encr_aes_gcm_16;
  uint16_t key_bits = 128;
  uint16_t integ = transform_id::integ_none;
};

// What every peer of a fleet has in common: built once and shared by their Initiators
// (a per-peer copy was ~450 bytes of heap per peer, issue 11).
struct InitiatorShared {
  Endpoint remote;
  IkeProposalConfig ike;
  EspProposalConfig esp;
  Bytes psk;
  std::optional<IdPayload> remote_id;  // sent as IDr when set, and checked in the response
  std::vector<TrafficSelector> ts_remote;
  bool force_encap = false;  // fake our NAT-D source hash (like swanctl encap = yes)
  RetransmitPolicy retransmit;
  unsigned max_cookie_retries = 2;
  unsigned max_ke_retries = 2;
  size_t nonce_size = 32;
  // A rekey answered TEMPORARY_FAILURE is retried after rekey_retry * attempt, at most
  // max_rekey_retries times; then it fails (child-only failure, the SAs stay).
  Millis rekey_retry{500};
  unsigned max_rekey_retries = 8;
  // How long an IKE_SA the peer should delete (the old one after it won a collision, its
  // redundant one after it lost) is kept waiting for that delete, and how long an IKE_SA the
  // peer deleted is kept to answer retransmits of the delete. charon's half-open timeout.
  Millis peer_delete_wait{30000};
};

// What is the peer's own. Needed only until IKE_AUTH is done (the local port is kept).
struct InitiatorPeerConfig {
  Endpoint local;
  IdPayload local_id;
  std::vector<TrafficSelector> ts_local;
  uint64_t spi_i = 0;        // 0: random
  uint32_t child_spi = 0;    // our inbound ESP SPI; 0: random
};

// Both in one, for a single initiator (tests, the flood's IKE_SA_INIT maker).
struct InitiatorConfig : InitiatorShared, InitiatorPeerConfig {};

enum class InitiatorState { idle, init_sent, auth_sent, established, deleting, closed, failed };
std::string state_name(InitiatorState s);

// Why an attempt or an SA ended, in terms the classifier can map to Windows codes.
enum class FailureCause {
  none,
  notify_received,  // the responder answered with an error notify (see notify)
  no_response,      // retransmits exhausted (13813 DROP_NO_RESPONSE)
  auth_mismatch,    // the responder's AUTH did not verify (we report AUTHENTICATION_FAILED)
  protocol_error,   // an answer we cannot use (missing payloads, proposal we did not offer)
  retry_limit,      // too many COOKIE / INVALID_KE_PAYLOAD rounds
};
std::string cause_name(FailureCause c);

// A CHILD_SA's traffic selectors in one heap block, each as type | protocol | start port |
// end port | start address length | end address length | start | end (16 bytes for IPv4)
// instead of a vector with two address buffers per selector (4 heap blocks, ~130 bytes per
// list, two lists per CHILD_SA per peer). Reads give TrafficSelector values.
class SelectorList {
 public:
  SelectorList() = default;
  SelectorList(const std::vector<TrafficSelector>& selectors);  // NOLINT: implicit on purpose
  SelectorList(std::initializer_list<TrafficSelector> selectors) : SelectorList(std::vector<TrafficSelector>(selectors)) {}
  operator std::vector<TrafficSelector>() const { return selectors(); }  // NOLINT
  std::vector<TrafficSelector> selectors() const;
  bool empty() const { return encoded_.empty(); }
  size_t size() const;
  TrafficSelector front() const;  // the first one; not on an empty list
  bool operator==(const SelectorList&) const = default;

 private:
  Bytes encoded_;
};

struct ChildSa {
  uint32_t spi_in = 0;   // ours: ESP to us carries it
  uint32_t spi_out = 0;  // the responder's
  SkSuite esp;           // ESP algorithms (same shape as the SK suite)
  Bytes encr_out, integ_out;  // protect what we send
  Bytes encr_in, integ_in;    // protect what we receive
  SelectorList ts_local;
  SelectorList ts_remote;
  bool udp_encap = false;
};

// rekey_collision: both sides rekeyed the same SA at once (2.8.1); informational, the
// classifier's ERROR_IPSEC_IKE_SIMULTANEOUS_REKEY (13821).
enum class EventKind { ike_up, child_up, failed, ike_deleted, child_deleted, ike_rekeyed, child_rekeyed, rekey_collision };
std::string event_name(EventKind k);

struct InitiatorEvent {
  EventKind kind = EventKind::failed;
  Millis at{0};
  ExchangeType exchange = ExchangeType::ike_sa_init;  // the exchange it concerns
  FailureCause cause = FailureCause::none;
  uint16_t notify = 0;  // error notify type for notify_received
  bool child = false;   // the failure concerns the CHILD_SA only (the IKE_SA stays up)
  bool by_peer = false;  // rekeys and deletes: the responder started it
  std::string detail;
};

struct Datagram {
  uint16_t local_port = ike_port;
  uint16_t remote_port = ike_port;
  Bytes payload;  // with the 4-byte non-ESP marker when sent on port 4500 (RFC 3948)
};

struct InitiatorStats {
  unsigned retransmits = 0;
  unsigned cookie_rounds = 0;
  unsigned ke_rounds = 0;
  unsigned dropped = 0;  // received datagrams ignored (not ours, malformed, failed integrity)
  unsigned answered = 0;  // responder requests we answered
  unsigned ike_rekeys = 0;    // completed, either side
  unsigned child_rekeys = 0;  // completed, either side
  unsigned refused_requests = 0;  // responder requests answered with an error notify
  unsigned liveness_answers = 0;  // answers to our liveness checks
  unsigned collisions = 0;        // simultaneous rekeys seen
  unsigned rekey_retries = 0;     // rekeys of ours sent again after TEMPORARY_FAILURE
};

class Initiator {
 public:
  explicit Initiator(InitiatorConfig config);
  // A fleet's initiator: `shared` is the same object for all peers.
  Initiator(std::shared_ptr<const InitiatorShared> shared, InitiatorPeerConfig peer);

  // Sends IKE_SA_INIT. Errors are harness faults (bad config, OpenSSL failure).
  Status start(Millis now);
  // A datagram from the responder on `local_port` (500 or 4500; on 4500 the non-ESP marker
  // is expected and stripped).
  void on_datagram(Millis now, uint16_t local_port, ByteView payload);
  // Drives retransmissions; call at next_timer() (calling early is harmless).
  void on_timer(Millis now);
  std::optional<Millis> next_timer() const;
  // Starts an INFORMATIONAL exchange deleting the IKE_SA (and with it the CHILD_SA).
  Status delete_ike(Millis now);
  // CREATE_CHILD_SA rekeys (2.8). An Error when not established or a request is in flight
  // (window size 1): try again once busy() is false. Starting one cancels a pending retry.
  Status rekey_child(Millis now);
  Status rekey_ike(Millis now);
  // An empty INFORMATIONAL request (2.4): answered -> stats().liveness_answers grows; no
  // answer after the retransmits -> failed(no_response) and the IKE_SA counts as dead.
  Status check_liveness(Millis now);
  bool busy() const { return pending_.has_value(); }

  std::vector<Datagram> take_outgoing();
  std::vector<InitiatorEvent> take_events();

  InitiatorState state() const { return state_; }
  // The current IKE_SA's SPIs in header order (after a rekey the responder may be the
  // original initiator of the new SA: then spi_i is its SPI).
  uint64_t spi_i() const { return ike_.spi_i; }
  uint64_t spi_r() const { return ike_.spi_r; }
  bool original_initiator() const { return ike_.original_initiator; }
  bool behind_nat() const { return use_natt_; }
  uint16_t dh_group() const { return setup_ && setup_->dh ? setup_->dh->group() : dh_group_; }
  const ChildSa* child() const { return child_ ? &*child_ : nullptr; }
  const InitiatorStats& stats() const { return stats_; }
  const IkeKeys& ike_keys() const { return ike_.keys; }
  // IKE_SAs held besides the current one (rekeyed or redundant ones awaiting their delete).
  size_t retiring_ike_sas() const;
  // A rekey waits for its retry after TEMPORARY_FAILURE.
  bool rekey_retry_pending() const { return retry_child_at_ || retry_ike_at_; }

 private:
  // One IKE_SA's protection state; two exist while a rekeyed one awaits its delete.
  struct IkeSaState {
    uint64_t spi_i = 0;
    uint64_t spi_r = 0;
    bool original_initiator = true;  // we sent the IKE_SA_INIT / CREATE_CHILD_SA that made it
    SkSuite suite;
    IkeKeys keys;
    uint32_t next_request_id = 0;  // our requests
    uint32_t peer_request_id = 0;  // the peer's requests we expect next
    Bytes last_response;           // our answer to the peer's last request (for its retransmits)
    bool closed = false;           // deleted by the peer; kept only to answer retransmits
    std::optional<Millis> forget_at;  // dropped then (see peer_delete_wait)
    ByteView encr_out() const { return original_initiator ? keys.sk_ei() : keys.sk_er(); }
    ByteView integ_out() const { return original_initiator ? keys.sk_ai() : keys.sk_ar(); }
    ByteView encr_in() const { return original_initiator ? keys.sk_er() : keys.sk_ei(); }
    ByteView integ_in() const { return original_initiator ? keys.sk_ar() : keys.sk_ai(); }
    uint8_t flags(bool response) const {
      return static_cast<uint8_t>((original_initiator ? flags::initiator : 0) | (response ? flags::response : 0));
    }
  };
  enum class Purpose {
    init, auth, delete_ike, rekey_child, delete_old_child, delete_redundant_child, rekey_ike, delete_old_ike,
    delete_redundant_ike, liveness
  };
  struct PendingRequest {
    Bytes payload;  // as sent, marker included
    size_t sends = 0;
    Millis next{0};
    Purpose purpose = Purpose::init;
    ExchangeType exchange = ExchangeType::ike_sa_init;
    uint64_t spi_i = 0, spi_r = 0;  // the IKE_SA it was sent on
    uint32_t message_id = 0;
    Bytes nonce;                    // rekeys: our nonce
    std::optional<DhKeyPair> dh;    // IKE rekey: our new key pair
    uint32_t new_child_spi = 0;
    uint64_t new_ike_spi = 0;
  };

  Status send_init(Millis now);
  Status send_auth(Millis now);
  Status send_request(Millis now, IkeSaState& sa, Purpose purpose, ExchangeType exchange,
                      const std::vector<Payload>& inner, PendingRequest extra);
  void send_raw(Bytes message);
  // A datagram to the peer on the ports IKE uses now: ours and the peer's, or 4500 on both
  // sides once NAT-T is in use. `payload` is as sent (with its marker on 4500).
  Datagram to_peer(Bytes payload) const;
  Result<Bytes> seal(const IkeSaState& sa, ExchangeType exchange, bool response, uint32_t message_id,
                     const std::vector<Payload>& inner);
  void answer(IkeSaState& sa, ExchangeType exchange, uint32_t message_id, const std::vector<Payload>& inner);

  IkeSaState* find_sa(uint64_t spi_i, uint64_t spi_r);
  IkeSaState take_extra(uint64_t spi_i, uint64_t spi_r);  // removes it from extra_ike_

  void handle_init_response(Millis now, ByteView raw, const Message& m);
  void handle_auth_response(Millis now, const std::vector<Payload>& inner);
  bool handle_rekey_refusal(Millis now, const PendingRequest& req, const std::vector<Payload>& inner);
  void handle_rekey_child_response(Millis now, PendingRequest& req, const std::vector<Payload>& inner);
  void handle_rekey_ike_response(Millis now, PendingRequest& req, const std::vector<Payload>& inner);
  void handle_peer_request(Millis now, uint64_t spi_i, uint64_t spi_r, const Message& m,
                           const std::vector<Payload>& inner);
  void peer_deleted_ike_sa(Millis now, uint64_t spi_i, uint64_t spi_r);
  void request_lost_with_its_sa(Millis now, const PendingRequest& req);
  std::vector<Payload> answer_peer_create_child(Millis now, const IkeSaState& sa, const std::vector<Payload>& inner);
  std::vector<Payload> answer_peer_child(Millis now, const IkeSaState& sa, const std::vector<Payload>& inner);
  std::vector<Payload> answer_peer_ike_rekey(Millis now, const IkeSaState& sa, const std::vector<Payload>& inner);
  void adopt_peer_ike_sa(Millis now);
  void schedule_rekey_retry(Millis now, Purpose purpose, uint16_t notify);
  void fail(Millis now, FailureCause cause, uint16_t notify, std::string detail, bool child_only = false);
  void emit(InitiatorEvent e);

  Proposal ike_proposal() const;
  Proposal esp_proposal(uint32_t spi) const;
  bool esp_acceptable(const Proposal& p) const;
  bool ike_acceptable(const Proposal& p) const;
  // KEYMAT comes from SK_d of the IKE_SA the exchange ran on (2.17).
  Result<ChildSa> make_child(ByteView sk_d, uint32_t spi_in, uint32_t spi_out, bool we_initiated, ByteView ni,
                             ByteView nr, ByteView shared, std::vector<TrafficSelector> ts_local,
                             std::vector<TrafficSelector> ts_remote) const;

  std::shared_ptr<const InitiatorShared> cfg_;
  // What IKE_SA_INIT and IKE_AUTH need and nothing after: dropped once IKE_AUTH is answered
  // (per-peer memory).
  struct Setup {
    InitiatorPeerConfig peer;
    std::optional<DhKeyPair> dh;
    Bytes ni, nr;
    Bytes cookie;
    Bytes init_request;   // RealMessage1 for AUTH
    Bytes init_response;  // RealMessage2 for the responder's AUTH
  };
  HeapOptional<Setup> setup_;
  uint16_t local_port_ = ike_port;
  InitiatorState state_ = InitiatorState::idle;
  IkeSaState ike_;
  // IKE_SAs besides the current one: rekeyed ones until their delete completes, redundant
  // ones of a collision until their maker deletes them, and the peer's new one while a
  // collision with our IKE rekey is unsettled. Empty (no heap) in the steady state.
  std::vector<IkeSaState> extra_ike_;
  // The peer's IKE rekey answered while ours was in flight (2.8.2): its nonces and the SPIs
  // of the SA it made (held in extra_ike_), until our own answer says which one survives.
  struct IkeCollision {
    Bytes peer_ni, our_nr;
    uint64_t spi_i = 0, spi_r = 0;
  };
  HeapOptional<IkeCollision> ike_collision_;
  // A request on the IKE_SA our rekey is creating that arrived before the answer creating it
  // (charon sends on the new SA from another thread, which can overtake its answer): replayed
  // once the answer is in.
  struct EarlyDatagram {
    uint16_t local_port = 0;
    Bytes payload;
  };
  HeapOptional<EarlyDatagram> early_;
  // Retries of rekeys answered TEMPORARY_FAILURE, and how many refusals in a row.
  std::optional<Millis> retry_child_at_, retry_ike_at_;
  unsigned child_refusals_ = 0, ike_refusals_ = 0;
  uint16_t dh_group_ = 0;        // the IKE_SA's group, for its rekeys
  bool use_natt_ = false;
  HeapOptional<PendingRequest> pending_;
  ExchangeType pending_exchange_ = ExchangeType::ike_sa_init;
  std::optional<ChildSa> child_;
  HeapOptional<ChildSa> old_child_;  // replaced by a rekey, until its delete completes
  // A CHILD rekey of the peer's answered while ours was in flight (2.8.1): its nonces and
  // the SA it made, kept until our own answer says which of the two SAs is redundant.
  struct ChildCollision {
    Bytes peer_ni, our_nr;
    ChildSa peer_made;
  };
  HeapOptional<ChildCollision> collision_;
  HeapOptional<ChildSa> redundant_child_;  // the peer's redundant SA, until it deletes it
  // The peer won a CHILD rekey collision and deleted the old SA before our own rekey was
  // answered: the SA our exchange makes is redundant, and we delete it when the answer comes.
  bool child_rekey_lost_ = false;
  std::vector<Datagram> outgoing_;
  std::vector<InitiatorEvent> events_;
  InitiatorStats stats_;
};

}  // namespace ist::native
