// Infrastructure (no TypeScript reference): the per-thread scratch memory (see workspace.h).
#include "workspace.h"

#include <new>

#include "memory.h"

namespace randlab {
namespace {

struct Buffer {
  float* data = nullptr;
  std::size_t capacity = 0;  // in floats
  std::size_t bytes = 0;     // allocated
  ~Buffer() { releaseLarge(data, bytes); }
};

struct ThreadWorkspace {
  Buffer slots[static_cast<int>(WorkspaceSlot::Count)];
};

thread_local ThreadWorkspace threadWorkspace;

}  // namespace

float* workspace(WorkspaceSlot slot, std::size_t count) {
  Buffer& buffer = threadWorkspace.slots[static_cast<int>(slot)];
  if (count <= buffer.capacity && buffer.data != nullptr) return buffer.data;
  // Grow by at least 1.5x so a slowly growing sequence of shapes does not reallocate each call;
  // pad by a cache line so vector loads that run past the last element stay inside the block.
  std::size_t capacity = count > buffer.capacity + buffer.capacity / 2 ? count : buffer.capacity + buffer.capacity / 2;
  std::size_t bytes =
      (capacity * sizeof(float) + kBufferAlignment) / kBufferAlignment * kBufferAlignment + kBufferAlignment;
  // Large scratch (im2col columns, packed panels of big products) in huge pages, like tensors.
  void* fresh = allocateLarge(bytes);
  if (fresh == nullptr) throw std::bad_alloc();
  releaseLarge(buffer.data, buffer.bytes);
  buffer.data = static_cast<float*>(fresh);
  buffer.capacity = capacity;
  buffer.bytes = bytes;
  return buffer.data;
}

}  // namespace randlab
