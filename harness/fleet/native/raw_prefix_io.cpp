#include "fleet/native/raw_prefix_io.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ist::native {

namespace {

constexpr size_t kIpHeader = 20;
constexpr size_t kUdpHeader = 8;

uint32_t load_u32(const uint8_t* p) { return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum) {
  for (; n > 1; p += 2, n -= 2) sum += static_cast<uint32_t>(p[0] << 8 | p[1]);
  if (n) sum += static_cast<uint32_t>(p[0] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// The classic-BPF program the packet socket runs on each packet (offsets from the IPv4
// header: a SOCK_DGRAM packet socket has no link header). Accepts UDP to the prefix on one
// of `ports`, unfragmented only (IKE here never fragments at the IP layer).
std::vector<sock_filter> prefix_filter(uint32_t prefix, uint32_t mask, const std::vector<uint16_t>& ports) {
  std::vector<sock_filter> f;
  const auto n = static_cast<uint8_t>(ports.size());
  // Jump offsets count from the next instruction; the last two instructions are "drop"
  // (where a packet matching no port falls through to) and "accept".
  auto to_end = [&](size_t here, size_t total, bool accept) {
    return static_cast<uint8_t>((accept ? total - 1 : total - 2) - (here + 1));
  };
  const size_t total = 9 + n + 2;
  f.push_back(BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9));                                       // 0 protocol
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, to_end(1, total, false)));  // 1
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16));                                      // 2 destination
  f.push_back(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask));                                   // 3
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, prefix, 0, to_end(4, total, false)));     // 4
  f.push_back(BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6));                                       // 5 flags, offset
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, to_end(6, total, false), 0));    // 6 MF or offset
  f.push_back(BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0));                                      // 7 X = header length
  f.push_back(BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2));                                       // 8 UDP dst port
  for (size_t i = 0; i < n; ++i) {
    size_t here = 9 + i;
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ports[i], to_end(here, total, true), 0));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, 0));            // drop
  f.push_back(BPF_STMT(BPF_RET | BPF_K, 0xffffffffu));  // accept
  return f;
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

