// Infrastructure (no TypeScript reference).
//
// Which SIMD instruction set the kernels use, chosen once at run time.
//
// The addon is compiled without global -m flags so it loads on any x86-64 (and arm64); the
// AVX2 and AVX-512 kernels are compiled per function with target attributes and picked here.
// RANDLAB_SIMD=generic|avx2|avx512 forces a level (never above what the CPU supports), so every
// path can be tested on one machine; setSimdLevel() does the same from JavaScript.
#pragma once

namespace randlab {

enum class SimdLevel { Generic = 0, Avx2 = 1, Avx512 = 2 };

// The best level this CPU supports.
SimdLevel hardwareSimdLevel();

// The level kernels use now: hardwareSimdLevel(), lowered by RANDLAB_SIMD or setSimdLevel().
SimdLevel activeSimdLevel();

// Returns false (and changes nothing) when the CPU lacks the level.
bool setActiveSimdLevel(SimdLevel level);

const char* simdLevelName(SimdLevel level);

// Parses "generic" | "avx2" | "avx512"; returns false for anything else.
bool parseSimdLevel(const char* name, SimdLevel* level);

}  // namespace randlab
