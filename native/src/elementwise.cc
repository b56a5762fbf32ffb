// Implements src/kernels/reference/elementwise.ts.
//
// Element-wise kernels and float64 reductions: relu, add, mul, axpy, scale, fill, sum,
// sumSquares.
//
// All are memory-bound: each is one pass of plain loops that the compiler vectorises for the
// active SIMD level (simdDispatch), split into one contiguous chunk per thread when the arrays are
// large enough for the hand-off to pay. Element-wise kernels may be called in place (out == a).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "float64_sums.h"
#include "kernel_args.h"
#include "parallel_loops.h"

namespace randlab {
namespace {

using Index = std::ptrdiff_t;

// Argument `index`: a Float32Array with `length` elements, `lengthOf` naming where that comes from.
ArrayArg<float> sameLength(const KernelArgs& args, std::size_t index, const char* name, std::size_t length,
                           const char* lengthOf) {
  const ArrayArg<float> a = args.f32(index, name);
  args.requireLength(a, length, name, lengthOf);
  return a;
}

// out[i] = op(a[i], b[i]) over equally long arrays, split across threads. out may be a or b.
template <class Op>
void mapElements(const float* a, const float* b, float* out, std::size_t length, Op op) {
  parallelChunks(static_cast<Index>(length), kElementwiseGrain, [&](Index begin, Index end) {
    RANDLAB_IVDEP
    for (Index i = begin; i < end; ++i) out[i] = op(a[i], b[i]);
  });
}

// The kernels (a, b, out) with out[i] = op(a[i], b[i]); argument names as in the interface.
template <class Op>
Napi::Value binaryKernel(const KernelArgs& args, const char* aName, const char* bName, const char* outName, Op op) {
  const auto a = args.f32(0, aName);
  const std::string lengthOfA = std::string(aName) + ".length";
  const auto b = sameLength(args, 1, bName, a.length, lengthOfA.c_str());
  const auto out = sameLength(args, 2, outName, a.length, lengthOfA.c_str());
  mapElements(a.data, b.data, out.data, a.length, op);
  return args.undefined();
}

RANDLAB_KERNEL(reluForward) {
  const auto x = args.f32(0, "x");
  const auto y = sameLength(args, 1, "y", x.length, "x.length");
  // NaN propagates (as torch.relu) and −0 becomes +0: "x <= 0" is false for NaN.
  mapElements(x.data, x.data, y.data, x.length, [](float v, float) { return v <= 0.0f ? 0.0f : v; });
  return args.undefined();
}

RANDLAB_KERNEL(reluBackward) {
  // Both values are loaded before the select, so it vectorises (a load of dy only where y > 0
  // stayed a scalar, mispredicted branch).
  return binaryKernel(args, "y", "dy", "dx", [](float y, float g) { return y > 0.0f ? g : 0.0f; });
}

RANDLAB_KERNEL(add) {
  return binaryKernel(args, "a", "b", "out", [](float a, float b) { return a + b; });
}

RANDLAB_KERNEL(mul) {
  return binaryKernel(args, "a", "b", "out", [](float a, float b) { return a * b; });
}

RANDLAB_KERNEL(axpy) {
  const float alpha = static_cast<float>(args.number(0, "alpha"));
  const auto x = args.f32(1, "x");
  const auto y = sameLength(args, 2, "y", x.length, "x.length");
  mapElements(x.data, y.data, y.data, x.length, [alpha](float xv, float yv) { return yv + alpha * xv; });
  return args.undefined();
}

RANDLAB_KERNEL(scale) {
  const auto x = args.f32(0, "x");
  const float alpha = static_cast<float>(args.number(1, "alpha"));
  const auto out = sameLength(args, 2, "out", x.length, "x.length");
  mapElements(x.data, x.data, out.data, x.length, [alpha](float v, float) { return alpha * v; });
  return args.undefined();
}

RANDLAB_KERNEL(fill) {
  const auto x = args.f32(0, "x");
  const float value = static_cast<float>(args.number(1, "value"));
  float* xs = x.data;
  parallelChunks(x.length, 2 * kElementwiseGrain, [&](Index begin, Index end) {
    for (Index i = begin; i < end; ++i) xs[i] = value;
  });
  return args.undefined();
}

// Σ term over x, one float64 partial sum per chunk, added in chunk order.
template <class ChunkSum>
double parallelSum(Index length, ChunkSum chunkSum) {
  const Index parts = std::min<Index>(threadCount(), std::max<Index>(1, length / kElementwiseGrain));
  if (parts <= 1) {
    double total = 0;
    simdDispatch([&] { total = chunkSum(0, length); });
    return total;
  }
  std::vector<double> partial(static_cast<std::size_t>(parts), 0.0);
  parallelFor(parts, [&](Index part) {
    const Index begin = length * part / parts, end = length * (part + 1) / parts;
    simdDispatch([&] { partial[static_cast<std::size_t>(part)] = chunkSum(begin, end); });
  });
  double total = 0;
  for (double value : partial) total += value;
  return total;
}

RANDLAB_KERNEL(sum) {
  const auto x = args.f32(0, "x");
  const float* xs = x.data;
  return args.result(parallelSum(static_cast<Index>(x.length),
                                 [&](Index begin, Index end) { return sumOf(xs + begin, end - begin); }));
}

RANDLAB_KERNEL(sumSquares) {
  const auto x = args.f32(0, "x");
  const float* xs = x.data;
  return args.result(parallelSum(static_cast<Index>(x.length),
                                 [&](Index begin, Index end) { return sumOfSquares(xs + begin, end - begin); }));
}

}  // namespace
}  // namespace randlab
