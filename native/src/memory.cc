// Implements src/kernels/reference/memory.ts (allocateFloat32).
//
// allocateLarge and the allocateFloat32 export (Kernels.allocateFloat32): tensors' buffers,
// large ones in huge pages (see memory.h).
#include "memory.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "kernel_args.h"

namespace randlab {
namespace {

#if defined(__linux__)
bool mappedInHugePages(std::size_t bytes) { return bytes >= kHugePageBytes; }

std::size_t pageRounded(std::size_t bytes) {
  constexpr std::size_t kPage = 4096;
  return (bytes + kPage - 1) / kPage * kPage;
}

// An anonymous mapping (zero-filled by the kernel, no page touched yet) starting on a 2 MiB
// boundary: map 2 MiB more than needed and unmap the unaligned head and the tail. The advice
// comes before the first touch, so the first fault of each 2 MiB region can take a huge page.
void* mapHugePageAligned(std::size_t bytes) {
  const std::size_t length = pageRounded(bytes);
  void* raw = mmap(nullptr, length + kHugePageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePageBytes - 1) & ~(std::uintptr_t{kHugePageBytes} - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const std::uintptr_t end = start + length + kHugePageBytes;
  if (end > aligned + length) munmap(reinterpret_cast<void*>(aligned + length), end - aligned - length);
  // Without THP (or with it off) the advice fails or is ignored and the mapping uses 4 KiB pages.
  madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}
#else
bool mappedInHugePages(std::size_t) { return false; }
#endif

void* allocateAligned(std::size_t bytes) {
  void* p = std::aligned_alloc(kBufferAlignment, (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment);
  if (p != nullptr) std::memset(p, 0, bytes);
  return p;
}

}  // namespace

void* allocateLarge(std::size_t bytes) {
#if defined(__linux__)
  if (mappedInHugePages(bytes)) return mapHugePageAligned(bytes);
#endif
  return allocateAligned(bytes == 0 ? 1 : bytes);
}

void releaseLarge(void* pointer, std::size_t bytes) {
  if (pointer == nullptr) return;
#if defined(__linux__)
  if (mappedInHugePages(bytes)) {
    munmap(pointer, pageRounded(bytes));
    return;
  }
#endif
  std::free(pointer);
}

// allocateFloat32(length) — a zero-filled Float32Array; one of at least 2 MiB lies in its own
// huge-page mapping, freed when the array is collected. Smaller ones are ordinary V8 arrays.
RANDLAB_KERNEL(allocateFloat32) {
  const std::int64_t length = args.integer(0, "length");
  const std::size_t bytes = static_cast<std::size_t>(length) * sizeof(float);
  napi_env env = args.env();
  if (!mappedInHugePages(bytes)) return Napi::Float32Array::New(env, static_cast<std::size_t>(length));
  void* data = allocateLarge(bytes);
  if (data == nullptr) throw std::bad_alloc();
  napi_value buffer;
  const napi_status status = napi_create_external_arraybuffer(
      env, data, bytes,
      [](napi_env finalizeEnv, void* finalized, void* hint) {
        const auto size = reinterpret_cast<std::size_t>(hint);
        releaseLarge(finalized, size);
        std::int64_t unused;
        napi_adjust_external_memory(finalizeEnv, -static_cast<std::int64_t>(size), &unused);
      },
      reinterpret_cast<void*>(bytes), &buffer);
  if (status != napi_ok) {
    // A runtime that forbids external buffers (V8 sandbox): an ordinary array instead.
    releaseLarge(data, bytes);
    return Napi::Float32Array::New(env, static_cast<std::size_t>(length));
  }
  // V8 does not count memory it did not allocate when deciding to collect: without this, dropped
  // arrays piled up to 12 GB (3000 × 4 MiB in a loop) before a collection freed them.
  std::int64_t unused;
  napi_adjust_external_memory(env, static_cast<std::int64_t>(bytes), &unused);
  return Napi::Float32Array::New(env, static_cast<std::size_t>(length), Napi::ArrayBuffer(env, buffer), 0);
}

// bufferAddress(array) — where an array's data lies, for tests that look the mapping up in
// /proc/self/smaps (a Number: addresses fit in 53 bits on x86-64 and arm64 user space).
RANDLAB_KERNEL(bufferAddress) {
  const auto array = args.f32(0, "array");
  return args.result(static_cast<double>(reinterpret_cast<std::uintptr_t>(array.data)));
}

}  // namespace randlab
