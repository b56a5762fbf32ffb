// What a kernel export needs besides its arithmetic: reading typed arrays, numbers and the params
// object from JavaScript with errors that name the argument, and running a loop on the thread pool
// compiled for the active SIMD level.
//
//   RANDLAB_KERNEL(reluForward) {
//     const auto x = args.f32(0, "x");
//     const auto y = args.f32(1, "y");
//     args.requireLength(y, x.length, "y", "x.length");
//     parallelChunks(x.length, kElementwiseGrain, [&](std::ptrdiff_t begin, std::ptrdiff_t end) { ... });
//     return args.undefined();
//   }
//
// A reader that finds a bad argument throws ArgumentError; RANDLAB_KERNEL turns it into a JS
// TypeError "reluForward: y has 5 elements, expected 6 (x.length)". Never throw from inside a
// parallel region: pool threads do not propagate exceptions.
#pragma once
#include <napi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cpu_features.h"
#include "registry.h"
#include "threadpool.h"

namespace randlab {

struct ArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename T>
struct ArrayArg {
  T* data;
  std::size_t length;
};

namespace detail {

inline std::string formatNumber(double value) {
  std::string text = std::to_string(value);
  if (text.find('.') != std::string::npos) {
    while (!text.empty() && text.back() == '0') text.pop_back();
    if (!text.empty() && text.back() == '.') text.pop_back();
  }
  return text;
}

template <typename T>
constexpr napi_typedarray_type typedArrayType();
template <>
constexpr napi_typedarray_type typedArrayType<float>() {
  return napi_float32_array;
}
template <>
constexpr napi_typedarray_type typedArrayType<std::int32_t>() {
  return napi_int32_array;
}

template <typename T>
constexpr const char* typedArrayName();
template <>
constexpr const char* typedArrayName<float>() {
  return "a Float32Array";
}
template <>
constexpr const char* typedArrayName<std::int32_t>() {
  return "an Int32Array";
}

}  // namespace detail

// The params object of a kernel (GemmParams, Pool2dParams, ...): named numeric and boolean fields.
class ParamsArg {
 public:
  ParamsArg(napi_env env, napi_value object, std::string prefix)
      : env_(env), object_(object), prefix_(std::move(prefix)) {}

  double number(const char* key) const {
    double value;
    if (napi_get_value_double(env_, field(key), &value) != napi_ok) fail(key, "must be a number");
    return value;
  }

  // An integer >= min (sizes, strides, paddings).
  std::int64_t integer(const char* key, std::int64_t min = 0) const {
    const double value = number(key);
    if (!(value >= static_cast<double>(min)) || value > 9007199254740991.0 ||
        value != static_cast<double>(static_cast<std::int64_t>(value))) {
      fail(key, "must be an integer >= " + std::to_string(min) + ", got " + detail::formatNumber(value));
    }
    return static_cast<std::int64_t>(value);
  }

  bool flag(const char* key) const {
    bool value;
    if (napi_get_value_bool(env_, field(key), &value) != napi_ok) fail(key, "must be a boolean");
    return value;
  }

  [[noreturn]] void fail(const char* key, const std::string& what) const {
    throw ArgumentError(prefix_ + key + " " + what);
  }

 private:
  napi_value field(const char* key) const {
    napi_value value;
    if (napi_get_named_property(env_, object_, key, &value) != napi_ok) fail(key, "could not be read");
    return value;
  }

  napi_env env_;
  napi_value object_;
  std::string prefix_;  // "kernel: p."
};

class KernelArgs {
 public:
  KernelArgs(const Napi::CallbackInfo& info, const char* kernel) : info_(info), kernel_(kernel) {}

  Napi::Env env() const { return info_.Env(); }
  Napi::Value undefined() const { return info_.Env().Undefined(); }
  Napi::Value result(double value) const { return Napi::Number::New(info_.Env(), value); }

  ArrayArg<float> f32(std::size_t index, const char* name) const { return typedArray<float>(index, name, false); }
  // A Float32Array, or {nullptr, 0} for null / undefined.
  ArrayArg<float> f32OrNull(std::size_t index, const char* name) const { return typedArray<float>(index, name, true); }
  ArrayArg<std::int32_t> i32(std::size_t index, const char* name) const {
    return typedArray<std::int32_t>(index, name, false);
  }

  double number(std::size_t index, const char* name) const {
    double value;
    if (napi_get_value_double(info_.Env(), info_[index], &value) != napi_ok)
      fail(std::string(name) + " must be a number");
    return value;
  }

