// Infrastructure (no TypeScript reference).
//
// Parallel loops over the thread pool (threadpool.h) whose chunks run compiled for the active SIMD
// level (simd_dispatch.h): parallelChunks for a range of elements, parallelTasks for a number of
// independent tasks (channels, planes, rows).
#pragma once
#include <algorithm>
#include <cstddef>

#include "simd_dispatch.h"
#include "threadpool.h"

namespace randlab {

// The smallest share of a memory-bound loop worth handing to another thread: 32 Ki elements are
// ~10 µs of streaming at one core's bandwidth, several times a hand-off to a spinning worker.
// (On a machine whose cores are busy with other processes even large loops gain little: the pool
// waits for every worker to wake.)
constexpr std::ptrdiff_t kElementwiseGrain = 1 << 15;  // elements per thread, at least

// body(begin, end) over [0, total) in contiguous chunks, chunk starts aligned to 16 elements (a
// cache line of floats). Below 2·minPerThread elements it runs on the calling thread alone; above,
// in up to 4 chunks per thread (each at least minPerThread / 2), handed out dynamically so a
// thread that another process delays does not hold the others up.
template <class Body>
void parallelChunks(std::ptrdiff_t total, std::ptrdiff_t minPerThread, Body&& body) {
  if (total <= 0) return;
  const std::ptrdiff_t threads = threadCount();
  minPerThread = std::max<std::ptrdiff_t>(1, minPerThread);
  if (threads == 1 || total < 2 * minPerThread) {
    simdDispatch([&] { body(std::ptrdiff_t{0}, total); });
    return;
  }
  const std::ptrdiff_t chunks =
      std::min<std::ptrdiff_t>(4 * threads, std::max<std::ptrdiff_t>(2, 2 * total / minPerThread));
  parallelFor(chunks, [&](std::ptrdiff_t chunk) {
    const auto boundary = [&](std::ptrdiff_t c) {
      return c == chunks ? total : (total * c / chunks) & ~std::ptrdiff_t{15};
    };
    const std::ptrdiff_t begin = boundary(chunk), end = boundary(chunk + 1);
    if (begin < end) simdDispatch([&] { body(begin, end); });
  });
}

// body(task) for task in [0, tasks) (e.g. one per channel or plane), on the pool when the total
// work (in elements) is worth it, else in one loop on the calling thread. Tasks are handed out in
// a few chunks per thread so a thread slowed by another process does not hold up the rest.
template <class Body>
void parallelTasks(std::ptrdiff_t tasks, std::ptrdiff_t totalWork, Body&& body) {
  if (tasks <= 0) return;
  const auto runTasks = [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    simdDispatch([&] {
      for (std::ptrdiff_t task = begin; task < end; ++task) body(task);
    });
  };
  const int threads = threadCount();
  if (tasks == 1 || threads == 1 || totalWork < 2 * kElementwiseGrain) {
    runTasks(0, tasks);
    return;
  }
  const std::ptrdiff_t chunks = std::min<std::ptrdiff_t>(tasks, std::ptrdiff_t{4} * threads);
  parallelFor(chunks, [&](std::ptrdiff_t chunk) { runTasks(tasks * chunk / chunks, tasks * (chunk + 1) / chunks); });
}

}  // namespace randlab
