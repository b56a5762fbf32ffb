// Infrastructure (no TypeScript reference).
//
// Running plain C++ loops as AVX-512, AVX2 or baseline code, chosen at run time.
//
// simdDispatch(fn) calls fn() from a copy of itself compiled for the active SIMD level
// (cpu_features.h); `flatten` inlines fn (and what it calls) there, so plain loops in fn are
// auto-vectorised for AVX-512 or AVX2 without global -m flags. Loops must not call through
// std::function to stay inlined. The target strings come from simd_targets.h.
//
// A body that takes an argument is called with the level it is compiled for, as a type
// (SimdLevelTag), so that it can choose compile-time parameters per level: the width of explicit
// vectors, for one. GCC keeps a GCC/Clang vector wider than the target's registers in memory, so
// that every operation on it goes through the stack.
#pragma once
#include <type_traits>

#include "cpu_features.h"
#include "simd_targets.h"

namespace randlab {

template <SimdLevel L>
using SimdLevelTag = std::integral_constant<SimdLevel, L>;

namespace detail {
// fn(SimdLevelTag<L>{}) when fn takes the level, else fn(). Written out in each run* below rather
// than in a shared helper: the extra inlined call changed the code GCC generated for the float32
// kernels' loops.
#define RANDLAB_CALL_AT_LEVEL(fn, level)                                   \
  if constexpr (std::is_invocable_v<decltype(fn)&, SimdLevelTag<level>>) { \
    fn(SimdLevelTag<level>{});                                             \
  } else {                                                                 \
    fn();                                                                  \
  }

#ifdef RANDLAB_X86_SIMD
#if defined(__clang__)
#define RANDLAB_DISPATCH_AVX512 __attribute__((target(RANDLAB_AVX512_TARGET), flatten))
#else
// GCC otherwise vectorises with 256-bit vectors even where 512-bit ones are available.
#define RANDLAB_DISPATCH_AVX512 __attribute__((target(RANDLAB_AVX512_TARGET ",prefer-vector-width=512"), flatten))
#endif
template <class Fn>
RANDLAB_DISPATCH_AVX512 void runAvx512(Fn& fn) {
  RANDLAB_CALL_AT_LEVEL(fn, SimdLevel::Avx512)
}
template <class Fn>
__attribute__((target(RANDLAB_AVX2_TARGET), flatten)) void runAvx2(Fn& fn) {
  RANDLAB_CALL_AT_LEVEL(fn, SimdLevel::Avx2)
}
#endif
template <class Fn>
#if defined(__GNUC__) || defined(__clang__)
__attribute__((flatten))
#endif
void runGeneric(Fn& fn) {
  RANDLAB_CALL_AT_LEVEL(fn, SimdLevel::Generic)
}
}  // namespace detail

template <class Fn>
inline void simdDispatch(Fn&& fn) {
#ifdef RANDLAB_X86_SIMD
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

// For helpers whose vector values must stay inside the caller's per-target copy: passing a vector
// to or from a real function would change the calling convention between targets (GCC's -Wpsabi).
#if defined(__GNUC__) || defined(__clang__)
#define RANDLAB_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define RANDLAB_ALWAYS_INLINE inline
#endif

}  // namespace randlab
