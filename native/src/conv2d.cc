// Implements src/kernels/reference/conv2d.ts (conv2dForward, conv2dBackwardData, conv2dBackwardFilter).
//
// Convolution passes: planning the image chunks, the three passes, and the JavaScript exports.
#include "conv2d.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>

#include "conv2d_im2col.h"
#include "conv2d_winograd.h"
#include "float64_sums.h"
#include "gemm.h"
#include "kernel_args.h"
#include "registry.h"
#include "simd_dispatch.h"
#include "threadpool.h"
#include "workspace.h"

namespace randlab {
namespace {

std::int64_t ceilDiv(std::int64_t x, std::int64_t y) { return (x + y - 1) / y; }

// ---- planning ---------------------------------------------------------------------------------

// Images are processed in chunks whose columns sit side by side in one GEMM, so layers with few
// output pixels (4×4, 2×2) still give the GEMM a wide n; the chunk's [outC, columns] staging
// buffer bounds it. The backward passes then go through the chunk's column matrix a block of
// input channels at a time, small enough to stay in L2 between the GEMM and im2col / col2im.
constexpr std::int64_t kTargetColumns = 1024;
constexpr std::int64_t kStagingBudgetFloats = std::int64_t{1} << 20;  // 4 MiB per thread
constexpr std::int64_t kColumnBlockFloats = std::int64_t{1} << 18;    // 1 MiB per thread
// Rows in a multiple of 48 are whole tiles of every micro-kernel (8×48, 6×16, 4×16).
constexpr std::int64_t kRowTile = 48;

struct ChunkPlan {
  std::int64_t imagesPerChunk;
  std::int64_t chunks;
  // True: each thread takes whole chunks with serial GEMMs (no synchronisation inside a chunk).
  // False (fewer chunks than threads, e.g. batch 1): chunks in turn, each stage split over threads.
  bool chunksAcrossThreads;
};

ChunkPlan planChunks(const ConvGeometry& g) {
  const int threads = threadCount();
  const std::int64_t S = std::max<std::int64_t>(1, g.outSpatial());
  std::int64_t per = ceilDiv(kTargetColumns, S);
  per = std::min(per, std::max<std::int64_t>(1, kStagingBudgetFloats / (g.outC * S)));
  if (g.n >= threads) per = std::min(per, g.n / threads);  // leave every thread a chunk
  per = std::max<std::int64_t>(1, std::min(per, g.n));
  const std::int64_t chunks = ceilDiv(g.n, per);
  return ChunkPlan{per, chunks, threads > 1 && chunks >= threads};
}

// Input channels per block of the column matrix: as many as fit kColumnBlockFloats, in a multiple
// that makes the block's rows (channels · kh · kw) whole register tiles of the GEMM, because the
// rows are the GEMM's m (backward data) or n (backward filter).
std::int64_t channelBlock(const ConvGeometry& g, std::int64_t cols) {
  const std::int64_t taps = g.kh * g.kw;
  const std::int64_t limit = std::max<std::int64_t>(1, kColumnBlockFloats / (taps * cols));
  if (limit >= g.c) return g.c;
  const std::int64_t unit = kRowTile / std::gcd(taps, kRowTile);  // channels per whole tile
  const std::int64_t balanced = ceilDiv(g.c, ceilDiv(g.c, limit));
  const std::int64_t aligned = ceilDiv(balanced, unit) * unit;
  return aligned <= limit ? aligned : balanced;
}

// ---- layout shuffles between NCHW and the chunk's [rows, image·S] matrices -------------------

// staged[o][image·S + s] = src[image][o][s] for o in [o0, o1).
void gatherImages(const float* src, std::int64_t images, std::int64_t rows, std::int64_t S, std::int64_t o0,
                  std::int64_t o1, float* staged) {
  const std::int64_t cols = images * S;
  for (std::int64_t o = o0; o < o1; ++o)
    for (std::int64_t image = 0; image < images; ++image)
      std::memcpy(staged + o * cols + image * S, src + (image * rows + o) * S, sizeof(float) * S);
}

// dst[image][o][s] = staged[o][image·S + s] + bias[o] (bias may be null) for o in [o0, o1).
void scatterImages(const float* __restrict staged, const float* bias, std::int64_t images, std::int64_t rows,
                   std::int64_t S, std::int64_t o0, std::int64_t o1, float* __restrict dst) {
  const std::int64_t cols = images * S;
  for (std::int64_t o = o0; o < o1; ++o) {
    const float b = bias != nullptr ? bias[o] : 0.0f;
    for (std::int64_t image = 0; image < images; ++image) {
      const float* in = staged + o * cols + image * S;
      float* out = dst + (image * rows + o) * S;
      for (std::int64_t s = 0; s < S; ++s) out[s] = in[s] + b;
    }
  }
}

void addBias(float* y, const float* bias, std::int64_t o0, std::int64_t o1, std::int64_t S) {
  for (std::int64_t o = o0; o < o1; ++o) {
    float* row = y + o * S;
    const float b = bias[o];
    for (std::int64_t s = 0; s < S; ++s) row[s] += b;
  }
}

// target[o] (+)= Σ_j m[o][j] for o in [o0, o1), j in [0, cols), summed in double.
void sumRowsInto(const float* m, std::int64_t ld, std::int64_t cols, std::int64_t o0, std::int64_t o1, bool accumulate,
                 float* target) {
  for (std::int64_t o = o0; o < o1; ++o) {
    const double sum = sumOf(m + o * ld, cols);
    target[o] = static_cast<float>(accumulate ? target[o] + sum : sum);
  }
}

// ---- one chunk of each pass ------------------------------------------------------------------

// The chunk's images with explicit zero padding, in this thread's buffer.
PaddedImages padChunk(const float* x, std::int64_t images, const ConvGeometry& g, Threading threading) {
  float* padded = workspace(WorkspaceSlot::ConvPadded, paddedImagesSize(images, g));
  splitRange(threading, g.c, [&](std::ptrdiff_t c0, std::ptrdiff_t c1) { padImages(x, images, g, c0, c1, padded); });
  return PaddedImages{padded, g.h + 2 * g.padH, g.w + 2 * g.padW};
}

// y = W · columns: the image itself for a pointwise conv, else im2col packed on the fly.
void multiplyColumns(const float* x, const float* w, std::int64_t images, const ConvGeometry& g, float* out,
                     Threading threading) {
  const std::int64_t cols = images * g.outSpatial(), K = g.windowSize();
  const ConstMatrix filters{w, K, false};
  if (g.isPointwise() && images == 1) {
    sgemm(g.outC, cols, K, 1.0f, filters, ConstMatrix{x, cols, false}, 0.0f, out, cols, threading);
  } else {
    sgemm(g.outC, cols, K, 1.0f, filters, Im2colPanels(padChunk(x, images, g, threading), g), 0.0f, out, cols,
          threading);
  }
}

void forwardChunk(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g,
                  std::int64_t images, Threading threading) {
  const std::int64_t S = g.outSpatial(), cols = images * S;
  if (images == 1) {  // the GEMM result is already the image's NCHW output
    multiplyColumns(x, w, images, g, y, threading);
    if (bias != nullptr)
      splitRange(threading, g.outC,
                 [&](std::ptrdiff_t o0, std::ptrdiff_t o1) { simdDispatch([&] { addBias(y, bias, o0, o1, S); }); });
    return;
  }
  float* staged = workspace(WorkspaceSlot::ConvStaging, g.outC * cols);
  multiplyColumns(x, w, images, g, staged, threading);
  splitRange(threading, g.outC, [&](std::ptrdiff_t o0, std::ptrdiff_t o1) {
    simdDispatch([&] { scatterImages(staged, bias, images, g.outC, S, o0, o1, y); });
  });
}

// dY of the chunk as one [outC, images·S] matrix: the image's own buffer when it is a single image.
const float* chunkOutputGradient(const float* dy, std::int64_t images, const ConvGeometry& g, Threading threading) {
  if (images == 1) return dy;
  const std::int64_t S = g.outSpatial();
  float* staged = workspace(WorkspaceSlot::ConvStaging, g.outC * images * S);
  splitRange(threading, g.outC,
             [&](std::ptrdiff_t o0, std::ptrdiff_t o1) { gatherImages(dy, images, g.outC, S, o0, o1, staged); });
  return staged;
}

void backwardDataChunk(const float* dy, const float* w, float* dx, const ConvGeometry& g, std::int64_t images,
                       Threading threading) {
  const std::int64_t S = g.outSpatial(), K = g.windowSize(), cols = images * S, plane = g.inSpatial();
  const std::int64_t taps = g.kh * g.kw;
  const float* dyChunk = chunkOutputGradient(dy, images, g, threading);
  if (g.isPointwise() && images == 1) {  // dx = Wᵀ · dY directly (K = c, S = h·w)
    sgemm(g.c, S, g.outC, 1.0f, ConstMatrix{w, K, true}, ConstMatrix{dyChunk, S, false}, 0.0f, dx, S, threading);
    return;
  }
  const std::int64_t block = channelBlock(g, cols);
  float* col = workspace(WorkspaceSlot::ConvColumns, block * taps * cols);
  for (std::int64_t c0 = 0; c0 < g.c; c0 += block) {
    const std::int64_t c1 = std::min(g.c, c0 + block);
    // Rows of dcol for channels [c0, c1) = the matching rows of Wᵀ (columns of W) times dY.
    sgemm((c1 - c0) * taps, cols, g.outC, 1.0f, ConstMatrix{w + c0 * taps, K, true}, ConstMatrix{dyChunk, cols, false},
          0.0f, col, cols, threading);
    splitRange(threading, c1 - c0, [&](std::ptrdiff_t a, std::ptrdiff_t b) {
      for (std::int64_t image = 0; image < images; ++image)
        std::fill(dx + (image * g.c + c0 + a) * plane, dx + (image * g.c + c0 + b) * plane, 0.0f);
      col2imAccumulate(col + a * taps * cols, images, g, c0 + a, c0 + b, dx);
    });
  }
}

// dwTarget (+)= dY_chunk · col_chunkᵀ and dbiasTarget (+)= row sums of dY_chunk; `accumulate`
// is false for the first chunk a target sees.
void backwardFilterChunk(const float* x, const float* dy, float* dwTarget, float* dbiasTarget, const ConvGeometry& g,
                         std::int64_t images, bool accumulate, Threading threading) {
  const std::int64_t S = g.outSpatial(), K = g.windowSize(), cols = images * S, taps = g.kh * g.kw;
  const float* dyChunk = chunkOutputGradient(dy, images, g, threading);
  const ConstMatrix dyMatrix{dyChunk, cols, false};
  const float beta = accumulate ? 1.0f : 0.0f;
  if (dbiasTarget != nullptr) {
    splitRange(threading, g.outC, [&](std::ptrdiff_t o0, std::ptrdiff_t o1) {
      simdDispatch([&] { sumRowsInto(dyChunk, cols, cols, o0, o1, accumulate, dbiasTarget); });
    });
  }
  if (g.isPointwise() && images == 1) {  // the image is its own column matrix
    sgemm(g.outC, K, cols, 1.0f, dyMatrix, ConstMatrix{x, cols, true}, beta, dwTarget, K, threading);
    return;
  }
  // colᵀ packed straight from the images, unless dW is too narrow for the register tile (a first
  // layer's 27 taps): then the written column matrix lets the GEMM compute dWᵀ instead.
  if (TransposedIm2colPanels::supported(g) && K >= kRowTile) {
    const PaddedImages padded = padChunk(x, images, g, threading);
    sgemm(g.outC, K, cols, 1.0f, dyMatrix, TransposedIm2colPanels(padded, g), beta, dwTarget, K, threading);
    return;
  }
  const std::int64_t block = channelBlock(g, cols);
  float* col = workspace(WorkspaceSlot::ConvColumns, block * taps * cols);
  for (std::int64_t c0 = 0; c0 < g.c; c0 += block) {
    const std::int64_t c1 = std::min(g.c, c0 + block);
    splitRange(threading, c1 - c0, [&](std::ptrdiff_t a, std::ptrdiff_t b) {
      im2col(x, images, g, c0 + a, c0 + b, col + a * taps * cols);
    });
    // Columns [c0·taps, c1·taps) of dW.
    sgemm(g.outC, (c1 - c0) * taps, cols, 1.0f, dyMatrix, ConstMatrix{col, cols, true}, beta, dwTarget + c0 * taps, K,
          threading);
  }
}

// ---- driving the chunks ----------------------------------------------------------------------

// fn(firstImage, images, threading) for every chunk, spread over threads as the plan says.
void forEachChunk(const ChunkPlan& plan, std::int64_t n,
                  const std::function<void(std::int64_t, std::int64_t, Threading)>& fn) {
  auto run = [&](std::int64_t chunk, Threading threading) {
    const std::int64_t first = chunk * plan.imagesPerChunk;
    fn(first, std::min(plan.imagesPerChunk, n - first), threading);
  };
  if (plan.chunksAcrossThreads) {
    parallelFor(plan.chunks, [&](std::ptrdiff_t chunk) { run(chunk, Threading::Serial); });
  } else {
    for (std::int64_t chunk = 0; chunk < plan.chunks; ++chunk) run(chunk, Threading::Parallel);
  }
}

}  // namespace

ConvGeometry backwardDataAsForward(const ConvGeometry& g) {
  return ConvGeometry{g.n, g.outC, g.outH, g.outW, g.c, g.kh, g.kw, 1, 1, g.kh - 1 - g.padH, g.kw - 1 - g.padW,
                      g.h, g.w};
}

void conv2dForward(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g) {
  if (g.n == 0 || g.outSpatial() == 0) return;
  if (winogradSuitable(g)) return winogradForward(x, w, bias, y, g);
  const std::int64_t xImage = g.c * g.inSpatial(), yImage = g.outC * g.outSpatial();
  forEachChunk(planChunks(g), g.n, [&](std::int64_t first, std::int64_t images, Threading threading) {
    forwardChunk(x + first * xImage, w, bias, y + first * yImage, g, images, threading);
  });
}

namespace {

// For stride 1, ∂L/∂x is itself a convolution: dY padded by kh − 1 − padH (and likewise in w),
// correlated with the filters flipped in space and with in/out channels swapped. It runs as a
// forward pass (columns packed straight from dY) instead of a GEMM into a column matrix followed
// by col2im, which would write and re-read kh·kw floats per input pixel.
//
// That forward pass's GEMM has m = c rows, so each packed column entry is used c times; with few
// input channels (a first layer's 3) the packing would dominate, and the column-matrix route,
// whose GEMM reuses each packed dY entry kh·kw·c times, is several times faster (measured).
bool isTransposableAsForward(const ConvGeometry& g) {
  if (g.c < std::min<std::int64_t>(g.outC, 64)) return false;
  return g.strideH == 1 && g.strideW == 1 && g.padH < g.kh && g.padW < g.kw;
}

// flipped[c][o][ki][kj] = w[o][c][kh − 1 − ki][kw − 1 − kj].
// Filters go in blocks of 16 so both the reads and the writes stream (a plain loop over o then
// c writes each filter 9·outC floats past the last).
void flipFilters(const float* w, const ConvGeometry& g, float* flipped) {
  const std::int64_t taps = g.kh * g.kw;
  constexpr std::int64_t kBlock = 16;
  for (std::int64_t ob = 0; ob < g.outC; ob += kBlock)
    for (std::int64_t c = 0; c < g.c; ++c)
      for (std::int64_t o = ob; o < std::min(g.outC, ob + kBlock); ++o) {
        const float* src = w + (o * g.c + c) * taps;
        float* dst = flipped + (c * g.outC + o) * taps;
        for (std::int64_t t = 0; t < taps; ++t) dst[t] = src[taps - 1 - t];
      }
}

}  // namespace

void conv2dBackwardData(const float* dy, const float* w, float* dx, const ConvGeometry& g) {
  if (g.n == 0) return;
  if (g.outSpatial() > 0 && isTransposableAsForward(g)) {
    if (winogradSuitable(backwardDataAsForward(g))) return winogradBackwardData(dy, w, dx, g);
    float* flipped = workspace(WorkspaceSlot::ConvFlippedFilters, g.outC * g.windowSize());
    flipFilters(w, g, flipped);
    conv2dForward(dy, flipped, nullptr, dx, backwardDataAsForward(g));
    return;
  }
  const std::int64_t xImage = g.c * g.inSpatial(), yImage = g.outC * g.outSpatial();
  if (g.outSpatial() == 0) {
    std::fill(dx, dx + g.n * xImage, 0.0f);
    return;
  }
  forEachChunk(planChunks(g), g.n, [&](std::int64_t first, std::int64_t images, Threading threading) {
    backwardDataChunk(dy + first * yImage, w, dx + first * xImage, g, images, threading);
  });
}

void conv2dBackwardFilter(const float* x, const float* dy, float* dw, float* dbias, const ConvGeometry& g) {
  const std::int64_t K = g.windowSize(), filterSize = g.outC * K;
  const std::int64_t xImage = g.c * g.inSpatial(), yImage = g.outC * g.outSpatial();
  if (g.n == 0 || g.outSpatial() == 0) {
    std::fill(dw, dw + filterSize, 0.0f);
    if (dbias != nullptr) std::fill(dbias, dbias + g.outC, 0.0f);
    return;
  }
  if (winogradSuitableForFilterGradient(g)) return winogradBackwardFilter(x, dy, dw, dbias, g);
  const ChunkPlan plan = planChunks(g);
  if (!plan.chunksAcrossThreads) {
    for (std::int64_t chunk = 0; chunk < plan.chunks; ++chunk) {
      const std::int64_t first = chunk * plan.imagesPerChunk, images = std::min(plan.imagesPerChunk, g.n - first);
      backwardFilterChunk(x + first * xImage, dy + first * yImage, dw, dbias, g, images, chunk > 0,
                          Threading::Parallel);
    }
    return;
  }
  // One task per thread, each summing a fixed run of chunks into its own target: task 0 into dw
  // itself, the others into partial buffers added at the end (one pass over dw per extra thread).
  // The runs are fixed rather than claimed on demand so the summation order, and so the result,
  // is the same on every call (training runs must be bit-reproducible).
  const int parts = static_cast<int>(std::min<std::int64_t>(threadCount(), plan.chunks));
  const std::int64_t biasSize = dbias != nullptr ? g.outC : 0, partialSize = filterSize + biasSize;
  float* partials = workspace(WorkspaceSlot::ConvPartialSum, (parts - 1) * partialSize);
  parallelFor(parts, [&](std::ptrdiff_t part) {
    float* dwTarget = part == 0 ? dw : partials + (part - 1) * partialSize;
    float* dbiasTarget = dbias == nullptr ? nullptr : part == 0 ? dbias : dwTarget + filterSize;
    const std::int64_t chunk0 = plan.chunks * part / parts, chunk1 = plan.chunks * (part + 1) / parts;
    for (std::int64_t chunk = chunk0; chunk < chunk1; ++chunk) {
      const std::int64_t first = chunk * plan.imagesPerChunk, images = std::min(plan.imagesPerChunk, g.n - first);
      backwardFilterChunk(x + first * xImage, dy + first * yImage, dwTarget, dbiasTarget, g, images, chunk > chunk0,
                          Threading::Serial);
    }
  });
  parallelRange(partialSize, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (int part = 1; part < parts; ++part) {
      const float* partial = partials + (part - 1) * partialSize;
      for (std::ptrdiff_t i = begin; i < end; ++i) {
        if (i < filterSize)
          dw[i] += partial[i];
        else
          dbias[i - filterSize] += partial[i];
      }
    }
  });
}

