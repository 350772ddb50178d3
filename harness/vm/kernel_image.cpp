#include "vm/kernel_image.hpp"

#include <elf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/child_process.hpp"
#include "common/file_write.hpp"
#include "vm/initramfs.hpp"

namespace fs = std::filesystem;

namespace ist::vm {
namespace {

template <class T>
bool read_at(std::string_view data, std::size_t off, T& out) {
  if (off > data.size() || data.size() - off < sizeof(T)) return false;
  std::memcpy(&out, data.data() + off, sizeof(T));
  return true;
}

std::string fnv_hex(std::string_view data) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

constexpr std::uint32_t kXenElfnotePhys32Entry = 18;

}  // namespace

Result<KernelPayload> kernel_payload(std::string_view image) {
  if (image.size() < 0x260 || image.substr(0x202, 4) != "HdrS") return Error("not a bzImage (no HdrS setup header)");
  std::uint8_t setup_sects = static_cast<std::uint8_t>(image[0x1f1]);
  if (setup_sects == 0) setup_sects = 4;  // boot protocol: 0 means 4
  std::uint32_t offset = 0, length = 0;
  read_at(image, 0x248, offset);
  read_at(image, 0x24c, length);
  const std::size_t start = (static_cast<std::size_t>(setup_sects) + 1) * 512 + offset;
  if (length < 8 || start > image.size() || image.size() - start < length)
    return Error("the bzImage's payload lies outside the file");
  KernelPayload p;
  p.data = std::string(image.substr(start, length));
  if (p.data.compare(0, 6, "\xfd" "7zXZ\0", 6) == 0) p.decompressor = "xz";
  else if (p.data.compare(0, 2, "\x1f\x8b") == 0) p.decompressor = "gzip";
  else if (p.data.compare(0, 4, "\x28\xb5\x2f\xfd") == 0) p.decompressor = "zstd";
  else return Error("the bzImage's payload uses a compression this harness does not unpack");
  return p;
}

bool has_pvh_entry(std::string_view elf) {
  Elf64_Ehdr eh{};
  if (!read_at(elf, 0, eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
    return false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    if (!read_at(elf, eh.e_phoff + static_cast<std::size_t>(i) * sizeof ph, ph)) return false;
    if (ph.p_type != PT_NOTE) continue;
    std::size_t off = ph.p_offset;
    const std::size_t end = ph.p_offset + ph.p_filesz;
    while (off + sizeof(Elf64_Nhdr) <= end) {
      Elf64_Nhdr nh{};
      if (!read_at(elf, off, nh)) return false;
      std::size_t name_off = off + sizeof nh;
      std::size_t desc_off = name_off + ((nh.n_namesz + 3) & ~3u);
      if (nh.n_namesz == 4 && name_off + 4 <= elf.size() && elf.substr(name_off, 4) == std::string_view("Xen\0", 4) &&
          nh.n_type == kXenElfnotePhys32Entry)
        return true;
      off = desc_off + ((nh.n_descsz + 3) & ~3u);
    }
  }
  return false;
}

Result<std::string> pvh_kernel(const std::string& bzimage_path, const std::string& release,
                               const std::string& cache_dir) {
  std::ifstream in(bzimage_path, std::ios::binary);
  if (!in) return Error::sys("reading " + bzimage_path);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string image = ss.str();
  IST_TRY_ASSIGN(auto payload, kernel_payload(image));
  const std::string path = cache_dir + "/vmlinux-" + release + "-" + fnv_hex(payload.data);
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;
  fs::create_directories(cache_dir, ec);

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const std::string compressed = tmp + ".in";
  IST_TRY(write_file_atomic(compressed, payload.data));
  SpawnOptions so;
  so.argv = {"/usr/bin/" + payload.decompressor, "-dcq"};
  if (payload.decompressor == "xz") so.argv.push_back("--single-stream");  // the size trailer is not xz
  so.argv.push_back(compressed);
  so.stdout_path = tmp;
  so.stderr_path = tmp + ".err";
  auto child = ChildProcess::spawn(so);
  auto cleanup = [&] {
    for (const auto& f : {compressed, tmp, tmp + ".err"}) ::unlink(f.c_str());
  };
  if (!child) {
    cleanup();
    return std::move(child).error().wrap("unpacking the kernel with " + payload.decompressor);
  }
  auto st = child->wait_for(std::chrono::seconds(120));
  if (!st) child->stop(std::chrono::seconds(1));
  // The kernel build appends the uncompressed size: a whole unpack has exactly that size.
  std::uint32_t expected = 0;
  read_at(payload.data, payload.data.size() - 4, expected);
  const auto size = fs::file_size(tmp, ec);
  if (!st || ec || size != expected) {
    cleanup();
    return Error(payload.decompressor + " did not unpack the kernel (" + (st ? st->describe() : "timed out") +
                 ", " + std::to_string(ec ? 0 : size) + " of " + std::to_string(expected) + " bytes)");
  }
  std::ifstream elf_in(tmp, std::ios::binary);
  std::ostringstream elf;
  elf << elf_in.rdbuf();
  if (!has_pvh_entry(elf.str())) {
    cleanup();
    return Error("the kernel has no PVH entry point (CONFIG_PVH)");
  }
  ::unlink(compressed.c_str());
  ::unlink((tmp + ".err").c_str());
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error::sys("renaming " + tmp, e);
  }
  prune_cache(cache_dir, "vmlinux-" + release + "-", 2);
  return path;
}

}  // namespace ist::vm
