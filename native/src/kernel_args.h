// Infrastructure (no TypeScript reference).
//
// What a kernel export needs besides its arithmetic: reading typed arrays, numbers and the params
// object from JavaScript with errors that name the argument.
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

#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "registry.h"

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
constexpr napi_typedarray_type typedArrayType<double>() {
  return napi_float64_array;
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
constexpr const char* typedArrayName<double>() {
  return "a Float64Array";
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

  // The typed array of T (float: Float32Array, double: Float64Array, int32: Int32Array) at index.
  template <typename T>
  ArrayArg<T> array(std::size_t index, const char* name) const {
    return typedArray<T>(index, name, false);
  }
  ArrayArg<float> f32(std::size_t index, const char* name) const { return array<float>(index, name); }
  ArrayArg<double> f64(std::size_t index, const char* name) const { return array<double>(index, name); }
  ArrayArg<std::int32_t> i32(std::size_t index, const char* name) const { return array<std::int32_t>(index, name); }
  // A Float32Array, or {nullptr, 0} for null / undefined.
  ArrayArg<float> f32OrNull(std::size_t index, const char* name) const { return typedArray<float>(index, name, true); }

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

  // The same for an expected length rows · cols (a matrix), which must not overflow.
  template <typename T>
  void requireLength(const ArrayArg<T>& array, std::int64_t rows, std::int64_t cols, const char* name,
                     const char* expectedWhat) const {
    std::int64_t expected;
    if (__builtin_mul_overflow(rows, cols, &expected)) {
      fail(std::string(name) + " would need " + std::to_string(rows) + " × " + std::to_string(cols) + " elements (" +
           expectedWhat + "), more than an array can hold");
    }
    requireLength(array, static_cast<std::size_t>(expected), name, expectedWhat);
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

}  // namespace randlab
