// Infrastructure (no TypeScript reference): detecting the CPU's SIMD level and the simdLevel /
// setSimdLevel exports (see cpu_features.h).
#include "cpu_features.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "registry.h"
#include "simd_targets.h"

namespace randlab {
namespace {

SimdLevel detectHardwareLevel() {
#ifdef RANDLAB_X86_SIMD
  __builtin_cpu_init();
  // Every feature the level's code is compiled for (simd_targets.h).
  if (RANDLAB_CPU_HAS_AVX512) return SimdLevel::Avx512;
  if (RANDLAB_CPU_HAS_AVX2) return SimdLevel::Avx2;
#endif
  return SimdLevel::Generic;
}

SimdLevel initialLevel() {
  const SimdLevel hardware = hardwareSimdLevel();
  const char* env = std::getenv("RANDLAB_SIMD");
  if (env == nullptr || *env == '\0') return hardware;
  SimdLevel requested;
  if (!parseSimdLevel(env, &requested)) {
    std::fprintf(stderr, "randlab: ignoring RANDLAB_SIMD=%s (expected generic, avx2 or avx512)\n", env);
    return hardware;
  }
  if (static_cast<int>(requested) > static_cast<int>(hardware)) {
    std::fprintf(stderr, "randlab: RANDLAB_SIMD=%s is not supported by this CPU; using %s\n", env,
                 simdLevelName(hardware));
    return hardware;
  }
  return requested;
}

std::atomic<int>& activeLevelStorage() {
  static std::atomic<int> level{static_cast<int>(initialLevel())};
  return level;
}

// simdLevel() -> "avx512" | "avx2" | "generic": the level the kernels use now.
Napi::Value SimdLevelExport(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), simdLevelName(activeSimdLevel()));
}
RANDLAB_EXPORT(simdLevel, SimdLevelExport);

// setSimdLevel(level) -> the previous level. Lets tests and benchmarks run every path the CPU
// has; a level the CPU lacks is an error.
Napi::Value SetSimdLevelExport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SimdLevel level;
  const std::string name = info.Length() >= 1 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (!parseSimdLevel(name.c_str(), &level)) {
    Napi::TypeError::New(env, "setSimdLevel: level must be 'generic', 'avx2' or 'avx512'").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const SimdLevel previous = activeSimdLevel();
  if (!setActiveSimdLevel(level)) {
    Napi::Error::New(env, "setSimdLevel: this CPU does not support " + name).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::String::New(env, simdLevelName(previous));
}
RANDLAB_EXPORT(setSimdLevel, SetSimdLevelExport);

}  // namespace

SimdLevel hardwareSimdLevel() {
  static const SimdLevel level = detectHardwareLevel();
  return level;
}

SimdLevel activeSimdLevel() { return static_cast<SimdLevel>(activeLevelStorage().load(std::memory_order_relaxed)); }

bool setActiveSimdLevel(SimdLevel level) {
  if (static_cast<int>(level) > static_cast<int>(hardwareSimdLevel())) return false;
  activeLevelStorage().store(static_cast<int>(level), std::memory_order_relaxed);
  return true;
}

const char* simdLevelName(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512:
      return "avx512";
    case SimdLevel::Avx2:
      return "avx2";
    default:
      return "generic";
  }
}

bool parseSimdLevel(const char* name, SimdLevel* level) {
  if (std::strcmp(name, "generic") == 0)
    *level = SimdLevel::Generic;
  else if (std::strcmp(name, "avx2") == 0)
    *level = SimdLevel::Avx2;
  else if (std::strcmp(name, "avx512") == 0)
    *level = SimdLevel::Avx512;
  else
    return false;
  return true;
}

}  // namespace randlab
