// The operands of a GEMM export (Kernels.gemm and the GEMMs with a fused consumer): a, b and the
// GemmParams fields m, n, k, transA, transB, alpha, with lengths checked against the shape.
#pragma once
#include <cstddef>
#include <cstdint>

#include "gemm.h"
#include "kernel_args.h"

namespace randlab {

struct GemmOperands {
  std::int64_t m, n, k;
  float alpha;
  ConstMatrix a, b;
};

inline GemmOperands readGemmOperands(const KernelArgs& args, std::size_t aIndex, std::size_t bIndex,
                                     const ParamsArg& p) {
  const auto a = args.f32(aIndex, "a");
  const auto b = args.f32(bIndex, "b");
  const std::int64_t m = p.integer("m"), n = p.integer("n"), k = p.integer("k");
  const bool transA = p.flag("transA"), transB = p.flag("transB");
  args.requireLength(a, m * k, "a", "p.m * p.k");
  args.requireLength(b, k * n, "b", "p.k * p.n");
  return GemmOperands{m,
                      n,
                      k,
                      static_cast<float>(p.number("alpha")),
                      ConstMatrix{a.data, transA ? m : k, transA},
                      ConstMatrix{b.data, transB ? k : n, transB}};
}

}  // namespace randlab
