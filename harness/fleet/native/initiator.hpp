#pragma once
// IKEv2 initiator for one peer as pure logic (RFC 7296): no sockets, no clock. The caller
// feeds received datagrams and the current time, and takes the datagrams to send and the
// events. One IKE_SA with one CHILD_SA: IKE_SA_INIT (COOKIE and INVALID_KE_PAYLOAD retries,
// NAT detection and the float to port 4500), IKE_AUTH with a PSK, INFORMATIONAL delete,
// answers to the responder's liveness checks and deletes, and retransmission on a schedule.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "fleet/native/bytes.hpp"
#include "fleet/native/crypto.hpp"
#include "fleet/native/ike_message.hpp"
#include "fleet/native/sk_payload.hpp"

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

struct InitiatorConfig {
  Endpoint local;
  Endpoint remote;
  IkeProposalConfig ike;
  EspProposalConfig esp;
  Bytes psk;
  IdPayload local_id;
  std::optional<IdPayload> remote_id;  // sent as IDr when set, and checked in the response
  std::vector<TrafficSelector> ts_local;
  std::vector<TrafficSelector> ts_remote;
  bool force_encap = false;  // fake our NAT-D source hash (like swanctl encap = yes)
  RetransmitPolicy retransmit;
  unsigned max_cookie_retries = 2;
  unsigned max_ke_retries = 2;
  uint64_t spi_i = 0;        // 0: random
  uint32_t child_spi = 0;    // our inbound ESP SPI; 0: random
  size_t nonce_size = 32;
};

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

struct ChildSa {
  uint32_t spi_in = 0;   // ours: ESP to us carries it
  uint32_t spi_out = 0;  // the responder's
  SkSuite esp;           // ESP algorithms (same shape as the SK suite)
  ChildKeys keys;        // keys.encr_i/integ_i protect initiator -> responder
  std::vector<TrafficSelector> ts_local;
  std::vector<TrafficSelector> ts_remote;
  bool udp_encap = false;
};

enum class EventKind { ike_up, child_up, failed, ike_deleted, child_deleted };
std::string event_name(EventKind k);

struct InitiatorEvent {
  EventKind kind = EventKind::failed;
  Millis at{0};
  ExchangeType exchange = ExchangeType::ike_sa_init;  // the exchange it concerns
  FailureCause cause = FailureCause::none;
  uint16_t notify = 0;  // error notify type for notify_received
  bool child = false;   // the failure concerns the CHILD_SA only (the IKE_SA stays up)
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
};

class Initiator {
 public:
  explicit Initiator(InitiatorConfig config);

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

  std::vector<Datagram> take_outgoing();
  std::vector<InitiatorEvent> take_events();

  InitiatorState state() const { return state_; }
  uint64_t spi_i() const { return spi_i_; }
  uint64_t spi_r() const { return spi_r_; }
  bool behind_nat() const { return use_natt_; }
  uint16_t dh_group() const { return dh_ ? dh_->group() : 0; }
  const ChildSa* child() const { return child_ ? &*child_ : nullptr; }
  const InitiatorStats& stats() const { return stats_; }
  const IkeKeys& ike_keys() const { return keys_; }

 private:
  struct PendingRequest {
    Bytes payload;  // as sent, marker included
    size_t sends = 0;
    Millis next{0};
  };

  Status send_init(Millis now);
  Status send_auth(Millis now);
  Status send_request(Millis now, ExchangeType exchange, const std::vector<Payload>& inner);
  void queue_request(Millis now, Bytes message);
  void send_raw(Bytes message);
  Result<Bytes> seal(ExchangeType exchange, uint8_t flags, uint32_t message_id, const std::vector<Payload>& inner);

  void handle_init_response(Millis now, ByteView raw, const Message& m);
  void handle_auth_response(Millis now, const std::vector<Payload>& inner);
  void handle_informational_response(Millis now, const std::vector<Payload>& inner);
  void handle_peer_request(Millis now, const Message& m, const std::vector<Payload>& inner);
  void fail(Millis now, FailureCause cause, uint16_t notify, std::string detail, bool child_only = false);
  void emit(InitiatorEvent e);

  Proposal ike_proposal() const;
  Proposal esp_proposal() const;

  InitiatorConfig cfg_;
  InitiatorState state_ = InitiatorState::idle;
  uint64_t spi_i_ = 0;
  uint64_t spi_r_ = 0;
  uint32_t next_request_id_ = 0;   // our requests
  uint32_t peer_request_id_ = 0;   // the responder's requests we expect next
  Bytes last_response_;            // our answer to the responder's last request (for its retransmits)
  std::optional<DhKeyPair> dh_;
  Bytes ni_, nr_;
  Bytes cookie_;
  Bytes init_request_;   // RealMessage1 for AUTH
  Bytes init_response_;  // RealMessage2 for the responder's AUTH
  SkSuite sk_suite_;
  IkeKeys keys_;
  bool use_natt_ = false;
  std::optional<PendingRequest> pending_;
  ExchangeType pending_exchange_ = ExchangeType::ike_sa_init;
  std::optional<ChildSa> child_;
  std::vector<Datagram> outgoing_;
  std::vector<InitiatorEvent> events_;
  InitiatorStats stats_;
};

}  // namespace ist::native
