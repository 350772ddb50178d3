// The vm library's pure parts: the control protocol's framing, module dependency order from
// modules.dep, the newc cpio writer, and the kernel release in a bzImage header.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>

#include <cstdio>
#include <fstream>

#include "vm/guest.hpp"
#include "vm/initramfs.hpp"
#include "vm/kernel_image.hpp"
#include "vm/protocol.hpp"

namespace ist::vm {
namespace {

TEST(VmProtocol, MessagesRoundTripWhateverTheChunking) {
  const std::vector<proto::Message> msgs = {
      {proto::kHello, 1, {}},
      {proto::kExec, 2, {"1000", "65536", "/bin/sh", "-c", "echo hi"}},
      {proto::kWriteFile, 3, {"/run/x", "644", std::string("a\0b", 3)}},
      {proto::kOk, 4, {"", std::string(100000, 'x'), "ISTV inside a field"}},
  };
  std::string stream;
  for (const auto& m : msgs) stream += proto::encode(m);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{4096}, stream.size()}) {
    SCOPED_TRACE(chunk);
    proto::Decoder d;
    std::vector<proto::Message> got;
    for (std::size_t off = 0; off < stream.size(); off += chunk) {
      d.feed(stream.data() + off, std::min(chunk, stream.size() - off));
      while (auto m = d.next()) got.push_back(*m);
    }
    ASSERT_EQ(got.size(), msgs.size());
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      EXPECT_EQ(got[i].type, msgs[i].type);
      EXPECT_EQ(got[i].id, msgs[i].id);
      EXPECT_EQ(got[i].fields, msgs[i].fields);
    }
    EXPECT_EQ(d.skipped(), 0u);
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(VmProtocol, GarbageAndTornFramesAreSkipped) {
  const auto good = proto::encode({proto::kOk, 9, {"release"}});
  struct Case {
    const char* name;
    std::string prefix;
  };
  const std::vector<Case> cases = {
      {"noise", "hello world\n"},
      {"torn frame", good.substr(0, good.size() - 3)},
      {"absurd length", std::string("ISTV\xff\xff\xff\x7f", 8)},
      {"bad checksum", [&] {
         auto f = proto::encode({proto::kOk, 8, {"other"}});
         f[8] ^= 1;
         return f;
       }()},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    proto::Decoder d;
    const std::string stream = c.prefix + good;
    d.feed(stream.data(), stream.size());
    auto m = d.next();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->id, 9u);
    ASSERT_EQ(m->fields.size(), 1u);
    EXPECT_EQ(m->fields[0], "release");
    EXPECT_GT(d.skipped(), 0u);
    EXPECT_FALSE(d.next().has_value());
  }
}

TEST(VmProtocol, NumbersAreParsedStrictly) {
  std::uint64_t u = 0;
  std::int64_t i = 0;
  EXPECT_TRUE(proto::parse_u64("12345", u));
  EXPECT_EQ(u, 12345u);
  EXPECT_FALSE(proto::parse_u64("", u));
  EXPECT_FALSE(proto::parse_u64("12x", u));
  EXPECT_FALSE(proto::parse_u64("-1", u));
  EXPECT_TRUE(proto::parse_i64("-1", i));
  EXPECT_EQ(i, -1);
}

const char* kModulesDep =
    "kernel/drivers/virtio/virtio_ring.ko:\n"
    "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko "
    "kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko:\n"
    "kernel/net/xfrm/xfrm_algo.ko:\n"
    "kernel/net/ipv4/esp4.ko: kernel/net/xfrm/xfrm_algo.ko\n"
    "kernel/crypto/ghash-generic.ko.xz: kernel/crypto/gf128mul.ko.xz\n"
    "kernel/crypto/gf128mul.ko.xz:\n";
const char* kModulesBuiltin = "kernel/crypto/cbc.ko\nkernel/crypto/hmac.ko\n";

