#include "fleet/native/raw_prefix_io.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace ist::native {

namespace {

constexpr size_t kIpHeader = 20;
constexpr size_t kIp6Header = 40;
constexpr size_t kUdpHeader = 8;
constexpr uint8_t kMaxExtensionHeaders = 8;  // more than any real packet; bounds the walk

uint32_t load_u32(const uint8_t* p) { return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void store_u16(uint8_t* p, size_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum) {
  for (; n > 1; p += 2, n -= 2) sum += static_cast<uint32_t>(p[0] << 8 | p[1]);
  if (n) sum += static_cast<uint32_t>(p[0] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Classic BPF with forward labels: jumps name a label, resolved to offsets at the end.
class BpfProgram {
 public:
  using Label = size_t;
  Label label() {
    targets_.push_back(SIZE_MAX);
    return targets_.size() - 1;
  }
  void bind(Label l) { targets_[l] = code_.size(); }
  void stmt(uint16_t code, uint32_t k) { code_.push_back({BPF_STMT(code, k), SIZE_MAX, SIZE_MAX}); }
  // Jumps to `yes` when the test holds, to `no` otherwise (SIZE_MAX: the next instruction).
  void jump(uint16_t code, uint32_t k, size_t yes, size_t no) { code_.push_back({BPF_JUMP(code, k, 0, 0), yes, no}); }
  static constexpr size_t next = SIZE_MAX;
  std::vector<sock_filter> finish() const {
    std::vector<sock_filter> out;
    for (size_t i = 0; i < code_.size(); ++i) {
      sock_filter f = code_[i].insn;
      auto offset = [&](size_t l) { return l == next ? uint8_t{0} : static_cast<uint8_t>(targets_[l] - i - 1); };
      f.jt = offset(code_[i].yes);
      f.jf = offset(code_[i].no);
      out.push_back(f);
    }
    return out;
  }

 private:
  struct Insn {
    sock_filter insn;
    size_t yes, no;
  };
  std::vector<Insn> code_;
  std::vector<size_t> targets_;
};

// The classic-BPF program the packet socket runs on each packet (offsets from the IP
// header: a SOCK_DGRAM packet socket has no link header). IPv4: UDP to the prefix on one of
// `ports`, unfragmented only (IKE here never fragments at the IP layer). IPv6: to the
// prefix, UDP on one of `ports` or an extension header first (parse_udp6_packet decides).
std::vector<sock_filter> prefix_filter(const std::array<uint8_t, 16>& prefix, const std::array<uint8_t, 16>& mask,
                                       size_t address_bytes, const std::vector<uint16_t>& ports) {
  BpfProgram p;
  const auto drop = p.label(), accept = p.label(), udp = p.label();
  const bool v6 = address_bytes == 16;
  const uint32_t dst_offset = v6 ? 24 : 16;
  for (uint32_t w = 0; w < address_bytes / 4; ++w) {
    const uint32_t m = load_u32(mask.data() + 4 * w);
    if (m == 0) continue;
    p.stmt(BPF_LD | BPF_W | BPF_ABS, dst_offset + 4 * w);
    p.stmt(BPF_ALU | BPF_AND | BPF_K, m);
    p.jump(BPF_JMP | BPF_JEQ | BPF_K, load_u32(prefix.data() + 4 * w), BpfProgram::next, drop);
  }
  if (v6) {
    p.stmt(BPF_LD | BPF_B | BPF_ABS, 6);  // next header
    p.jump(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, udp, BpfProgram::next);
    for (uint32_t ext : {IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT})
      p.jump(BPF_JMP | BPF_JEQ | BPF_K, ext, accept, BpfProgram::next);
    p.stmt(BPF_RET | BPF_K, 0);
    p.bind(udp);
    p.stmt(BPF_LD | BPF_H | BPF_ABS, kIp6Header + 2);  // UDP destination port
  } else {
    p.stmt(BPF_LD | BPF_B | BPF_ABS, 9);  // protocol
    p.jump(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, BpfProgram::next, drop);
    p.stmt(BPF_LD | BPF_H | BPF_ABS, 6);  // flags, fragment offset
    p.jump(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, drop, BpfProgram::next);  // MF or an offset
    p.stmt(BPF_LDX | BPF_B | BPF_MSH, 0);  // X = header length
    p.stmt(BPF_LD | BPF_H | BPF_IND, 2);   // UDP destination port
  }
  for (uint16_t port : ports) p.jump(BPF_JMP | BPF_JEQ | BPF_K, port, accept, BpfProgram::next);
  p.bind(drop);
  p.stmt(BPF_RET | BPF_K, 0);
  p.bind(accept);
  p.stmt(BPF_RET | BPF_K, 0xffffffffu);
  return p.finish();
}

void fill_udp(uint8_t* udp, const PacketDatagram& d, size_t udp_len) {
  store_u16(udp, d.src.port);
  store_u16(udp + 2, d.dst.port);
  store_u16(udp + 4, udp_len);
  udp[6] = udp[7] = 0;
  if (!d.payload.empty()) std::memcpy(udp + kUdpHeader, d.payload.data(), d.payload.size());
}

}  // namespace

uint16_t ipv4_header_checksum(const uint8_t* header, size_t length) { return fold(sum16(header, length, 0)); }

uint16_t udp4_checksum(const uint8_t* src, const uint8_t* dst, const uint8_t* udp, size_t udp_length) {
  uint32_t sum = sum16(src, 4, 0);
  sum = sum16(dst, 4, sum);
  sum += IPPROTO_UDP;
  sum += static_cast<uint32_t>(udp_length);
  sum = sum16(udp, udp_length, sum);
  uint16_t c = fold(sum);
  return c == 0 ? 0xffff : c;  // 0 means "no checksum" in IPv4 UDP
}

uint16_t udp6_checksum(const uint8_t* src, const uint8_t* dst, const uint8_t* udp, size_t udp_length) {
  // Pseudo-header: source, destination, 32-bit upper-layer length, 24 zero bits, next header.
  uint32_t sum = sum16(src, 16, 0);
  sum = sum16(dst, 16, sum);
  sum += static_cast<uint32_t>(udp_length >> 16) + static_cast<uint32_t>(udp_length & 0xffff);
  sum += IPPROTO_UDP;
  sum = sum16(udp, udp_length, sum);
  uint16_t c = fold(sum);
  return c == 0 ? 0xffff : c;  // a zero UDP checksum is not allowed over IPv6
}

bool build_udp_packet(const PacketDatagram& d, std::vector<uint8_t>& out) {
  if (d.src.len != d.dst.len || (d.src.len != 4 && d.src.len != 16)) return false;
  const bool v6 = d.src.len == 16;
  const size_t header = v6 ? kIp6Header : kIpHeader;
  const size_t udp_len = kUdpHeader + d.payload.size();
  // IPv4: the total length field covers the header; IPv6: the payload length does not.
  if (udp_len > 65535 - (v6 ? 0 : kIpHeader)) return false;
  out.resize(header + udp_len);
  uint8_t* ip = out.data();
  uint8_t* udp = ip + header;
  fill_udp(udp, d, udp_len);
  if (v6) {
    ip[0] = 0x60;  // version 6, traffic class 0, flow label 0
    ip[1] = ip[2] = ip[3] = 0;
    store_u16(ip + 4, udp_len);
    ip[6] = IPPROTO_UDP;
    ip[7] = 64;  // hop limit
    std::memcpy(ip + 8, d.src.addr.data(), 16);
    std::memcpy(ip + 24, d.dst.addr.data(), 16);
    store_u16(udp + 6, udp6_checksum(ip + 8, ip + 24, udp, udp_len));
    return true;
  }
  ip[0] = 0x45;  // version 4, 5 words of header
  ip[1] = 0;
  store_u16(ip + 2, out.size());
  ip[4] = ip[5] = 0;  // identification: filled by the kernel (IPPROTO_RAW)
  ip[6] = 0x40;       // don't fragment
  ip[7] = 0;
  ip[8] = 64;  // TTL
  ip[9] = IPPROTO_UDP;
  ip[10] = ip[11] = 0;
  std::memcpy(ip + 12, d.src.addr.data(), 4);
  std::memcpy(ip + 16, d.dst.addr.data(), 4);
  store_u16(ip + 10, ipv4_header_checksum(ip, kIpHeader));  // the kernel fills it too; set for captures
  store_u16(udp + 6, udp4_checksum(ip + 12, ip + 16, udp, udp_len));
  return true;
}

std::optional<PacketDatagram> parse_udp6_packet(const uint8_t* ip, size_t length) {
  if (length < kIp6Header || (ip[0] >> 4) != 6) return std::nullopt;
  const size_t total = kIp6Header + load_u16(ip + 4);  // a jumbogram (length 0) is too short below
  if (total > length) return std::nullopt;
  uint8_t next = ip[6];
  size_t at = kIp6Header;
  for (uint8_t seen = 0; next != IPPROTO_UDP; ++seen) {
    // Hop-by-hop and destination options say nothing to a UDP receiver; a routing header
    // with segments left names a further destination; a fragment we do not reassemble.
    if (seen == kMaxExtensionHeaders || at + 8 > total) return std::nullopt;
    const uint8_t* ext = ip + at;
    if (next == IPPROTO_ROUTING && ext[3] != 0) return std::nullopt;
    if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS) return std::nullopt;
    if (next == IPPROTO_HOPOPTS && seen != 0) return std::nullopt;  // only first (RFC 8200 4.3)
    next = ext[0];
    at += (static_cast<size_t>(ext[1]) + 1) * 8;
  }
  if (at + kUdpHeader > total) return std::nullopt;
  const uint8_t* udp = ip + at;
  const size_t udp_len = load_u16(udp + 4);
  if (udp_len < kUdpHeader || at + udp_len > total) return std::nullopt;
  PacketDatagram d;
  d.src = IpPort::of(ByteView(ip + 8, 16), load_u16(udp));
  d.dst = IpPort::of(ByteView(ip + 24, 16), load_u16(udp + 2));
  d.payload = ByteView(udp + kUdpHeader, udp_len - kUdpHeader);
  return d;
}

void RawPrefixIoOptions::set_prefix(ByteView address, unsigned length) {
  address_bytes = static_cast<uint8_t>(address.size() == 16 ? 16 : 4);
  prefix = {};
  std::memcpy(prefix.data(), address.data(), std::min<size_t>(address.size(), address_bytes));
  prefix_length = length;
}

namespace {

// Waits (bounded) until `interface` has carrier and an IPv6 link-local address: the kernel
// sends its neighbour solicitations for the SUT from that address when the packet's source
// is not its own (ours never are), and sends none without it; and a veth's carrier comes up
// through linkwatch, up to a second after both ends are up. Until then the first burst of
// initiates would sit in the unresolved neighbour's small queue, or be lost.
Status wait_for_link_local(const std::string& interface, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return Error::sys("raw-prefix io: getifaddrs");
    bool ready = false;
    for (ifaddrs* a = list; a && !ready; a = a->ifa_next) {
      if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET6 || interface != a->ifa_name) continue;
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      ready = IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr) && (a->ifa_flags & IFF_RUNNING);
    }
    ::freeifaddrs(list);
    if (ready) return ok();
    if (std::chrono::steady_clock::now() >= until)
      return Error("raw-prefix io: " + interface + " has no running IPv6 link-local address after " +
                   std::to_string(limit.count()) + " ms (neighbour discovery needs it)");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

Result<std::unique_ptr<RawPrefixIo>> RawPrefixIo::open(EventLoop& loop, const RawPrefixIoOptions& o) {
  if (o.address_bytes != 4 && o.address_bytes != 16) return Error("raw-prefix io: addresses are 4 or 16 bytes");
  const bool v6 = o.address_bytes == 16;
  if (o.prefix_length == 0 || o.prefix_length > 8u * o.address_bytes) return Error("raw-prefix io: bad prefix length");
  if (o.ports.empty() || o.ports.size() > 8) return Error("raw-prefix io: between 1 and 8 ports");
  std::unique_ptr<RawPrefixIo> io(new RawPrefixIo(loop));
  io->opts_ = o;
  for (unsigned bit = 0; bit < o.prefix_length; ++bit) io->mask_[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
  for (size_t i = 0; i < o.address_bytes; ++i) io->prefix_[i] = o.prefix[i] & io->mask_[i];
  auto make = [&]() -> Status {
    unsigned ifindex = ::if_nametoindex(o.interface.c_str());
    if (ifindex == 0) return Error::sys("raw-prefix io: no interface '" + o.interface + "'");
    if (v6) IST_TRY(wait_for_link_local(o.interface, std::chrono::milliseconds(3000)));
    unique_fd rx(::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));  // bound below
    if (!rx) return Error::sys("raw-prefix io: AF_PACKET socket");
    auto filter = prefix_filter(io->prefix_, io->mask_, o.address_bytes, o.ports);
    sock_fprog prog{static_cast<unsigned short>(filter.size()), filter.data()};
    if (::setsockopt(rx.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0)
      return Error::sys("raw-prefix io: attaching the BPF filter");
    int one = 1;
    (void)::setsockopt(rx.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    int version = TPACKET_V2;
    if (::setsockopt(rx.get(), SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0)
      return Error::sys("raw-prefix io: TPACKET_V2");
    // Frames never straddle a block: blocks of whole pages holding whole frames.
    const uint32_t page = static_cast<uint32_t>(::sysconf(_SC_PAGESIZE));
    const uint32_t block = std::max(page, o.frame_bytes) * 4;
    tpacket_req req{};
    req.tp_block_size = block;
    req.tp_frame_size = o.frame_bytes;
    req.tp_block_nr = (o.ring_frames * o.frame_bytes + block - 1) / block;
    req.tp_frame_nr = req.tp_block_nr * (block / o.frame_bytes);
    if (o.frame_bytes < 256 || o.frame_bytes % 16 || block % o.frame_bytes)
      return Error("raw-prefix io: frame size must be a multiple of 16 that divides the block");
    if (::setsockopt(rx.get(), SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0)
      return Error::sys("raw-prefix io: PACKET_RX_RING");
    io->opts_.ring_frames = req.tp_frame_nr;
    io->ring_bytes_ = static_cast<size_t>(req.tp_block_size) * req.tp_block_nr;
    // Populated now: the ring is a constant part of the process's RSS from the start (a
    // per-peer memory figure taken as an RSS difference must not see it fill up).
    void* ring = ::mmap(nullptr, io->ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, rx.get(), 0);
    if (ring == MAP_FAILED) return Error::sys("raw-prefix io: mmap of the ring");
    io->ring_ = static_cast<uint8_t*>(ring);
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
    ll.sll_ifindex = static_cast<int>(ifindex);
    if (::bind(rx.get(), reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0)
      return Error::sys("raw-prefix io: binding to " + o.interface);

    // IPPROTO_RAW: the header is ours (IPv4: IP_HDRINCL implied; IPv6: likewise since 2.6).
    unique_fd tx(::socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW));
    if (!tx) return Error::sys(std::string("raw-prefix io: raw ") + (v6 ? "IPv6" : "IPv4") + " socket");
    int size = 4 << 20;  // a burst of initiates must not find the send buffer full
    if (::setsockopt(tx.get(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
      (void)::setsockopt(tx.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    io->rx_ = std::move(rx);
    io->tx_ = std::move(tx);
    return ok();
  };
  IST_TRY(o.run_in ? o.run_in(make) : make());
  io->queued_.resize(kBatch);
  RawPrefixIo* self = io.get();
  IST_TRY(loop.add_fd(io->rx_.get(), EPOLLIN, [self](uint32_t) { self->on_readable(); }));
  return io;
}

RawPrefixIo::~RawPrefixIo() {
  close();
  if (ring_) ::munmap(ring_, ring_bytes_);
}

bool RawPrefixIo::in_prefix(const uint8_t* addr) const {
  for (size_t i = 0; i < opts_.address_bytes; ++i)
    if ((addr[i] & mask_[i]) != prefix_[i]) return false;
  return true;
}

void RawPrefixIo::send(const PacketDatagram& d) {
  if (closed_ || !can_send_from(d.src)) {
    ++stats_.send_errors;
    return;
  }
  if (queued_count_ == kBatch) flush();
  if (!build_udp_packet(d, queued_[queued_count_])) {
    ++stats_.send_errors;
    return;
  }
  ++queued_count_;
  // Everything queued in this loop iteration leaves together.
  if (!flush_timer_) flush_timer_ = loop_.after(std::chrono::nanoseconds(0), [this] {
    flush_timer_ = 0;
    flush();
  });
}

void RawPrefixIo::flush() {
  if (flush_timer_) {
    loop_.cancel(flush_timer_);
    flush_timer_ = 0;
  }
  if (queued_count_ == 0) return;
  sockaddr_storage to[kBatch];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  const bool v6 = opts_.address_bytes == 16;
  for (size_t i = 0; i < queued_count_; ++i) {
    to[i] = sockaddr_storage{};
    socklen_t to_len;
    if (v6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&to[i]);
      in6->sin6_family = AF_INET6;  // port 0: IPPROTO_RAW takes the protocol from our header
      std::memcpy(&in6->sin6_addr, queued_[i].data() + 24, 16);
      to_len = sizeof *in6;
    } else {
      auto* in = reinterpret_cast<sockaddr_in*>(&to[i]);
      in->sin_family = AF_INET;
      std::memcpy(&in->sin_addr, queued_[i].data() + 16, 4);
      to_len = sizeof *in;
    }
    iov[i] = iovec{queued_[i].data(), queued_[i].size()};
    msgs[i] = mmsghdr{};
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = to_len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  size_t done = 0;
  while (done < queued_count_) {
    int n = ::sendmmsg(tx_.get(), msgs + done, static_cast<unsigned>(queued_count_ - done), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      ++stats_.send_errors;  // this one is lost; the rest still go
      ++done;
      continue;
    }
    stats_.sent += static_cast<uint64_t>(n);
    done += static_cast<size_t>(n);
  }
  queued_count_ = 0;
}

bool RawPrefixIo::parse_frame(const uint8_t* ip, size_t caplen, PacketDatagram& d) {
  if (opts_.address_bytes == 16) {
    // The filter let extension-header packets through unchecked: their port is checked here.
    auto parsed = parse_udp6_packet(ip, caplen);
    if (!parsed || !in_prefix(parsed->dst.addr.data()) ||
        std::find(opts_.ports.begin(), opts_.ports.end(), parsed->dst.port) == opts_.ports.end())
      return false;
    d = *parsed;
    return true;
  }
  const size_t ihl = caplen >= kIpHeader ? static_cast<size_t>(ip[0] & 0x0f) * 4 : 0;
  const size_t total = caplen >= kIpHeader ? load_u16(ip + 2) : 0;
  if (ihl < kIpHeader || total > caplen || total < ihl + kUdpHeader) return false;  // not a whole IPv4/UDP packet
  const uint8_t* udp = ip + ihl;
  const size_t udp_len = load_u16(udp + 4);
  if (udp_len < kUdpHeader || ihl + udp_len > total) return false;
  d.src = IpPort::of(ByteView(ip + 12, 4), load_u16(udp));
  d.dst = IpPort::of(ByteView(ip + 16, 4), load_u16(udp + 2));
  d.payload = ByteView(udp + kUdpHeader, udp_len - kUdpHeader);
  return true;
}

void RawPrefixIo::on_readable() {
  PacketDatagram batch[kBatch];
  uint32_t held[kBatch];  // frames behind the batch: returned to the kernel after delivery
  // At most one ring's worth per call: the other handlers get their turn.
  for (uint32_t seen = 0; seen < opts_.ring_frames && !closed_;) {
    size_t n = 0, frames = 0;
    while (frames < kBatch && seen < opts_.ring_frames) {
      auto* hdr = reinterpret_cast<tpacket2_hdr*>(ring_ + static_cast<size_t>(next_frame_) * opts_.frame_bytes);
      if (!(hdr->tp_status & TP_STATUS_USER)) break;
      __sync_synchronize();
      held[frames++] = next_frame_;
      next_frame_ = (next_frame_ + 1) % opts_.ring_frames;
      ++seen;
      // A packet truncated by the frame size, malformed, or (IPv6) behind an extension
      // header we do not take (a fragment, a routing header with segments left).
      const uint8_t* ip = reinterpret_cast<const uint8_t*>(hdr) + hdr->tp_net;
      if (hdr->tp_len != hdr->tp_snaplen || !parse_frame(ip, hdr->tp_snaplen, batch[n])) {
        ++stats_.rx_dropped;
        continue;
      }
      ++n;
    }
    if (frames == 0) break;
    if (n && receiver_) {
      stats_.received += n;
      receiver_(std::span<const PacketDatagram>(batch, n));
    } else {
      stats_.rx_dropped += n;
    }
    if (closed_) break;  // close() from the receiver: the ring stays mapped until destruction
    __sync_synchronize();
    for (size_t i = 0; i < frames; ++i)
      reinterpret_cast<tpacket2_hdr*>(ring_ + static_cast<size_t>(held[i]) * opts_.frame_bytes)->tp_status = TP_STATUS_KERNEL;
  }
}

PacketIoStats RawPrefixIo::stats() const {
  if (rx_) {
    tpacket_stats st{};
    socklen_t len = sizeof st;
    if (::getsockopt(rx_.get(), SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) ring_drops_ += st.tp_drops;
  }
  PacketIoStats s = stats_;
  s.rx_dropped += ring_drops_;
  return s;
}

void RawPrefixIo::close() {
  if (closed_) return;
  flush();
  (void)stats();  // keep the ring's drop count
  closed_ = true;
  if (rx_) loop_.remove_fd(rx_.get());
  rx_.reset();
  tx_.reset();
}

}  // namespace ist::native
