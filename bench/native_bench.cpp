// Native IKEv2 engine micro-benchmarks (owner: native). Figures: bench/README.md
// "native engine".
//   BM_NativeKeyExchange/<group>: one initiator's crypto for IKE_SA_INIT: generate a DH key
//     pair, compute g^ir against a fixed peer value, SKEYSEED and the seven SK_* keys (prf+).
//   BM_NativeEncode / BM_NativeDecode: IKE_SA_INIT request codec, and a 7-payload SK chain.
//   BM_NativeSealOpen: SK payload round trip of an IKE_AUTH-sized chain (AES-GCM-16-128).
#include <benchmark/benchmark.h>

#include "ike/crypto.hpp"
#include "ike/ike_message.hpp"
#include "ike/sk_payload.hpp"

namespace ist::native {
namespace {

void BM_NativeKeyExchange(benchmark::State& state) {
  auto group = static_cast<uint16_t>(state.range(0));
  auto peer = DhKeyPair::generate(group);
  if (!peer) {
    state.SkipWithError("DH key generation failed");
    return;
  }
  const Bytes ni(32, 1), nr(32, 2);
  for (auto _ : state) {
    auto mine = DhKeyPair::generate(group);
    auto shared = mine->shared_secret(peer->public_value());
    auto keys = derive_ike_keys(*shared, ni, nr, 1, 2, IkeKeyLengths{.integ = 0, .encr = 20});
    benchmark::DoNotOptimize(keys.sk_pr().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NativeKeyExchange)->Arg(transform_id::dh_x25519)->Arg(transform_id::dh_ecp256)
    ->Arg(transform_id::dh_modp2048)->Unit(benchmark::kMicrosecond);

void BM_NativePrfPlus(benchmark::State& state) {
  const Bytes key(32, 7), seed(80, 9);
  for (auto _ : state) {
    auto km = prf_plus(key, seed, 3 * 32 + 2 * 20);  // the SK_* block for AES-GCM-128
    benchmark::DoNotOptimize(km.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NativePrfPlus);

Message init_request() {
  Message m;
  m.header = Header{.spi_i = 0x0102030405060708ULL, .exchange = ExchangeType::ike_sa_init, .flags = flags::initiator};
  Proposal p{.number = 1, .protocol = ProtocolId::ike, .spi = {}, .transforms = {
      {TransformType::encr, transform_id::encr_aes_gcm_16, 128},
      {TransformType::prf, transform_id::prf_hmac_sha2_256, std::nullopt},
      {TransformType::dh, transform_id::dh_x25519, std::nullopt}}};
  m.payloads = {
      make_payload(PayloadType::sa, SaPayload{{p}}),
      make_payload(PayloadType::ke, KePayload{31, Bytes(32, 0x11)}),
      make_payload(PayloadType::nonce, NoncePayload{Bytes(32, 0x22)}),
      make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, notify_type::nat_detection_source_ip, Bytes(20, 3)}),
      make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, notify_type::nat_detection_destination_ip, Bytes(20, 4)}),
  };
  return m;
}

std::vector<Payload> auth_chain() {
  Proposal esp{.number = 1, .protocol = ProtocolId::esp, .spi = {0xc0, 0, 0, 1}, .transforms = {
      {TransformType::encr, transform_id::encr_aes_gcm_16, 128}, {TransformType::esn, 0, std::nullopt}}};
  TrafficSelector ts{.start_address = {198, 19, 128, 1}, .end_address = {198, 19, 128, 1}};
  return {make_payload(PayloadType::idi, IdPayload{id_type::fqdn, to_bytes("p1.peers.ikestorm")}),
          make_payload(PayloadType::idr, IdPayload{id_type::fqdn, to_bytes("sut.ikestorm.test")}),
          make_payload(PayloadType::auth, AuthPayload{auth_method::shared_key_mic, Bytes(32, 5)}),
          make_payload(PayloadType::sa, SaPayload{{esp}}),
          make_payload(PayloadType::tsi, TsPayload{{ts}}),
          make_payload(PayloadType::tsr, TsPayload{{ts}}),
          make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, notify_type::initial_contact, {}})};
}

void BM_NativeEncode(benchmark::State& state) {
  Message m = init_request();
  for (auto _ : state) {
    Bytes b = serialize_message(m);
    benchmark::DoNotOptimize(b.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NativeEncode);

void BM_NativeDecode(benchmark::State& state) {
  Bytes b = serialize_message(init_request());
  for (auto _ : state) {
    auto m = parse_message(b);
    benchmark::DoNotOptimize(m.ok());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b.size()));
}
BENCHMARK(BM_NativeDecode);

void BM_NativeDecodeSkChain(benchmark::State& state) {
  Bytes b = serialize_payload_chain(auth_chain());
  for (auto _ : state) {
    auto m = parse_payload_chain(PayloadType::idi, b);
    benchmark::DoNotOptimize(m.ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NativeDecodeSkChain);

void BM_NativeSealOpen(benchmark::State& state) {
  SkSuite suite;
  Bytes key(20, 0x42);
  Bytes inner = serialize_payload_chain(auth_chain());
  Header h{.spi_i = 1, .spi_r = 2, .exchange = ExchangeType::ike_auth, .flags = flags::initiator, .message_id = 1};
  for (auto _ : state) {
    auto sealed = seal_message(suite, key, {}, h, PayloadType::idi, inner);
    auto parsed = parse_message(*sealed);
    auto plain = open_message(suite, key, {}, *sealed, *parsed->find<SkPayload>(PayloadType::sk));
    benchmark::DoNotOptimize(plain.ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NativeSealOpen);

}  // namespace
}  // namespace ist::native

BENCHMARK_MAIN();
