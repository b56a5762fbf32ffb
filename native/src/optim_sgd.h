// Implements part of src/kernels/reference/optim.ts (sgdUpdate, gemmSgdUpdate).
//
// SGD arithmetic with torch.optim.SGD semantics, shared by the stand-alone update (optim.cc) and
// the update fused into the weight-gradient GEMM (optim_gemm_sgd.cc), so the two round identically.
//
// Scalar coefficients are folded in float64 by the caller and applied in float32; the option
// flags are template parameters so each combination is a branch-free loop the compiler vectorises.
#pragma once
#include <cstddef>
#include <type_traits>

#include "kernel_args.h"
#include "simd_dispatch.h"

namespace randlab {

struct SgdCoefficients {
  float lr, momentum, dampingKeep, weightDecay;  // dampingKeep = 1 − dampening
};

template <bool kDecay, bool kMomentum, bool kFirstStep, bool kNesterov>
struct SgdVariant {
  static constexpr bool decay = kDecay, momentum = kMomentum, firstStep = kFirstStep, nesterov = kNesterov;
};

// d = g + wd·θ; b = d on the first step, else μ·b + (1 − dampening)·d; θ −= lr·(nesterov ? d + μ·b : b),
// for elements [begin, end) of param, grad and (with momentum) buffer.
template <class V>
inline void sgdRange(float* param, const float* grad, float* buffer, const SgdCoefficients& k, std::ptrdiff_t begin,
                     std::ptrdiff_t end) {
  RANDLAB_IVDEP
  for (std::ptrdiff_t i = begin; i < end; ++i) {
    float g = grad[i];
    if constexpr (V::decay) g += k.weightDecay * param[i];
    if constexpr (V::momentum) {
      float b;
      if constexpr (V::firstStep)
        b = g;
      else
        b = k.momentum * buffer[i] + k.dampingKeep * g;
      buffer[i] = b;
      if constexpr (V::nesterov)
        g += k.momentum * b;
      else
        g = b;
    }
    param[i] -= k.lr * g;
  }
}

// Calls visit(SgdVariant<…>{}) with the variant for these settings (momentum off ignores the
// first-step and Nesterov flags).
template <class Visit>
void withSgdVariant(bool decay, bool momentum, bool firstStep, bool nesterov, Visit&& visit) {
  const auto withDecay = [&](auto decayTag) {
    constexpr bool kDecay = decltype(decayTag)::value;
    if (!momentum) return visit(SgdVariant<kDecay, false, false, false>{});
    if (firstStep) {
      if (nesterov) return visit(SgdVariant<kDecay, true, true, true>{});
      return visit(SgdVariant<kDecay, true, true, false>{});
    }
    if (nesterov) return visit(SgdVariant<kDecay, true, false, true>{});
    return visit(SgdVariant<kDecay, true, false, false>{});
  };
  if (decay)
    withDecay(std::true_type{});
  else
    withDecay(std::false_type{});
}

// The SGD settings of a params object (lr, momentum, dampening, weightDecay, nesterov, firstStep).
struct SgdSettings {
  SgdCoefficients coefficients;
  bool decay, momentum, firstStep, nesterov;
};

inline SgdSettings readSgdSettings(const ParamsArg& p) {
  const double lr = p.number("lr");
  const double momentum = p.number("momentum");
  const double dampening = p.number("dampening");
  const double weightDecay = p.number("weightDecay");
  return SgdSettings{{static_cast<float>(lr), static_cast<float>(momentum), static_cast<float>(1.0 - dampening),
                      static_cast<float>(weightDecay)},
                     weightDecay != 0,
                     momentum != 0,
                     p.flag("firstStep"),
                     p.flag("nesterov")};
}

// Checks the momentum buffer against the settings: required (param-length) when momentum is on.
inline void requireMomentumBuffer(const KernelArgs& args, const SgdSettings& s, const ArrayArg<float>& buffer,
                                  std::size_t length) {
  if (!s.momentum) return;
  if (buffer.data == nullptr) {
    args.fail("momentumBuffer is null but p.momentum is " + detail::formatNumber(s.coefficients.momentum));
  }
  args.requireLength(buffer, length, "momentumBuffer", "param.length");
}

}  // namespace randlab