namespace {

// ---- JavaScript exports: the Kernels methods' exact signatures --------------------------------

ConvGeometry readGeometry(const KernelArgs& args, const ParamsArg& p) {
  const ConvGeometry g{p.integer("n"),          p.integer("c", 1),  p.integer("h"),     p.integer("w"),
                       p.integer("outC", 1),    p.integer("kh", 1), p.integer("kw", 1), p.integer("strideH", 1),
                       p.integer("strideW", 1), p.integer("padH"),  p.integer("padW"),  p.integer("outH"),
                       p.integer("outW")};
  const std::int64_t spanH = g.h + 2 * g.padH - g.kh, spanW = g.w + 2 * g.padW - g.kw;
  const std::int64_t outH = spanH < 0 ? 0 : spanH / g.strideH + 1, outW = spanW < 0 ? 0 : spanW / g.strideW + 1;
  if (g.outH != outH || g.outW != outW) {
    args.fail("p.outH x p.outW is " + std::to_string(g.outH) + "x" + std::to_string(g.outW) +
              " but the geometry gives " + std::to_string(outH) + "x" + std::to_string(outW));
  }
  return g;
}

std::size_t inputSize(const ConvGeometry& g) { return g.n * g.c * g.h * g.w; }
std::size_t outputSize(const ConvGeometry& g) { return g.n * g.outC * g.outH * g.outW; }
std::size_t filterSize(const ConvGeometry& g) { return g.outC * g.windowSize(); }

}  // namespace

