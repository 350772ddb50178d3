#pragma once
// Distro kernels ship as compressed bzImages; under TCG the kernel's own decompression of a
// ~30 MB xz payload takes most of the boot (measured: /init reached after 11.4 s from a
// bzImage, 3.7 s from the same kernel uncompressed). So the guest boots the ELF vmlinux
// inside the bzImage through its PVH entry point (qemu -kernel takes an ELF with the Xen
// PHYS32_ENTRY note), extracted once and cached.
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ist::vm {

// The compressed payload of a bzImage (from its setup header) and the decompressor for it.
struct KernelPayload {
  std::string data;          // compressed bytes, ending in the 4-byte uncompressed size
  std::string decompressor;  // "xz", "gzip" or "zstd"
};
Result<KernelPayload> kernel_payload(std::string_view bzimage);

// True when an ELF image carries the PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY).
bool has_pvh_entry(std::string_view elf);

// <cache_dir>/vmlinux-<release>-<hash of the payload>, made on first use. Errors when the
// image has no PVH entry, an unknown compression or the decompressor is missing; callers
// then boot the bzImage as it is.
Result<std::string> pvh_kernel(const std::string& bzimage_path, const std::string& release,
                               const std::string& cache_dir);

}  // namespace ist::vm
