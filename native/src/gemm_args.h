// Implements part of src/kernels/reference/gemm.ts: reading its GemmParams contract.
//
// The operands of a GEMM export (Kernels.gemm, the GEMMs with a fused consumer, and the float64
// gemmF64): a, b and the GemmParams fields m, n, k, transA, transB, alpha, with lengths checked
// against the shape. T is float for Float32Array operands, double for Float64Array ones.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernel_args.h"
#include "matrix_operand.h"

namespace randlab {

template <typename T>
struct GemmOperands {
  std::int64_t m, n, k;
  T alpha;
  MatrixOperand<T> a, b;
};

template <typename T>
GemmOperands<T> readGemmOperands(const KernelArgs& args, std::size_t aIndex, std::size_t bIndex, const ParamsArg& p) {
  const auto a = args.array<T>(aIndex, "a");
  const auto b = args.array<T>(bIndex, "b");
  const std::int64_t m = p.integer("m"), n = p.integer("n"), k = p.integer("k");
  const bool transA = p.flag("transA"), transB = p.flag("transB");
  args.requireLength(a, m, k, "a", "p.m * p.k");
  args.requireLength(b, k, n, "b", "p.k * p.n");
  return GemmOperands<T>{m,
                         n,
                         k,
                         static_cast<T>(p.number("alpha")),
                         MatrixOperand<T>{a.data, transA ? m : k, transA},
                         MatrixOperand<T>{b.data, transB ? k : n, transB}};
}

}  // namespace randlab
