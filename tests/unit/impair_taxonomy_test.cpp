// Malformed messages in the taxonomy: the SUT's log lines recorded from real runs of
// scenarios/impair/malformed.yaml (charon 5.9.8) and the native peers' notify texts, each
// classified to the Windows code that names the payload error.
#include <gtest/gtest.h>

#include "charon/log_parser.hpp"
#include "run/classify_run.hpp"
#include "taxonomy/classifier.hpp"
#include "taxonomy/from_charon_log.hpp"

namespace ist {
namespace {

struct LineCase {
  const char* line;
  charon::LogEventKind kind;
  const char* detail;
  const char* address;
  const char* code;  // after the rules
  bool exact;
};

TEST(MalformedInTheSutLog, LinesBecomePayloadCodes) {
  using K = charon::LogEventKind;
  const LineCase cases[] = {
      {"2026-11-23T22:34:07.608 14[ENC] <5> payload type (200) is not supported, but payload is critical!",
       K::critical_payload, "(200)", "", "ERROR_IPSEC_IKE_CRITICAL_PAYLOAD_NOT_RECOGNIZED", true},
      {"2026-11-23T22:34:07.605 02[NET] received unsupported IKE version 3.0 from 198.19.0.8, sending INVALID_MAJOR_VERSION",
       K::unsupported_version, "3.0", "198.19.0.8", "ERROR_IPSEC_IKE_INVALID_MAJOR_VERSION", true},
      {"2026-11-23T22:34:07.608 30[ENC] <4> invalid DH public value size (31 bytes) for CURVE_25519",
       K::payload_error, "DH public value", "", "ERROR_IPSEC_IKE_PROCESS_ERR_KE", true},
      {"2026-11-23T22:34:35.733 32[ENC] <2> NONCE payload verification failed", K::payload_error, "NONCE", "",
       "ERROR_IPSEC_IKE_PROCESS_ERR_NONCE", true},
      {"2026-11-23T22:34:07.608 13[ENC] <3> payload type SECURITY_ASSOCIATION could not be parsed", K::payload_error,
       "SECURITY_ASSOCIATION", "", "ERROR_IPSEC_IKE_PROCESS_ERR_SA", true},
      {"2026-11-23T22:34:07.608 13[ENC] <3> TRAFFIC_SELECTOR_INITIATOR payload verification failed", K::payload_error,
       "TRAFFIC_SELECTOR_INITIATOR", "", "ERROR_IPSEC_IKE_INVALID_PAYLOAD", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto e = charon::parse_log_line(c.line);
    EXPECT_EQ(e.kind, c.kind);
    EXPECT_EQ(e.detail, c.detail);
    EXPECT_EQ(e.address, c.address);
    auto events = taxonomy::observe_charon_log(std::string(c.line) + "\n", taxonomy::Side::responder, "sut");
    ASSERT_EQ(events.size(), 1u);
    auto result = taxonomy::Classifier().classify(events);
    ASSERT_EQ(result.failures.size(), 1u);
    EXPECT_EQ(result.failures[0].code.name, c.code);
    EXPECT_EQ(result.failures[0].exact, c.exact);
  }
}

TEST(MalformedInTheSutLog, OrdinaryLinesStayOrdinary) {
  for (const char* line : {"2026-11-23T22:34:07.608 13[IKE] <3> message parsing failed",
                           "2026-11-23T22:34:07.608 28[ENC] <1> parsed IKE_SA_INIT request 0 [ SA KE No ]",
                           "2026-11-23T22:34:07.608 14[IKE] <5> critical unknown payloads found"}) {
    auto e = charon::parse_log_line(line);
    EXPECT_NE(e.kind, charon::LogEventKind::payload_error) << line;
    EXPECT_NE(e.kind, charon::LogEventKind::critical_payload) << line;
  }
}

TEST(MalformedSeenByThePeer, NotifiesBecomeCodes) {
  using O = taxonomy::Observation;
  struct Case {
    const char* text;
    O what;
  };
  const Case cases[] = {
      {"native: received UNSUPPORTED_CRITICAL_PAYLOAD notify error (IKE_SA_INIT refused with UNSUPPORTED_CRITICAL_PAYLOAD)",
       O::unsupported_critical_payload},
      {"native: received INVALID_MAJOR_VERSION notify error (IKE_SA_INIT refused with INVALID_MAJOR_VERSION)",
       O::invalid_major_version},
      {"native: received INVALID_SYNTAX notify error (IKE_SA_INIT refused with INVALID_SYNTAX)", O::invalid_syntax},
      {"received INVALID_SYNTAX notify error", O::invalid_syntax},
      {"native: received INTERNAL_ADDRESS_FAILURE notify error (x)", O::notify_error},
  };
  for (const auto& c : cases) EXPECT_EQ(run::observation_of_failure_text(c.text), c.what) << c.text;
}

}  // namespace
}  // namespace ist
