// Implements src/kernels/reference/optim.ts (sgdUpdate, adamUpdate).
//
// Optimiser updates in place, with torch.optim semantics: SGD (weight decay, momentum with
// dampening, Nesterov; the buffer starts as the first gradient) and Adam / AdamW (bias
// correction; L2 decay into the gradient, or decoupled decay of the weights).
//
// One pass over the arrays in float32 like PyTorch's own CPU kernels; scalar coefficients are
// folded in float64 first. The option flags are template parameters so each combination is a
// branch-free loop the compiler vectorises (the SGD arithmetic is in optim_sgd.h, shared with the update
// fused into the weight-gradient GEMM).
#include <cmath>
#include <cstddef>
#include <string>

#include "kernel_args.h"
#include "optim_sgd.h"
#include "parallel_loops.h"

namespace randlab {
namespace {

using Index = std::ptrdiff_t;

RANDLAB_KERNEL(sgdUpdate) {
  const auto param = args.f32(0, "param");
  const auto grad = args.f32(1, "grad");
  const auto buffer = args.f32OrNull(2, "momentumBuffer");
  const SgdSettings s = readSgdSettings(args.params(3));
  args.requireLength(grad, param.length, "grad", "param.length");
  requireMomentumBuffer(args, s, buffer, param.length);
  const auto length = static_cast<Index>(param.length);
  withSgdVariant(s.decay, s.momentum, s.firstStep, s.nesterov, [&](auto variant) {
    using V = decltype(variant);
    parallelChunks(length, kElementwiseGrain / 2, [&](Index begin, Index end) {
      sgdRange<V>(param.data, grad.data, buffer.data, s.coefficients, begin, end);
    });
  });
  return args.undefined();
}

struct AdamCoefficients {
  float oneMinusBeta1, beta2, oneMinusBeta2;
  float stepSize;  // lr / (1 − β1^t)
  float sqrtBc2;   // sqrt(1 − β2^t)
  float eps;
  float l2;         // weight decay added to the gradient (Adam)
  float decayKeep;  // 1 − lr·weightDecay applied to the weights (AdamW)
};

template <bool kL2, bool kDecoupled>
void adamRange(float* param, const float* grad, float* m, float* v, const AdamCoefficients& k, Index begin, Index end) {
  RANDLAB_IVDEP
  for (Index i = begin; i < end; ++i) {
    float w = param[i];
    float g = grad[i];
    if constexpr (kDecoupled) w *= k.decayKeep;
    if constexpr (kL2) g += k.l2 * w;
    const float mi = m[i] + k.oneMinusBeta1 * (g - m[i]);  // torch's lerp(m, g, 1 − β1)
    const float vi = k.beta2 * v[i] + k.oneMinusBeta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = w - k.stepSize * mi / (std::sqrt(vi) / k.sqrtBc2 + k.eps);
  }
}

template <bool kL2, bool kDecoupled>
void runAdam(float* param, const float* grad, float* m, float* v, const AdamCoefficients& k, Index length) {
  parallelChunks(length, kElementwiseGrain / 4,
                 [&](Index begin, Index end) { adamRange<kL2, kDecoupled>(param, grad, m, v, k, begin, end); });
}

RANDLAB_KERNEL(adamUpdate) {
  const auto param = args.f32(0, "param");
  const auto grad = args.f32(1, "grad");
  const auto m = args.f32(2, "m");
  const auto v = args.f32(3, "v");
  const ParamsArg p = args.params(4);
  const double lr = p.number("lr");
  const double beta1 = p.number("beta1");
  const double beta2 = p.number("beta2");
  const double eps = p.number("eps");
  const double weightDecay = p.number("weightDecay");
  const bool decoupled = p.flag("decoupled");
  const double step = static_cast<double>(p.integer("step", 1));
  args.requireLength(grad, param.length, "grad", "param.length");
  args.requireLength(m, param.length, "m", "param.length");
  args.requireLength(v, param.length, "v", "param.length");
  const double bc1 = 1.0 - std::pow(beta1, step);
  const double bc2 = 1.0 - std::pow(beta2, step);
  const AdamCoefficients k{static_cast<float>(1.0 - beta1),    static_cast<float>(beta2),
                           static_cast<float>(1.0 - beta2),    static_cast<float>(lr / bc1),
                           static_cast<float>(std::sqrt(bc2)), static_cast<float>(eps),
                           static_cast<float>(weightDecay),    static_cast<float>(1.0 - lr * weightDecay)};
  const auto length = static_cast<Index>(param.length);
  if (weightDecay == 0)
    runAdam<false, false>(param.data, grad.data, m.data, v.data, k, length);
  else if (decoupled)
    runAdam<false, true>(param.data, grad.data, m.data, v.data, k, length);
  else
    runAdam<true, false>(param.data, grad.data, m.data, v.data, k, length);
  return args.undefined();
}

}  // namespace
}  // namespace randlab
