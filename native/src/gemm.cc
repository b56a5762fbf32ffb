// Implements src/kernels/reference/gemm.ts (gemm).
//
// GEMM driver: cache blocking, packing, the split over threads, and the JavaScript export.
#include "gemm.h"

#include <algorithm>
#include <cstring>

#include "cpu_features.h"
#include "gemm_args.h"
#include "gemm_kernels.h"
#include "kernel_args.h"
#include "registry.h"
#include "threadpool.h"
#include "workspace.h"

namespace randlab {
namespace {

const GemmKernel& activeKernel() {
  switch (activeSimdLevel()) {
    case SimdLevel::Avx512:
      if (const GemmKernel* k = avx512GemmKernel()) return *k;
      [[fallthrough]];
    case SimdLevel::Avx2:
      if (const GemmKernel* k = avx2GemmKernel()) return *k;
      [[fallthrough]];
    default:
      return *genericGemmKernel();
  }
}

std::int64_t roundUp(std::int64_t x, std::int64_t to) { return (x + to - 1) / to * to; }
std::int64_t ceilDiv(std::int64_t x, std::int64_t y) { return (x + y - 1) / y; }

// ---- packing ------------------------------------------------------------------------------

// op(A)(i0 .. i0+mc, p0 .. p0+kc) → ceil(mc/MR) panels of kc×MR, rows past mc zero.
void packA(const GemmKernel& kernel, ConstMatrix a, std::int64_t i0, std::int64_t mc, std::int64_t p0, std::int64_t kc,
           float* out) {
  const int mr = kernel.mr;
  if (!a.trans && kernel.packANotTransposed != nullptr) {
    kernel.packANotTransposed(a.data, a.ld, i0, mc, p0, kc, out);
    return;
  }
  for (std::int64_t ip = 0; ip < mc; ip += mr) {
    const int rows = static_cast<int>(std::min<std::int64_t>(mr, mc - ip));
    float* panel = out + ip * kc;
    if (a.trans) {
      // Stored [k, m]: the MR values of step p are contiguous.
      const float* src = a.data + p0 * a.ld + i0 + ip;
      for (std::int64_t p = 0; p < kc; ++p, src += a.ld) {
        float* dst = panel + p * mr;
        for (int i = 0; i < rows; ++i) dst[i] = src[i];
        for (int i = rows; i < mr; ++i) dst[i] = 0.0f;
      }
    } else {
      // Stored [m, k]: read each row contiguously, write it with stride MR.
      for (int i = 0; i < rows; ++i) {
        const float* src = a.data + (i0 + ip + i) * a.ld + p0;
        for (std::int64_t p = 0; p < kc; ++p) panel[p * mr + i] = src[p];
      }
      for (int i = rows; i < mr; ++i)
        for (std::int64_t p = 0; p < kc; ++p) panel[p * mr + i] = 0.0f;
    }
  }
}

// op(B)(p0 .. p0+kc, j0 .. j0+nc) → ceil(nc/NR) panels of kc×NR, columns past nc zero.
void packMatrixB(const GemmKernel& kernel, ConstMatrix b, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                 std::int64_t nc, float* out) {
  const int nr = kernel.nr;
  if (b.trans && kernel.packBTransposed != nullptr) {
    kernel.packBTransposed(b.data, b.ld, p0, kc, j0, nc, out);
    return;
  }
  if (!b.trans) {
    // Row by row of the stored matrix, each read once front to back (a stream the hardware
    // prefetcher follows), its NR-column pieces written to their panels.
    for (std::int64_t p = 0; p < kc; ++p) {
      const float* src = b.data + (p0 + p) * b.ld + j0;
      for (std::int64_t jp = 0; jp < nc; jp += nr) {
        const int cols = static_cast<int>(std::min<std::int64_t>(nr, nc - jp));
        float* dst = out + jp * kc + p * nr;
        std::memcpy(dst, src + jp, sizeof(float) * cols);
        for (int j = cols; j < nr; ++j) dst[j] = 0.0f;
      }
    }
    return;
  }
  // Stored [n, k]: read each stored row contiguously, write it with stride NR.
  for (std::int64_t jp = 0; jp < nc; jp += nr) {
    const int cols = static_cast<int>(std::min<std::int64_t>(nr, nc - jp));
    float* panel = out + jp * kc;
    for (int j = 0; j < cols; ++j) {
      const float* src = b.data + (j0 + jp + j) * b.ld + p0;
      for (std::int64_t p = 0; p < kc; ++p) panel[p * nr + j] = src[p];
    }
    for (int j = cols; j < nr; ++j)
      for (std::int64_t p = 0; p < kc; ++p) panel[p * nr + j] = 0.0f;
  }
}

// op(B): a stored matrix or a PanelSource.
struct BOperand {
  ConstMatrix matrix;
  const PanelSource* source;  // used when not null
};

void packB(const GemmKernel& kernel, const BOperand& b, std::int64_t p0, std::int64_t kc, std::int64_t j0,
           std::int64_t nc, float* out) {
  if (b.source != nullptr)
    b.source->pack(p0, kc, j0, nc, kernel.nr, out);
  else
    packMatrixB(kernel, b.matrix, p0, kc, j0, nc, out);
}

// The block size that splits `extent` into the fewest blocks of at most `limit`, all of about
// equal size, rounded up to a multiple of `unit`.
std::int64_t balancedBlock(std::int64_t extent, std::int64_t limit, std::int64_t unit) {
  const std::int64_t blocks = ceilDiv(extent, limit);
  return roundUp(ceilDiv(extent, blocks), unit);
}

// ---- the blocked product on one region of C ----------------------------------------------

// Applies a tile computed into `tile` (MR×NR, alpha already applied) to the valid rows×cols of C.
void mergeEdgeTile(const float* tile, int nr, int rows, int cols, float* c, std::int64_t ldc, float beta) {
  for (int i = 0; i < rows; ++i) {
    float* row = c + i * ldc;
    const float* t = tile + i * nr;
    if (beta == 0.0f) {
      for (int j = 0; j < cols; ++j) row[j] = t[j];
    } else {
      for (int j = 0; j < cols; ++j) row[j] = t[j] + beta * row[j];
    }
  }
}

// Rows [m0, m1) × columns [n0, n1) of C, summing over p in [k0, k1); packing buffers from this
// thread's workspace.
struct Region {
  std::int64_t m0, m1, n0, n1, k0, k1;
};

void gemmRegionDirectA(const GemmKernel& kernel, const Region& region, float alpha, ConstMatrix a, const BOperand& b,
                       float beta, float* c, std::int64_t ldc);
bool readsADirectly(const GemmKernel& kernel, std::int64_t m, std::int64_t n, std::int64_t k, ConstMatrix a);

// With a consumer, C is not written: each finished tile goes to the consumer (one k block only,
// which gemmConsume ensures), while the consumer's memory for the next tile is prefetched.
void gemmRegion(const GemmKernel& kernel, const Region& region, float alpha, ConstMatrix a, const BOperand& b,
                float beta, float* c, std::int64_t ldc, const TileConsumer* consumer = nullptr) {
  if (consumer == nullptr &&
      readsADirectly(kernel, region.m1 - region.m0, region.n1 - region.n0, region.k1 - region.k0, a)) {
    gemmRegionDirectA(kernel, region, alpha, a, b, beta, c, ldc);
    return;
  }
  const int mr = kernel.mr, nr = kernel.nr;
  const std::int64_t m0 = region.m0, m1 = region.m1, n0 = region.n0, n1 = region.n1, k0 = region.k0, k1 = region.k1;
  // Equal blocks no larger than the kernel's: k = 576 runs as 3 × 192 rather than 256 + 256 + 64,
  // whose last block would pay the C tile's load and store for little work.
  const std::int64_t kcMax = balancedBlock(k1 - k0, kernel.kc, 1);
  const std::int64_t mcMax = balancedBlock(m1 - m0, kernel.mc, mr);
  const std::int64_t ncMax = std::min<std::int64_t>(roundUp(kernel.nc, nr), roundUp(n1 - n0, nr));
  float* packedA = workspace(WorkspaceSlot::GemmPackA, mcMax * kcMax);
  float* packedB = workspace(WorkspaceSlot::GemmPackB, ncMax * kcMax + kPanelSlack);
  alignas(64) float tile[16 * 128];

  for (std::int64_t jc = n0; jc < n1; jc += ncMax) {
    const std::int64_t nc = std::min(ncMax, n1 - jc);
    for (std::int64_t pc = k0; pc < k1; pc += kcMax) {
      const std::int64_t kc = std::min(kcMax, k1 - pc);
      const float betaBlock = pc == k0 ? beta : 1.0f;  // later k blocks accumulate onto the first
      packB(kernel, b, pc, kc, jc, nc, packedB);
      for (std::int64_t ic = m0; ic < m1; ic += mcMax) {
        const std::int64_t mc = std::min(mcMax, m1 - ic);
        packA(kernel, a, ic, mc, pc, kc, packedA);
        // The consumer's memory for the tile after (ir, jr) in the loop below.
        auto consumerMemoryAfter = [&](std::int64_t ir, std::int64_t jr) {
          if (ir + mr < mc)
            ir += mr;
          else if (jr + nr < nc)
            ir = 0, jr += nr;
          else
            return TileMemory{{nullptr, nullptr}, 0, 0, 0, 0};
          return consumer->blockFor(ic + ir, jc + jr, static_cast<int>(std::min<std::int64_t>(mr, mc - ir)),
                                    static_cast<int>(std::min<std::int64_t>(nr, nc - jr)));
        };
        auto runTile = [&](std::int64_t ir, std::int64_t jr) {
          const int rows = static_cast<int>(std::min<std::int64_t>(mr, mc - ir));
          const int cols = static_cast<int>(std::min<std::int64_t>(nr, nc - jr));
          const float* aPanel = packedA + ir * kc;
          const float* bPanel = packedB + jr * kc;
          if (consumer != nullptr) {
            const TileMemory next = consumerMemoryAfter(ir, jr);
            if (kernel.microPrefetching != nullptr) {
              kernel.microPrefetching(kc, aPanel, bPanel, tile, nr, alpha, 0.0f, next);
            } else {
              for (int q = 0; q < next.arrays * next.rows; ++q) prefetchTileRow(next, q);
              kernel.micro(kc, aPanel, bPanel, tile, nr, alpha, 0.0f);
            }
            consumer->consume(tile, nr, ic + ir, jc + jr, rows, cols);
            return;
          }
          float* cTile = c + (ic + ir) * ldc + jc + jr;
          if (rows == mr && cols == nr) {
            kernel.micro(kc, aPanel, bPanel, cTile, ldc, alpha, betaBlock);
          } else {
            kernel.micro(kc, aPanel, bPanel, tile, nr, alpha, 0.0f);
            mergeEdgeTile(tile, nr, rows, cols, cTile, ldc, betaBlock);
          }
        };
        // One B panel against every A panel of the block: the B panel stays in L1.
        for (std::int64_t jr = 0; jr < nc; jr += nr)
          for (std::int64_t ir = 0; ir < mc; ir += mr) runTile(ir, jr);
      }
    }
  }
}

// Few column panels of B: packing A would cost about as much as multiplying it.
constexpr std::int64_t kDirectAMaxColPanels = 4;
// An A of at least this many floats (one core's 1 MiB L2) comes from memory whether or not it is
// packed; smaller ones (Winograd's transformed filters, reused chunk after chunk) stay in cache
// packed, where the packed kernel is faster.
constexpr std::int64_t kDirectAMinFloats = 256 * 1024;

// k blocks of the direct path are this many times the kernel's KC. Its A comes from memory once
// whatever the blocking, and its few B panels come from L2 either way; longer blocks halve how
// often each C tile is loaded and stored again (12 times for k = 3072). Measured on the MLP's
// forward products (m = 128 against 3072×1024 and 1024×1024 weights): 2–5% faster than 1×.
constexpr int kDirectAKcScale = 2;

// True when op(A) [m, k] is read in place by the direct micro-kernel rather than packed: A stored
// row-major (rows contiguous over k), larger than L2, and multiplied against at most
// kDirectAMaxColPanels panels of B, so each packed element would be used only a few times (a
// weight matrix times a batch of 128).
bool readsADirectly(const GemmKernel& kernel, std::int64_t m, std::int64_t n, std::int64_t k, ConstMatrix a) {
  return kernel.microDirectA != nullptr && !a.trans && ceilDiv(n, kernel.nr) <= kDirectAMaxColPanels &&
         m * k >= kDirectAMinFloats;
}

// gemmRegion for readsADirectly: B is packed as usual, A's MR-row panels are read where they lie,
// each against every B panel of the block while it is in L1; the micro-kernel prefetches the
// next panel meanwhile. A last panel of fewer than MR rows is packed (its rows past m are not
// readable).
void gemmRegionDirectA(const GemmKernel& kernel, const Region& region, float alpha, ConstMatrix a, const BOperand& b,
                       float beta, float* c, std::int64_t ldc) {
  const int mr = kernel.mr, nr = kernel.nr;
  const std::int64_t m0 = region.m0, m1 = region.m1, n0 = region.n0, n1 = region.n1, k0 = region.k0, k1 = region.k1;
  const std::int64_t kcMax = balancedBlock(k1 - k0, kDirectAKcScale * kernel.kc, 1);
  const std::int64_t ncMax = roundUp(n1 - n0, nr);
  float* packedB = workspace(WorkspaceSlot::GemmPackB, ncMax * kcMax + kPanelSlack);
  float* packedEdgeA = workspace(WorkspaceSlot::GemmPackA, static_cast<std::size_t>(mr) * kcMax);
  alignas(64) float tile[16 * 128];
  const std::int64_t nc = n1 - n0;
  for (std::int64_t pc = k0; pc < k1; pc += kcMax) {
    const std::int64_t kc = std::min(kcMax, k1 - pc);
    const float betaBlock = pc == k0 ? beta : 1.0f;
    packB(kernel, b, pc, kc, n0, nc, packedB);
    for (std::int64_t ir = m0; ir < m1; ir += mr) {
      const int rows = static_cast<int>(std::min<std::int64_t>(mr, m1 - ir));
      const float* aPanel = a.data + ir * a.ld + pc;
      // The next panel down, or at the end of the rows the first panel of the next k block.
      const float* nextA = ir + 2 * mr <= m1 ? aPanel + mr * a.ld : a.data + m0 * a.ld + std::min(pc + kc, k1 - 1);
      if (rows < mr) packA(kernel, a, ir, rows, pc, kc, packedEdgeA);
      for (std::int64_t jr = 0; jr < nc; jr += nr) {
        const int cols = static_cast<int>(std::min<std::int64_t>(nr, nc - jr));
        const float* bPanel = packedB + jr * kc;
        float* cTile = c + ir * ldc + n0 + jr;
        const bool narrow = kernel.microDirectANarrow != nullptr && cols <= nr - 16;
        if (rows == mr && cols == nr) {
          kernel.microDirectA(kc, aPanel, a.ld, nextA, bPanel, cTile, ldc, alpha, betaBlock);
        } else if (rows == mr && narrow && cols == nr - 16) {
          kernel.microDirectANarrow(kc, aPanel, a.ld, nextA, bPanel, cTile, ldc, alpha, betaBlock);
        } else {
          if (rows < mr)
            kernel.micro(kc, packedEdgeA, bPanel, tile, nr, alpha, 0.0f);
          else if (narrow)
            kernel.microDirectANarrow(kc, aPanel, a.ld, nextA, bPanel, tile, nr, alpha, 0.0f);
          else
            kernel.microDirectA(kc, aPanel, a.ld, nextA, bPanel, tile, nr, alpha, 0.0f);
          mergeEdgeTile(tile, nr, rows, cols, cTile, ldc, betaBlock);
        }
      }
    }
  }
}

// C = beta · C, for the degenerate products (k = 0 or alpha = 0) that never read A and B.
void scaleMatrix(std::int64_t m, std::int64_t n, float beta, float* c, std::int64_t ldc) {
  for (std::int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f)
      std::fill(row, row + n, 0.0f);
    else if (beta != 1.0f)
      for (std::int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

// ---- splitting the work over threads ---------------------------------------------------------

struct Split {
  int rowParts, colParts, kParts;
};

// Products below this many multiply-adds finish before a worker would wake up.
constexpr double kSerialBelow = 64.0 * 64.0 * 64.0;
// Packing one element costs roughly as much as this many multiply-adds in the micro-kernel.
constexpr double kPackCost = 16.0;

// Picks rowParts × colParts = threads minimising the slowest thread's estimated time (its tile
// rounded up to whole register tiles, plus the packing it repeats); when C has too few tiles to
// share, splits k instead and sums partial products.
Split chooseSplit(const GemmKernel& kernel, std::int64_t m, std::int64_t n, std::int64_t k, int threads) {
  Split best{1, 1, 1};
  if (threads <= 1 || static_cast<double>(m) * n * k < kSerialBelow) return best;
  const std::int64_t rowPanels = ceilDiv(m, kernel.mr), colPanels = ceilDiv(n, kernel.nr);
  double bestCost = -1.0;
  for (int rowParts = 1; rowParts <= threads; ++rowParts) {
    if (threads % rowParts != 0) continue;
    const int colParts = threads / rowParts;
    if (rowParts > rowPanels || colParts > colPanels) continue;
    const double rows = static_cast<double>(ceilDiv(rowPanels, rowParts) * kernel.mr);
    const double cols = static_cast<double>(ceilDiv(colPanels, colParts) * kernel.nr);
    const double aPackings = static_cast<double>(ceilDiv(static_cast<std::int64_t>(cols), kernel.nc));
    const double cost = rows * cols * k + kPackCost * k * (rows * aPackings + cols);
    if (bestCost < 0 || cost < bestCost) {
      bestCost = cost;
      best = Split{rowParts, colParts, 1};
    }
  }
  if (bestCost < 0 && k >= 4 * kernel.kc) {
    best = Split{1, 1, static_cast<int>(std::min<std::int64_t>(threads, k / kernel.kc))};
  }
  return best;
}

// body(region) for the rowParts × colParts regions of C, in parallel when there are several;
// boundaries on whole register tiles, so only the last part has edge tiles.
template <class Body>
void forEachRegion(const GemmKernel& kernel, const Split& split, std::int64_t m, std::int64_t n, std::int64_t k,
                   Body&& body) {
  if (split.rowParts * split.colParts == 1) {
    body(Region{0, m, 0, n, 0, k});
    return;
  }
  const std::int64_t rowPanels = ceilDiv(m, kernel.mr), colPanels = ceilDiv(n, kernel.nr);
  parallelFor(split.rowParts * split.colParts, [&](std::ptrdiff_t part) {
    const std::int64_t r = part / split.colParts, q = part % split.colParts;
    const Region region{std::min(m, rowPanels * r / split.rowParts * kernel.mr),
                        std::min(m, rowPanels * (r + 1) / split.rowParts * kernel.mr),
                        std::min(n, colPanels * q / split.colParts * kernel.nr),
                        std::min(n, colPanels * (q + 1) / split.colParts * kernel.nr),
                        0,
                        k};
    if (region.m0 < region.m1 && region.n0 < region.n1) body(region);
  });
}

// Each of `parts` threads multiplies a slice of k; the first writes C (with beta), the others
// write partial products that are then added to C.
void gemmSplitK(const GemmKernel& kernel, int parts, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                ConstMatrix a, const BOperand& b, float beta, float* c, std::int64_t ldc) {
  float* partials = workspace(WorkspaceSlot::GemmReduce, static_cast<std::size_t>(parts - 1) * m * n);
  parallelFor(parts, [&](std::ptrdiff_t part) {
    const Region slice{0, m, 0, n, k * part / parts, k * (part + 1) / parts};
    if (part == 0)
      gemmRegion(kernel, slice, alpha, a, b, beta, c, ldc);
    else
      gemmRegion(kernel, slice, alpha, a, b, 0.0f, partials + (part - 1) * m * n, n);
  });
  for (int part = 1; part < parts; ++part) {
    const float* partial = partials + (part - 1) * m * n;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) c[i * ldc + j] += partial[i * n + j];
  }
}

// True when C's register tiles would be mostly padding (n = 10 classes, n = 27 taps of a first
// conv layer, n = 64 against NR = 48) while Cᵀ fits them far better. Not for short k, where the
// extra pass over C to transpose it back would cost more than the padding.
bool transposedFitsBetter(const GemmKernel& kernel, std::int64_t m, std::int64_t n, std::int64_t k) {
  if (k < 64) return false;
  const double direct = static_cast<double>(roundUp(m, kernel.mr)) * roundUp(n, kernel.nr);
  const double transposed = static_cast<double>(roundUp(n, kernel.mr)) * roundUp(m, kernel.nr);
  return transposed < 0.8 * direct;
}

// True when Cᵀ = op(B)ᵀ · op(A)ᵀ could read op(B)ᵀ in place (readsADirectly) and B is the larger
// operand: a batch of m = 128 rows times a weight matrix stored [n, k].
bool transposedReadsBDirectly(const GemmKernel& kernel, std::int64_t m, std::int64_t n, std::int64_t k, ConstMatrix b) {
  return b.trans && m >= kernel.nr - 16 && n > 2 * m &&
         readsADirectly(kernel, n, m, k, ConstMatrix{b.data, b.ld, false});
}

// Whether sgemm computes this product as Cᵀ (gemmViaTranspose) when left to choose.
bool computesTransposed(const GemmKernel& kernel, std::int64_t m, std::int64_t n, std::int64_t k, ConstMatrix b) {
  return transposedFitsBetter(kernel, m, n, k) || transposedReadsBDirectly(kernel, m, n, k, b);
}

enum class Orientation { Choose, AsGiven };

void gemmDispatch(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, ConstMatrix a, const BOperand& b,
                  float beta, float* c, std::int64_t ldc, Threading threading, Orientation orientation);

// C = alpha · (op(B)ᵀ · op(A)ᵀ)ᵀ + beta · C: the product computed as Cᵀ into scratch (the
// operands just swap and flip their transpose flags), then merged into C transposed.
void gemmViaTranspose(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, ConstMatrix a, ConstMatrix b,
                      float beta, float* c, std::int64_t ldc, Threading threading) {
  float* cT = workspace(WorkspaceSlot::GemmTransposed, static_cast<std::size_t>(n) * m);
  gemmDispatch(n, m, k, alpha, ConstMatrix{b.data, b.ld, !b.trans},
               BOperand{ConstMatrix{a.data, a.ld, !a.trans}, nullptr}, 0.0f, cT, m, threading, Orientation::AsGiven);
  // Eight rows of Cᵀ at a time: with m a power of two its rows are a power-of-two stride apart and
  // map to one L1 set, so reading all n of them per row of C would evict each line before reuse.
  constexpr std::int64_t kRowsOfCT = 8;
  const auto transposeBack = [&](std::ptrdiff_t b0, std::ptrdiff_t b1) {
    for (std::int64_t j0 = b0 * kRowsOfCT; j0 < std::min(n, b1 * kRowsOfCT); j0 += kRowsOfCT) {
      const std::int64_t j1 = std::min(n, j0 + kRowsOfCT);
      for (std::int64_t i = 0; i < m; ++i) {
        float* row = c + i * ldc;
        if (beta == 0.0f) {
          for (std::int64_t j = j0; j < j1; ++j) row[j] = cT[j * m + i];
        } else {
          for (std::int64_t j = j0; j < j1; ++j) row[j] = cT[j * m + i] + beta * row[j];
        }
      }
    }
  };
  splitRange(threading, ceilDiv(n, kRowsOfCT), transposeBack);
}

void gemmDispatch(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, ConstMatrix a, const BOperand& b,
                  float beta, float* c, std::int64_t ldc, Threading threading, Orientation orientation) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scaleMatrix(m, n, beta, c, ldc);
    return;
  }
  const GemmKernel& kernel = activeKernel();
  if (orientation == Orientation::Choose && b.source == nullptr && computesTransposed(kernel, m, n, k, b.matrix)) {
    gemmViaTranspose(m, n, k, alpha, a, b.matrix, beta, c, ldc, threading);
    return;
  }
  const Split split = chooseSplit(kernel, m, n, k, threading == Threading::Parallel ? threadCount() : 1);
  if (split.kParts > 1) {
    gemmSplitK(kernel, split.kParts, m, n, k, alpha, a, b, beta, c, ldc);
    return;
  }
  forEachRegion(kernel, split, m, n, k,
                [&](const Region& region) { gemmRegion(kernel, region, alpha, a, b, beta, c, ldc); });
}

// The product for a TileConsumer. Tile by tile when sgemm would run the blocked region path with
// a single k block (so each tile is final after one micro-kernel call, and rounds as sgemm's);
// otherwise (k split over threads or over blocks, the product computed transposed, degenerate
// shapes) stored whole by gemmDispatch into scratch and handed over eight rows at a time.
void gemmConsume(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, ConstMatrix a, ConstMatrix b,
                 const TileConsumer& consumer, Threading threading) {
  if (m <= 0 || n <= 0) return;
  const GemmKernel& kernel = activeKernel();
  const Split split = chooseSplit(kernel, m, n, k, threading == Threading::Parallel ? threadCount() : 1);
  const bool tileByTile =
      k > 0 && alpha != 0.0f && k <= kernel.kc && split.kParts == 1 && !computesTransposed(kernel, m, n, k, b);
  if (tileByTile) {
    forEachRegion(kernel, split, m, n, k, [&](const Region& region) {
      gemmRegion(kernel, region, alpha, a, BOperand{b, nullptr}, 0.0f, nullptr, 0, &consumer);
    });
    return;
  }
  float* product = workspace(WorkspaceSlot::GemmConsumed, static_cast<std::size_t>(m) * n);
  gemmDispatch(m, n, k, alpha, a, BOperand{b, nullptr}, 0.0f, product, n, threading, Orientation::Choose);
  constexpr std::int64_t kRows = 8;
  splitRange(threading, ceilDiv(m, kRows), [&](std::ptrdiff_t b0, std::ptrdiff_t b1) {
    for (std::int64_t i = b0 * kRows; i < std::min(m, b1 * kRows); i += kRows) {
      consumer.consume(product + i * n, n, i, 0, static_cast<int>(std::min(kRows, m - i)), static_cast<int>(n));
    }
  });
}

}  // namespace