TEST(VmModules, LoadOrderPutsDependenciesFirstOnce) {
  auto idx = ModuleIndex::parse(kModulesDep, kModulesBuiltin);
  struct Case {
    std::vector<std::string> names;
    std::vector<std::string> order;
  };
  const std::vector<Case> cases = {
      {{"esp4"}, {"kernel/net/xfrm/xfrm_algo.ko", "kernel/net/ipv4/esp4.ko"}},
      {{"virtio_pci", "virtio"},
       {"kernel/drivers/virtio/virtio_pci_modern_dev.ko", "kernel/drivers/virtio/virtio_ring.ko",
        "kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_pci.ko"}},
      {{"cbc", "hmac"}, {}},  // built in: nothing to load
      {{"ghash_generic"}, {"kernel/crypto/gf128mul.ko.xz", "kernel/crypto/ghash-generic.ko.xz"}},
      {{"ghash-generic"}, {"kernel/crypto/gf128mul.ko.xz", "kernel/crypto/ghash-generic.ko.xz"}},
  };
  for (const auto& c : cases) {
    auto order = idx.load_order(c.names);
    ASSERT_TRUE(order.ok()) << order.error().describe();
    EXPECT_EQ(*order, c.order);
  }
  auto missing = idx.load_order({"esp4", "no_such_module"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no_such_module"), std::string::npos);
}

TEST(VmModules, NamesFromPaths) {
  EXPECT_EQ(ModuleIndex::module_name("kernel/crypto/ghash-generic.ko.xz"), "ghash_generic");
  EXPECT_EQ(ModuleIndex::module_name("esp4.ko"), "esp4");
  EXPECT_EQ(ModuleIndex::module_name("kernel/fs/9p/9p.ko"), "9p");
}

// Reads back a newc archive: (name, mode, size, rdev major, minor, data) per entry.
struct CpioEntry {
  std::string name;
  unsigned mode = 0, rmajor = 0, rminor = 0;
  std::string data;
};
std::vector<CpioEntry> read_cpio(const std::string& a) {
  std::vector<CpioEntry> out;
  std::size_t off = 0;
  auto field = [&](std::size_t i) { return static_cast<unsigned>(std::stoul(a.substr(off + 6 + 8 * i, 8), nullptr, 16)); };
  while (off + 110 <= a.size()) {
    EXPECT_EQ(a.substr(off, 6), "070701");
    CpioEntry e;
    e.mode = field(1);
    unsigned size = field(6);
    e.rmajor = field(9);
    e.rminor = field(10);
    unsigned namesize = field(11);
    e.name = a.substr(off + 110, namesize - 1);
    off = (off + 110 + namesize + 3) & ~std::size_t{3};
    e.data = a.substr(off, size);
    off = (off + size + 3) & ~std::size_t{3};
    if (e.name == "TRAILER!!!") {
      EXPECT_EQ(off, a.size());
      return out;
    }
    out.push_back(e);
  }
  ADD_FAILURE() << "no trailer";
  return out;
}

TEST(VmCpio, NewcArchiveHoldsDirsFilesAndDevices) {
  CpioWriter w;
  w.add_dir("bin");
  w.add_file("bin/busybox", "ELF....", 0755);
  w.add_file("init", "#!/bin/sh\n");  // odd sizes exercise the padding
  w.add_char_device("dev/console", 5, 1);
  auto entries = read_cpio(w.finish());
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].name, "bin");
  EXPECT_EQ(entries[0].mode, 040755u);
  EXPECT_EQ(entries[1].name, "bin/busybox");
  EXPECT_EQ(entries[1].mode, 0100755u);
  EXPECT_EQ(entries[1].data, "ELF....");
  EXPECT_EQ(entries[2].data, "#!/bin/sh\n");
  EXPECT_EQ(entries[2].mode, 0100644u);
  EXPECT_EQ(entries[3].mode, 020600u);
  EXPECT_EQ(entries[3].rmajor, 5u);
  EXPECT_EQ(entries[3].rminor, 1u);
}