Result<std::unique_ptr<RawPrefixIo>> RawPrefixIo::open(EventLoop& loop, const RawPrefixIoOptions& o) {
  if (o.prefix_length == 0 || o.prefix_length > 32) return Error("raw-prefix io: bad prefix length");
  if (o.ports.empty() || o.ports.size() > 8) return Error("raw-prefix io: between 1 and 8 ports");
  std::unique_ptr<RawPrefixIo> io(new RawPrefixIo(loop));
  io->opts_ = o;
  io->mask_ = o.prefix_length == 32 ? 0xffffffffu : ~(0xffffffffu >> o.prefix_length);
  io->prefix_ = load_u32(o.prefix.data()) & io->mask_;
  auto make = [&]() -> Status {
    unsigned ifindex = ::if_nametoindex(o.interface.c_str());
    if (ifindex == 0) return Error::sys("raw-prefix io: no interface '" + o.interface + "'");
    unique_fd rx(::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));  // bound below
    if (!rx) return Error::sys("raw-prefix io: AF_PACKET socket");
    auto filter = prefix_filter(io->prefix_, io->mask_, o.ports);
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
    ll.sll_protocol = htons(ETH_P_IP);
    ll.sll_ifindex = static_cast<int>(ifindex);
    if (::bind(rx.get(), reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0)
      return Error::sys("raw-prefix io: binding to " + o.interface);

    unique_fd tx(::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW));
    if (!tx) return Error::sys("raw-prefix io: raw IPv4 socket");
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

bool RawPrefixIo::in_prefix(const uint8_t* addr) const { return (load_u32(addr) & mask_) == prefix_; }

void RawPrefixIo::send(const PacketDatagram& d) {
  if (closed_ || d.src.len != 4 || d.dst.len != 4 || !in_prefix(d.src.addr.data()) ||
      d.payload.size() > 65535 - kIpHeader - kUdpHeader) {
    ++stats_.send_errors;
    return;
  }
  if (queued_count_ == kBatch) flush();
  auto& pkt = queued_[queued_count_++];
  const size_t udp_len = kUdpHeader + d.payload.size();
  const size_t total = kIpHeader + udp_len;
  pkt.resize(total);
  uint8_t* ip = pkt.data();
  ip[0] = 0x45;  // version 4, 5 words of header
  ip[1] = 0;
  ip[2] = static_cast<uint8_t>(total >> 8);
  ip[3] = static_cast<uint8_t>(total);
  ip[4] = ip[5] = 0;  // identification: filled by the kernel (IPPROTO_RAW)
  ip[6] = 0x40;       // don't fragment
  ip[7] = 0;
  ip[8] = 64;  // TTL
  ip[9] = IPPROTO_UDP;
  ip[10] = ip[11] = 0;
  std::memcpy(ip + 12, d.src.addr.data(), 4);
  std::memcpy(ip + 16, d.dst.addr.data(), 4);
  uint16_t hc = ipv4_header_checksum(ip, kIpHeader);  // the kernel fills it too; set for captures
  ip[10] = static_cast<uint8_t>(hc >> 8);
  ip[11] = static_cast<uint8_t>(hc);
  uint8_t* udp = ip + kIpHeader;
  udp[0] = static_cast<uint8_t>(d.src.port >> 8);
  udp[1] = static_cast<uint8_t>(d.src.port);
  udp[2] = static_cast<uint8_t>(d.dst.port >> 8);
  udp[3] = static_cast<uint8_t>(d.dst.port);
  udp[4] = static_cast<uint8_t>(udp_len >> 8);
  udp[5] = static_cast<uint8_t>(udp_len);
  udp[6] = udp[7] = 0;
  if (!d.payload.empty()) std::memcpy(udp + kUdpHeader, d.payload.data(), d.payload.size());
  uint16_t uc = udp4_checksum(ip + 12, ip + 16, udp, udp_len);
  udp[6] = static_cast<uint8_t>(uc >> 8);
  udp[7] = static_cast<uint8_t>(uc);
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
  sockaddr_in to[kBatch];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  for (size_t i = 0; i < queued_count_; ++i) {
    to[i] = sockaddr_in{};
    to[i].sin_family = AF_INET;
    std::memcpy(&to[i].sin_addr, queued_[i].data() + 16, 4);
    iov[i] = iovec{queued_[i].data(), queued_[i].size()};
    msgs[i] = mmsghdr{};
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = sizeof to[i];
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
      const uint8_t* ip = reinterpret_cast<const uint8_t*>(hdr) + hdr->tp_net;
      const size_t caplen = hdr->tp_snaplen;
      const size_t ihl = caplen >= kIpHeader ? static_cast<size_t>(ip[0] & 0x0f) * 4 : 0;
      const size_t total = caplen >= kIpHeader ? static_cast<size_t>(ip[2] << 8 | ip[3]) : 0;
      if (hdr->tp_len != hdr->tp_snaplen || ihl < kIpHeader || total > caplen || total < ihl + kUdpHeader) {
        ++stats_.rx_dropped;  // truncated by the frame size, or not a whole IPv4/UDP packet
        continue;
      }
      const uint8_t* udp = ip + ihl;
      const size_t udp_len = static_cast<size_t>(udp[4] << 8 | udp[5]);
      if (udp_len < kUdpHeader || ihl + udp_len > total) {
        ++stats_.rx_dropped;
        continue;
      }
      PacketDatagram& d = batch[n++];
      d.src = IpPort::of(ByteView(ip + 12, 4), static_cast<uint16_t>(udp[0] << 8 | udp[1]));
      d.dst = IpPort::of(ByteView(ip + 16, 4), static_cast<uint16_t>(udp[2] << 8 | udp[3]));
      d.payload = ByteView(udp + kUdpHeader, udp_len - kUdpHeader);
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