void sgemm(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, ConstMatrix a, ConstMatrix b, float beta,
           float* c, std::int64_t ldc, Threading threading) {
  gemmDispatch(m, n, k, alpha, a, BOperand{b, nullptr}, beta, c, ldc, threading, Orientation::Choose);
}

void sgemm(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, ConstMatrix a, const PanelSource& b, float beta,
           float* c, std::int64_t ldc, Threading threading) {
  gemmDispatch(m, n, k, alpha, a, BOperand{ConstMatrix{nullptr, 0, false}, &b}, beta, c, ldc, threading,
               Orientation::AsGiven);
}

void sgemm(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, ConstMatrix a, ConstMatrix b,
           const TileConsumer& consumer, Threading threading) {
  gemmConsume(m, n, k, alpha, a, b, consumer, threading);
}

const char* activeGemmKernelName() { return activeKernel().name; }

// gemm(a, b, c, p) — the Kernels.gemm method.
RANDLAB_KERNEL(gemm) {
  const ParamsArg p = args.params(3);
  const GemmOperands<float> g = readGemmOperands<float>(args, 0, 1, p);
  const auto c = args.f32(2, "c");
  const float beta = static_cast<float>(p.number("beta"));
  args.requireLength(c, g.m, g.n, "c", "p.m * p.n");
  sgemm(g.m, g.n, g.k, g.alpha, g.a, g.b, beta, c.data, g.n);
  return args.undefined();
}

// gemmKernelName() — which micro-kernel gemm runs now, e.g. "avx512-8x48" (benchmarks, tests).
RANDLAB_KERNEL(gemmKernelName) { return Napi::String::New(args.env(), activeGemmKernelName()); }

}  // namespace randlab
