// Infrastructure (no TypeScript reference): the thread pool (see threadpool.h).
#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "registry.h"

namespace randlab {
namespace {

class ThreadPool {
 public:
  explicit ThreadPool(int threads) : threads_(std::max(1, threads)) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { workerLoop(); });
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  int threads() const { return threads_; }

  void run(std::ptrdiff_t tasks, const std::function<void(std::ptrdiff_t)>& fn) {
    if (tasks <= 0) return;
    // A parallelFor inside a task runs inline: the pool is busy with the outer loop, and waiting
    // for it from one of its own tasks would deadlock.
    if (threads_ == 1 || tasks == 1 || insideTask) {
      for (std::ptrdiff_t t = 0; t < tasks; ++t) fn(t);
      return;
    }
    std::lock_guard<std::mutex> serial(callMutex_);  // one parallel region at a time
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      tasks_ = tasks;
      next_.store(0, std::memory_order_relaxed);
      open_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    drain(fn, tasks);
    // The caller's share is done. Close the job, so a worker that has not woken up yet skips it
    // instead of being waited for (under load a sleeping worker may wait long for a core), and
    // wait, without spinning, only for the workers that joined.
    std::unique_lock<std::mutex> lock(mutex_);
    open_ = false;
    done_.wait(lock, [this] { return active_ == 0; });
    job_ = nullptr;
  }

 private:
  void drain(const std::function<void(std::ptrdiff_t)>& fn, std::ptrdiff_t tasks) {
    insideTask = true;
    for (;;) {
      std::ptrdiff_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= tasks) break;
      fn(t);
    }
    insideTask = false;
  }

  static thread_local bool insideTask;

  void workerLoop() {
    unsigned long seen = 0;
    for (;;) {
      // Spin briefly: kernels arrive back to back during a training step.
      for (int spin = 0; spin < 20000 && generation_.load(std::memory_order_acquire) == seen; ++spin) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      const std::function<void(std::ptrdiff_t)>* job;
      std::ptrdiff_t tasks;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_acquire);
        if (stopping_) return;
        if (!open_) continue;  // the caller finished this job without us
        ++active_;
        job = job_;
        tasks = tasks_;
      }
      drain(*job, tasks);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0 && !open_) done_.notify_one();
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex callMutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<unsigned long> generation_{0};
  std::atomic<std::ptrdiff_t> next_{0};
  bool open_ = false;  // workers may still join the current job (guarded by mutex_)
  int active_ = 0;     // workers inside the current job (guarded by mutex_)
  const std::function<void(std::ptrdiff_t)>* job_ = nullptr;
  std::ptrdiff_t tasks_ = 0;
  bool stopping_ = false;
};

thread_local bool ThreadPool::insideTask = false;

int configuredThreads() {
  if (const char* env = std::getenv("RANDLAB_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool& pool() {
  // Leaked on purpose: joining threads during static destruction at process exit can deadlock.
  static ThreadPool* instance = new ThreadPool(configuredThreads());
  return *instance;
}

Napi::Value ThreadCountExport(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), threadCount()); }
RANDLAB_EXPORT(threadCount, ThreadCountExport);

}  // namespace

int threadCount() { return pool().threads(); }

void parallelFor(std::ptrdiff_t tasks, const std::function<void(std::ptrdiff_t)>& fn) { pool().run(tasks, fn); }

void parallelRange(std::ptrdiff_t total, const std::function<void(std::ptrdiff_t, std::ptrdiff_t)>& fn) {
  if (total <= 0) return;
  const std::ptrdiff_t parts = std::min<std::ptrdiff_t>(threadCount(), total);
  parallelFor(parts, [&](std::ptrdiff_t part) {
    const std::ptrdiff_t begin = total * part / parts;
    const std::ptrdiff_t end = total * (part + 1) / parts;
    fn(begin, end);
  });
}

void splitRange(Threading threading, std::ptrdiff_t total,
                const std::function<void(std::ptrdiff_t, std::ptrdiff_t)>& fn) {
  if (threading == Threading::Parallel)
    parallelRange(total, fn);
  else
    fn(0, total);
}

}  // namespace randlab
