// Infrastructure (no TypeScript reference).
//
// A persistent pool of worker threads shared by all kernels.
//
// parallelFor(tasks, fn) runs fn(task) for task in [0, tasks) on the workers and on the calling
// thread, and returns when all are done. Threads are created once; idle workers sleep on a
// condition variable (after a short spin, so back-to-back kernels do not pay a wake-up each),
// and the calling (JavaScript) thread blocks rather than spins once its own share is done. Tasks are
// claimed dynamically, and a worker that has not woken up by the time the tasks run out is not
// waited for (a parallelFor inside a task runs inline).
#pragma once
#include <cstddef>
#include <functional>

namespace randlab {

// Number of threads that take part in a parallelFor, the caller included (>= 1).
// Defaults to the hardware concurrency; RANDLAB_THREADS overrides it.
int threadCount();

void parallelFor(std::ptrdiff_t tasks, const std::function<void(std::ptrdiff_t)>& fn);

// Splits [0, total) into one contiguous range per thread: fn(begin, end).
void parallelRange(std::ptrdiff_t total, const std::function<void(std::ptrdiff_t, std::ptrdiff_t)>& fn);

// Whether a kernel may use the pool (Parallel) or is already inside a parallel region (Serial).
enum class Threading { Parallel, Serial };

// fn(begin, end) over [0, total): parallelRange, or in one piece on this thread when Serial.
void splitRange(Threading threading, std::ptrdiff_t total,
                const std::function<void(std::ptrdiff_t, std::ptrdiff_t)>& fn);

}  // namespace randlab
