// Infrastructure (no TypeScript reference): the module's entry point, exporting every function
// registered with RANDLAB_EXPORT (registry.h).
#include "registry.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (const auto& [name, fn] : randlab::registeredFunctions()) {
    exports.Set(name, Napi::Function::New(env, fn, name));
  }
  return exports;
}

NODE_API_MODULE(randlab_native, Init)
