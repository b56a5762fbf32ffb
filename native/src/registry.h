// Infrastructure (no TypeScript reference).
//
// Self-registration of exported kernels: each .cc file declares its functions with
// RANDLAB_EXPORT(name, fn) and addon.cc exports everything registered, so adding a kernel
// file never touches a central list.
#pragma once
#include <napi.h>

#include <utility>
#include <vector>

namespace randlab {

using ExportedFunction = Napi::Value (*)(const Napi::CallbackInfo&);

inline std::vector<std::pair<const char*, ExportedFunction>>& registeredFunctions() {
  static std::vector<std::pair<const char*, ExportedFunction>> functions;
  return functions;
}

struct Registration {
  Registration(const char* name, ExportedFunction fn) { registeredFunctions().emplace_back(name, fn); }
};

}  // namespace randlab

#define RANDLAB_EXPORT(name, fn) static ::randlab::Registration randlab_registration_##name(#name, fn)