TEST(VmKernel, ReleaseIsReadFromTheSetupHeader) {
  const std::string path = ::testing::TempDir() + "/vm_test_bzimage";
  std::string image(0x400, '\0');
  image.replace(0x202, 4, "HdrS");
  image[0x20E] = 0x00;  // kernel_version = 0x100 -> string at 0x300
  image[0x20F] = 0x01;
  const std::string version = "6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP";
  image.replace(0x300, version.size(), version);
  std::ofstream(path, std::ios::binary) << image;
  auto r = kernel_release_of(path);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(*r, "6.1.0-56-amd64");

  std::ofstream(path, std::ios::binary) << std::string(0x400, 'x');
  EXPECT_FALSE(kernel_release_of(path).ok());
  EXPECT_FALSE(kernel_release_of(path + ".missing").ok());
  std::remove(path.c_str());
}

// A bzImage whose payload (after setup_sects + 1 sectors, at payload_offset) is `payload`.
std::string fake_bzimage(const std::string& payload) {
  std::string image(0x1000, '\0');
  image.replace(0x202, 4, "HdrS");
  image[0x1f1] = 3;  // setup sectors: the protected-mode part starts at 4 * 512
  const std::uint32_t offset = 0x100, length = static_cast<std::uint32_t>(payload.size());
  std::memcpy(&image[0x248], &offset, 4);
  std::memcpy(&image[0x24c], &length, 4);
  image.replace(4 * 512 + offset, payload.size(), payload);
  return image;
}

TEST(VmKernel, PayloadAndItsCompressionComeFromTheSetupHeader) {
  struct Case {
    std::string payload;
    std::string decompressor;  // "" = refused
  };
  const std::vector<Case> cases = {
      {std::string("\xfd" "7zXZ\0" "xz-data....", 17), "xz"},
      {std::string("\x1f\x8b" "gzip-data", 11), "gzip"},
      {std::string("\x28\xb5\x2f\xfd" "zstd....", 12), "zstd"},
      {std::string("LZ4?data.....", 13), ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.decompressor);
    auto p = kernel_payload(fake_bzimage(c.payload));
    if (c.decompressor.empty()) {
      EXPECT_FALSE(p.ok());
      continue;
    }
    ASSERT_TRUE(p.ok()) << p.error().describe();
    EXPECT_EQ(p->decompressor, c.decompressor);
    EXPECT_EQ(p->data, c.payload);
  }
  EXPECT_FALSE(kernel_payload(std::string(0x1000, 'x')).ok());
  auto past_end = fake_bzimage("\x1f\x8b....");
  const std::uint32_t huge = 0x100000;
  std::memcpy(&past_end[0x24c], &huge, 4);
  EXPECT_FALSE(kernel_payload(past_end).ok());
}

// An ELF64 with one PT_NOTE holding the notes given as (name, type).
std::string fake_elf(const std::vector<std::pair<std::string, std::uint32_t>>& notes) {
  std::string notes_blob;
  for (const auto& [name, type] : notes) {
    Elf64_Nhdr nh{static_cast<Elf64_Word>(name.size() + 1), 4, type};
    notes_blob.append(reinterpret_cast<const char*>(&nh), sizeof nh);
    std::string n = name + '\0';
    n.resize((n.size() + 3) & ~std::size_t{3}, '\0');
    notes_blob += n + std::string(4, '\x11');
  }
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_phoff = sizeof eh;
  eh.e_phnum = 1;
  Elf64_Phdr ph{};
  ph.p_type = PT_NOTE;
  ph.p_offset = sizeof eh + sizeof ph;
  ph.p_filesz = notes_blob.size();
  std::string out(reinterpret_cast<const char*>(&eh), sizeof eh);
  out.append(reinterpret_cast<const char*>(&ph), sizeof ph);
  return out + notes_blob;
}

TEST(VmKernel, PvhEntryNoteIsFound) {
  EXPECT_TRUE(has_pvh_entry(fake_elf({{"Xen", 6}, {"Xen", 18}})));
  EXPECT_FALSE(has_pvh_entry(fake_elf({{"Xen", 6}, {"GNU", 18}})));
  EXPECT_FALSE(has_pvh_entry(fake_elf({})));
  EXPECT_FALSE(has_pvh_entry("not an elf"));
}

}  // namespace
}  // namespace ist::vm
