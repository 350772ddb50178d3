#pragma once
// The stable line format of `ikestorm xfrm --json [--watch]` (also read by the vm backend,
// which runs the same binary inside its guest). One JSON object per line; fields are only
// ever added, never renamed. `t_ms` is milliseconds since the command started (monotonic).
//
// Snapshot (`ikestorm xfrm --json`, one object, then exit):
//   {"kind":"snapshot","ns":"NAME","sa":3,"policies":{"in":1,"out":1,"fwd":1,
//    "in_socket":0,"out_socket":0,"fwd_socket":0},"xfrm_stat":{"XfrmInError":0,...}}
//   (xfrm_stat here: absolute values of every counter; with --details also "sas":[SA...],
//    "policy_list":[POLICY...])
//
// Watch (`--watch`): first the snapshot line (with "t_ms":0), then, in order of arrival:
//   {"t_ms":12,"kind":"acquire","ns":..,"proto":"esp","src":"198.18.0.1","dst":"198.18.0.9",
//    "flow":SEL,"policy":POLICY,"seq":7}
//   {"t_ms":..,"kind":"expire","hard":true|false,"sa":SA}
//   {"t_ms":..,"kind":"new_sa"|"update_sa"|"delete_sa","sa":SA}
//   {"t_ms":..,"kind":"new_policy"|"update_policy"|"delete_policy","policy":POLICY}
//   {"t_ms":..,"kind":"policy_expire","hard":true|false,"policy":POLICY}
//   {"t_ms":..,"kind":"flush_sa","proto":"esp"|"any"|..}   {"t_ms":..,"kind":"flush_policy"}
//   {"t_ms":..,"kind":"loss","losses":N}   (ENOBUFS: notifications were dropped; the next
//                                           sample line is taken at once to resync counts)
//   {"t_ms":..,"kind":"sample","sa":N,"policies":{...as above},"xfrm_stat":{NAME:delta,...}}
//     every second (--interval); xfrm_stat holds the non-zero changes since the previous
//     sample (absent counter = 0).
//   {"t_ms":..,"kind":"end","events":N,"losses":N,"malformed":N}   on --duration or signal
// where
//   SEL    = {"src":"198.18.254.1/32","dst":"198.18.254.9/32","proto":"udp","sport":44441,
//             "dport":5000}          (proto "any" and ports 0 = wildcard)
//   SA     = {"src":..,"dst":..,"spi":"0x00001b69","proto":"esp","mode":"tunnel","reqid":1,"sel":SEL}
//   POLICY = {"dir":"in"|"out"|"fwd"|"other","index":N,"priority":N,"action":"allow"|"block","sel":SEL}
// Every event line also carries "ns" (the --netns name, "" for the caller's namespace).
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "xfrm/monitor.hpp"
#include "xfrm/sampler.hpp"

namespace ist::xfrm {

// "acquire", "expire", "new_sa", ... (see above); "" for non-notifications.
std::string_view event_kind(const Body& b);

nlohmann::ordered_json to_json(const Selector& s);
nlohmann::ordered_json to_json(const SaInfo& s);
nlohmann::ordered_json to_json(const PolicyInfo& p);
nlohmann::ordered_json policies_json(const SpdInfo& s);

nlohmann::ordered_json event_json(const Event& e, MonoTime t0, std::string_view ns);
nlohmann::ordered_json sample_json(const Sample& s, MonoTime t0, std::string_view ns);
nlohmann::ordered_json snapshot_json(const Counts& c, const XfrmStat& stat, std::string_view ns);

// One line of text for people (`--watch` without --json) and for per-peer timelines:
// "acquire esp 198.18.0.1 -> 198.18.0.9 for 198.18.254.1/32 -> 198.18.254.9/32 udp 44441->5000 (policy out #8)"
std::string describe(const Body& b);

// The addresses an event is about (tunnel endpoints first, then selector addresses), for
// joining kernel events with peers.
std::vector<std::string> event_addresses(const Body& b);

}  // namespace ist::xfrm