// conv2dForward(x, w, bias | null, y, p)
RANDLAB_KERNEL(conv2dForward) {
  const auto x = args.f32(0, "x");
  const auto w = args.f32(1, "w");
  const auto bias = args.f32OrNull(2, "bias");
  const auto y = args.f32(3, "y");
  const ConvGeometry g = readGeometry(args, args.params(4));
  args.requireLength(x, inputSize(g), "x", "n*c*h*w");
  args.requireLength(w, filterSize(g), "w", "outC*c*kh*kw");
  if (bias.data != nullptr) args.requireLength(bias, g.outC, "bias", "outC");
  args.requireLength(y, outputSize(g), "y", "n*outC*outH*outW");
  conv2dForward(x.data, w.data, bias.data, y.data, g);
  return args.undefined();
}

// conv2dBackwardData(dy, w, dx, p)
RANDLAB_KERNEL(conv2dBackwardData) {
  const auto dy = args.f32(0, "dy");
  const auto w = args.f32(1, "w");
  const auto dx = args.f32(2, "dx");
  const ConvGeometry g = readGeometry(args, args.params(3));
  args.requireLength(dy, outputSize(g), "dy", "n*outC*outH*outW");
  args.requireLength(w, filterSize(g), "w", "outC*c*kh*kw");
  args.requireLength(dx, inputSize(g), "dx", "n*c*h*w");
  conv2dBackwardData(dy.data, w.data, dx.data, g);
  return args.undefined();
}

// conv2dBackwardFilter(x, dy, dw, dbias | null, p)
RANDLAB_KERNEL(conv2dBackwardFilter) {
  const auto x = args.f32(0, "x");
  const auto dy = args.f32(1, "dy");
  const auto dw = args.f32(2, "dw");
  const auto dbias = args.f32OrNull(3, "dbias");
  const ConvGeometry g = readGeometry(args, args.params(4));
  args.requireLength(x, inputSize(g), "x", "n*c*h*w");
  args.requireLength(dy, outputSize(g), "dy", "n*outC*outH*outW");
  args.requireLength(dw, filterSize(g), "dw", "outC*c*kh*kw");
  if (dbias.data != nullptr) args.requireLength(dbias, g.outC, "dbias", "outC");
  conv2dBackwardFilter(x.data, dy.data, dw.data, dbias.data, g);
  return args.undefined();
}

}  // namespace randlab
