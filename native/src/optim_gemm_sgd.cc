// Implements part of src/kernels/reference/optim.ts (gemmSgdUpdate).
//
// The SGD update of a weight matrix fused into the GEMM that computes its gradient
// (Kernels.gemmSgdUpdate): each register tile of the gradient updates its block of weights and
// momentum buffer as soon as it is computed, so the gradient never goes to memory and back. The
// weights and buffer of the next tile are prefetched while the current one is computed, which
// hides their memory traffic behind the arithmetic (a separate update is memory-bound).
#include <cstdint>

#include "gemm.h"
#include "gemm_args.h"
#include "kernel_args.h"
#include "optim_sgd.h"
#include "simd_dispatch.h"

namespace randlab {
namespace {

template <class V>
class SgdTileUpdate final : public TileConsumer {
 public:
  SgdTileUpdate(float* param, float* buffer, std::int64_t ld, const SgdCoefficients& k)
      : param_(param), buffer_(buffer), ld_(ld), k_(k) {}

  TileMemory blockFor(std::int64_t row, std::int64_t col, int rows, int cols) const override {
    const std::int64_t offset = (row * ld_ + col) * static_cast<std::int64_t>(sizeof(float));
    const char* bufferBlock = V::momentum ? reinterpret_cast<const char*>(buffer_) + offset : nullptr;
    return TileMemory{{reinterpret_cast<const char*>(param_) + offset, bufferBlock},
                      V::momentum ? 2 : 1,
                      rows,
                      cols * static_cast<int>(sizeof(float)),
                      ld_ * static_cast<std::int64_t>(sizeof(float))};
  }

  void consume(const float* tile, std::int64_t ldt, std::int64_t row, std::int64_t col, int rows,
               int cols) const override {
    simdDispatch([&] {
      for (int r = 0; r < rows; ++r) {
        const std::int64_t offset = (row + r) * ld_ + col;
        sgdRange<V>(param_ + offset, tile + r * ldt, V::momentum ? buffer_ + offset : nullptr, k_, 0, cols);
      }
    });
  }

 private:
  float* param_;
  float* buffer_;
  std::int64_t ld_;
  SgdCoefficients k_;
};

// gemmSgdUpdate(a, b, param, momentumBuffer, p, sgd): param [m, n] takes one SGD step (sgdUpdate's
// arithmetic) with the gradient alpha · op(A) · op(B) (p: GemmParams without beta).
RANDLAB_KERNEL(gemmSgdUpdate) {
  const GemmOperands<float> g = readGemmOperands<float>(args, 0, 1, args.params(4));
  const auto param = args.f32(2, "param");
  const auto buffer = args.f32OrNull(3, "momentumBuffer");
  const SgdSettings s = readSgdSettings(args.params(5, "sgd"));
  args.requireLength(param, g.m, g.n, "param", "p.m * p.n");
  requireMomentumBuffer(args, s, buffer, param.length);
  withSgdVariant(s.decay, s.momentum, s.firstStep, s.nesterov, [&](auto variant) {
    const SgdTileUpdate<decltype(variant)> update(param.data, buffer.data, g.n, s.coefficients);
    sgemm(g.m, g.n, g.k, g.alpha, g.a, g.b, update);
  });
  return args.undefined();
}

}  // namespace
}  // namespace randlab
