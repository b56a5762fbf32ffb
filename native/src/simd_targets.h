// Infrastructure (no TypeScript reference).
//
// The instruction-set features of each x86 SIMD level, listed once. Every function compiled for a
// level takes its target attribute from this list (RANDLAB_AVX512, RANDLAB_AVX2, and the dispatch
// copies in simd_dispatch.h), and cpu_features.cc checks the same list at run time, so code is
// never compiled for a feature the CPU check did not ask for.
//
// A level's list is written as RANDLAB_..._FEATURES(FIRST, NEXT), FIRST applied to the first
// feature and NEXT to the others, so that one list yields both the comma-separated target string
// and the conjunction of __builtin_cpu_supports checks.
#pragma once

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define RANDLAB_X86_SIMD 1

// F (arithmetic), BW/DQ/VL (masked 512-bit loads and stores, 256-bit forms), FMA; AVX2 is implied.
#define RANDLAB_AVX512_FEATURES(FIRST, NEXT) \
  FIRST("avx512f") NEXT("avx512bw") NEXT("avx512dq") NEXT("avx512vl") NEXT("fma") NEXT("avx2")
#define RANDLAB_AVX2_FEATURES(FIRST, NEXT) FIRST("avx2") NEXT("fma")

#define RANDLAB_FEATURE_STRING_FIRST(feature) feature
#define RANDLAB_FEATURE_STRING_NEXT(feature) "," feature
// "avx512f,avx512bw,...": the argument of __attribute__((target(...))).
#define RANDLAB_AVX512_TARGET RANDLAB_AVX512_FEATURES(RANDLAB_FEATURE_STRING_FIRST, RANDLAB_FEATURE_STRING_NEXT)
#define RANDLAB_AVX2_TARGET RANDLAB_AVX2_FEATURES(RANDLAB_FEATURE_STRING_FIRST, RANDLAB_FEATURE_STRING_NEXT)

#define RANDLAB_CPU_SUPPORTS_FIRST(feature) __builtin_cpu_supports(feature)
#define RANDLAB_CPU_SUPPORTS_NEXT(feature) &&__builtin_cpu_supports(feature)
// Whether this CPU has every feature of the level (after __builtin_cpu_init()).
#define RANDLAB_CPU_HAS_AVX512 (RANDLAB_AVX512_FEATURES(RANDLAB_CPU_SUPPORTS_FIRST, RANDLAB_CPU_SUPPORTS_NEXT))
#define RANDLAB_CPU_HAS_AVX2 (RANDLAB_AVX2_FEATURES(RANDLAB_CPU_SUPPORTS_FIRST, RANDLAB_CPU_SUPPORTS_NEXT))

// Functions written with AVX-512 or AVX2 intrinsics.
#define RANDLAB_AVX512 __attribute__((target(RANDLAB_AVX512_TARGET)))
#define RANDLAB_AVX2 __attribute__((target(RANDLAB_AVX2_TARGET)))
#endif
