// Implements addRowVector and sumRows of src/kernels/reference/gemm.ts: a linear layer's bias added
// to every row of its output, and the bias gradient, the output gradient summed over rows (in
// float64, like the reference).
//
// Both are memory-bound single passes of plain loops compiled for the active SIMD level
// (parallel_loops.h), split across threads when the matrix is large enough.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernel_args.h"
#include "parallel_loops.h"

namespace randlab {
namespace {

using Index = std::ptrdiff_t;

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