  // An integer >= min (rows, cols, counts).
  std::int64_t integer(std::size_t index, const char* name, std::int64_t min = 0) const {
    const double value = number(index, name);
    if (!(value >= static_cast<double>(min)) || value > 9007199254740991.0 ||
        value != static_cast<double>(static_cast<std::int64_t>(value))) {
      fail(std::string(name) + " must be an integer >= " + std::to_string(min) + ", got " +
           detail::formatNumber(value));
    }
    return static_cast<std::int64_t>(value);
  }

  ParamsArg params(std::size_t index, const char* name = "p") const {
    napi_valuetype type;
    napi_value value = info_[index];
    if (napi_typeof(info_.Env(), value, &type) != napi_ok || type != napi_object)
      fail(std::string(name) + " must be an object");
    return ParamsArg(info_.Env(), value, std::string(kernel_) + ": " + name + ".");
  }

  template <typename T>
  void requireLength(const ArrayArg<T>& array, std::size_t expected, const char* name, const char* expectedWhat) const {
    if (array.length != expected) {
      fail(std::string(name) + " has " + std::to_string(array.length) + " elements, expected " +
           std::to_string(expected) + " (" + expectedWhat + ")");
    }
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw ArgumentError(std::string(kernel_) + ": " + message);
  }

 private:
  template <typename T>
  ArrayArg<T> typedArray(std::size_t index, const char* name, bool nullable) const {
    napi_env env = info_.Env();
    napi_value value = info_[index];
    napi_typedarray_type type;
    std::size_t length;
    void* data;
    // One call both checks the type and returns the data pointer (byte offset already applied).
    if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) == napi_ok) {
      if (type == detail::typedArrayType<T>()) return {static_cast<T*>(data), length};
    } else if (nullable) {
      napi_valuetype valueType;
      if (napi_typeof(env, value, &valueType) == napi_ok && (valueType == napi_null || valueType == napi_undefined)) {
        return {nullptr, 0};
      }
    }
    fail(std::string(name) + " must be " + detail::typedArrayName<T>() + (nullable ? " or null" : ""));
  }

  const Napi::CallbackInfo& info_;
  const char* kernel_;
};

