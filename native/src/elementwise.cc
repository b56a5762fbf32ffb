// Element-wise kernels and float64 reductions: relu, add, mul, axpy, scale, fill, sum,
// sumSquares, addRowVector, sumRows.
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

RANDLAB_KERNEL(addRowVector) {
  const auto y = args.f32(0, "y");
  const auto bias = args.f32(1, "bias");
  const Index rows = args.integer(2, "rows");
  const Index cols = args.integer(3, "cols");
  args.requireLength(y, static_cast<std::size_t>(rows * cols), "y", "rows·cols");
  args.requireLength(bias, static_cast<std::size_t>(cols), "bias", "cols");
  float* ys = y.data;
  const float* b = bias.data;
  parallelTasks(rows, rows * cols, [&](Index r) {
    float* row = ys + r * cols;
    for (Index j = 0; j < cols; ++j) row[j] += b[j];
  });
  return args.undefined();
}

// Column sums in float64 over rows [rowBegin, rowEnd) for columns [colBegin, colEnd), added to acc.
// Columns go in blocks that fit in L1 so each row segment is read once, contiguously.
inline void accumulateColumns(const float* x, Index cols, Index rowBegin, Index rowEnd, Index colBegin, Index colEnd,
                              double* acc) {
  constexpr Index kBlock = 512;
  for (Index c0 = colBegin; c0 < colEnd; c0 += kBlock) {
    const Index width = std::min(kBlock, colEnd - c0);
    double* a = acc + (c0 - colBegin);
    for (Index r = rowBegin; r < rowEnd; ++r) {
      const float* row = x + r * cols + c0;
      for (Index j = 0; j < width; ++j) a[j] += static_cast<double>(row[j]);
    }
  }
}

RANDLAB_KERNEL(sumRows) {
  const auto x = args.f32(0, "x");
  const auto out = args.f32(1, "out");
  const Index rows = args.integer(2, "rows");
  const Index cols = args.integer(3, "cols");
  const std::int64_t beta = args.integer(4, "beta");
  if (beta > 1) args.fail("beta must be 0 or 1");
  args.requireLength(x, static_cast<std::size_t>(rows * cols), "x", "rows·cols");
  args.requireLength(out, static_cast<std::size_t>(cols), "out", "cols");
  const float* xs = x.data;
  float* outs = out.data;
  const auto store = [&](Index j, double total) {
    outs[j] = static_cast<float>(beta ? static_cast<double>(outs[j]) + total : total);
  };
  const Index threads = threadCount();
  if (threads == 1 || rows * cols < 2 * kElementwiseGrain) {
    std::vector<double> acc(static_cast<std::size_t>(cols), 0.0);
    simdDispatch([&] { accumulateColumns(xs, cols, 0, rows, 0, cols, acc.data()); });
    for (Index j = 0; j < cols; ++j) store(j, acc[static_cast<std::size_t>(j)]);
  } else if (cols >= threads * 256) {
    // Wide: each thread owns a band of columns and writes its sums directly.
    parallelChunks(cols, 256, [&](Index begin, Index end) {
      std::vector<double> acc(static_cast<std::size_t>(end - begin), 0.0);
      accumulateColumns(xs, cols, 0, rows, begin, end, acc.data());
      for (Index j = begin; j < end; ++j) store(j, acc[static_cast<std::size_t>(j - begin)]);
    });
  } else {
    // Tall: each thread sums a band of rows; partial sums are added in band order.
    std::vector<double> partial(static_cast<std::size_t>(threads * cols), 0.0);
    parallelFor(threads, [&](Index part) {
      const Index begin = rows * part / threads, end = rows * (part + 1) / threads;
      simdDispatch([&] { accumulateColumns(xs, cols, begin, end, 0, cols, partial.data() + part * cols); });
    });
    for (Index j = 0; j < cols; ++j) {
      double total = 0;
      for (Index part = 0; part < threads; ++part) total += partial[static_cast<std::size_t>(part * cols + j)];
      store(j, total);
    }
  }
  return args.undefined();
}

}  // namespace
}  // namespace randlab