template <typename Body>
Napi::Value invokeKernel(const Napi::CallbackInfo& info, const char* kernel, Body body) {
  try {
    return body(KernelArgs(info, kernel));
  } catch (const ArgumentError& error) {
    Napi::TypeError::New(info.Env(), error.what()).ThrowAsJavaScriptException();
  } catch (const std::bad_alloc&) {
    Napi::Error::New(info.Env(), std::string(kernel) + ": out of memory").ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

// Defines the export `name`; the body that follows sees `const KernelArgs& args` and returns a Napi::Value.
#define RANDLAB_KERNEL(name)                                                   \
  static Napi::Value randlab_kernel_##name(const ::randlab::KernelArgs& args); \
  static Napi::Value randlab_export_##name(const Napi::CallbackInfo& info) {   \
    return ::randlab::invokeKernel(info, #name, randlab_kernel_##name);        \
  }                                                                            \
  RANDLAB_EXPORT(name, randlab_export_##name);                                 \
  static Napi::Value randlab_kernel_##name(const ::randlab::KernelArgs& args)

// --- SIMD dispatch ------------------------------------------------------------------------------
// simdDispatch(fn) calls fn() from a copy of itself compiled for the active SIMD level; `flatten`
// inlines fn (and what it calls) there, so plain loops in fn are auto-vectorised for AVX-512 or
// AVX2 without global -m flags. Loops must not call through std::function to stay inlined.
namespace detail {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define RANDLAB_X86_DISPATCH 1
#if defined(__clang__)
#define RANDLAB_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2"), flatten))
#else
#define RANDLAB_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2,prefer-vector-width=512"), flatten))
#endif
template <class Fn>
RANDLAB_TARGET_AVX512 void runAvx512(Fn& fn) {
  fn();
}
template <class Fn>
__attribute__((target("avx2,fma"), flatten)) void runAvx2(Fn& fn) {
  fn();
}
#endif
template <class Fn>
#if defined(__GNUC__) || defined(__clang__)
__attribute__((flatten))
#endif
void runGeneric(Fn& fn) {
  fn();
}
}  // namespace detail

template <class Fn>
inline void simdDispatch(Fn&& fn) {
#ifdef RANDLAB_X86_DISPATCH
  switch (activeSimdLevel()) {
    case SimdLevel::Avx512:
      detail::runAvx512(fn);
      return;
    case SimdLevel::Avx2:
      detail::runAvx2(fn);
      return;
    default:
      break;
  }
#endif
  detail::runGeneric(fn);
}

// Tells the vectoriser that iterations are independent; element-wise kernels may be called in
// place (out == a), which a runtime overlap check would otherwise send down the scalar path.
#if defined(__clang__)
#define RANDLAB_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define RANDLAB_IVDEP _Pragma("GCC ivdep")
#else
#define RANDLAB_IVDEP
#endif

// --- parallel loops -----------------------------------------------------------------------------
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

// --- float64 accumulation ----------------------------------------------------------------------
// Sums of float data accumulated in double. The vectoriser will not reorder a floating-point sum,
// so these keep explicit vector accumulators: GCC/clang vector types of 8 doubles, which become one
// zmm, two ymm or four xmm registers depending on the target the caller is compiled for. Each sum
// runs two independent chains (16 lanes) to hide the add latency. Only arithmetic here: GCC lowers
// vector *comparisons* for the target of the function they are written in, before inlining, so a
// compare in such a helper would become per-lane branches even inside the AVX-512 copy.
#if defined(__GNUC__) || defined(__clang__)
#define RANDLAB_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define RANDLAB_ALWAYS_INLINE inline
#endif

namespace lanes {
typedef float F32x8 __attribute__((vector_size(32), aligned(4)));
typedef double F64x8 __attribute__((vector_size(64), aligned(8)));  // no alignment assumed, in memory or not
constexpr std::ptrdiff_t kStep = 16;                                // floats consumed per iteration: two chains of 8

// Vector values stay inside inlined code: passing them to or from a real function would change
// the calling convention between targets (GCC's -Wpsabi), hence out-parameters.
RANDLAB_ALWAYS_INLINE void widen(const float* p, F64x8& out) {
  F32x8 v;
  std::memcpy(&v, p, sizeof v);
  out = __builtin_convertvector(v, F64x8);
}

// Σ of one or two per-element terms; lanes and a scalar tail, combined by total().
struct Sum {
  F64x8 chain0{}, chain1{};
  double tail = 0;
  RANDLAB_ALWAYS_INLINE double total() const {
    const F64x8 both = chain0 + chain1;
    double out = tail;
    for (int l = 0; l < 8; ++l) out += both[l];
    return out;
  }
};
}  // namespace lanes

// Adds Σ x[i] over [0, n) to sum.
RANDLAB_ALWAYS_INLINE void accumulateSum(const float* x, std::ptrdiff_t n, lanes::Sum& sum) {
  std::ptrdiff_t i = 0;
  for (; i + lanes::kStep <= n; i += lanes::kStep) {
    lanes::F64x8 x0, x1;
    lanes::widen(x + i, x0);
    lanes::widen(x + i + 8, x1);
    sum.chain0 += x0;
    sum.chain1 += x1;
  }
  for (; i < n; ++i) sum.tail += static_cast<double>(x[i]);
}

// Adds Σ (x[i] − shift) to sum and Σ (x[i] − shift)² to squares.
RANDLAB_ALWAYS_INLINE void accumulateMoments(const float* x, std::ptrdiff_t n, double shift, lanes::Sum& sum,
                                             lanes::Sum& squares) {
  std::ptrdiff_t i = 0;
  for (; i + lanes::kStep <= n; i += lanes::kStep) {
    lanes::F64x8 d0, d1;
    lanes::widen(x + i, d0);
    lanes::widen(x + i + 8, d1);
    d0 -= shift;
    d1 -= shift;
    sum.chain0 += d0;
    sum.chain1 += d1;
    squares.chain0 += d0 * d0;
    squares.chain1 += d1 * d1;
  }
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - shift;
    sum.tail += d;
    squares.tail += d * d;
  }
}

// Adds Σ g[i] to sum and Σ g[i]·(x[i] − shift) to products.
RANDLAB_ALWAYS_INLINE void accumulateProducts(const float* g, const float* x, std::ptrdiff_t n, double shift,
                                              lanes::Sum& sum, lanes::Sum& products) {
  std::ptrdiff_t i = 0;
  for (; i + lanes::kStep <= n; i += lanes::kStep) {
    lanes::F64x8 g0, g1, x0, x1;
    lanes::widen(g + i, g0);
    lanes::widen(g + i + 8, g1);
    lanes::widen(x + i, x0);
    lanes::widen(x + i + 8, x1);
    sum.chain0 += g0;
    sum.chain1 += g1;
    products.chain0 += g0 * (x0 - shift);
    products.chain1 += g1 * (x1 - shift);
  }
  for (; i < n; ++i) {
    const double gi = g[i];
    sum.tail += gi;
    products.tail += gi * (static_cast<double>(x[i]) - shift);
  }
}

RANDLAB_ALWAYS_INLINE double sumOf(const float* x, std::ptrdiff_t n) {
  lanes::Sum sum;
  accumulateSum(x, n, sum);
  return sum.total();
}

RANDLAB_ALWAYS_INLINE double sumOfSquares(const float* x, std::ptrdiff_t n) {
  lanes::Sum sum, squares;
  accumulateMoments(x, n, 0.0, sum, squares);
  return squares.total();
}

}  // namespace randlab
