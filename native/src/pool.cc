// Implements src/kernels/reference/pool.ts.
//
// Pooling kernels: max and average 2-d pooling (forward and backward) and global average pooling.
//
// Work is split by (n, c) plane: planes are independent in both directions, so backward kernels
// can scatter into dx without atomics. The common 2×2 stride-2 unpadded window has its own loops
// (for max pooling one loop over a group of planes, vectorised however short the rows are); other
// geometries read a padded copy of each plane in blocks of 16 output columns.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "float64_sums.h"
#include "kernel_args.h"
#include "parallel_loops.h"

namespace randlab {
namespace {

using Index = std::ptrdiff_t;

struct PoolGeometry {
  Index n, c, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW;
  Index planes() const { return n * c; }
  Index inPlane() const { return h * w; }
  Index outPlane() const { return outH * outW; }
  bool isTwoByTwoStrideTwo() const {
    return kh == 2 && kw == 2 && strideH == 2 && strideW == 2 && padH == 0 && padW == 0;
  }
};

Index expectedOutSize(const ParamsArg& p, Index in, Index k, Index stride, Index pad, const char* inName,
                      const char* padName) {
  // PyTorch allows at most k/2; any pad < k keeps every window's first clipped position inside
  // the plane, which the indices of max pooling rely on.
  if (pad >= k) p.fail(padName, "must be smaller than the window");
  if (in + 2 * pad < k) p.fail(inName, "plus twice the padding is smaller than the window");
  return (in + 2 * pad - k) / stride + 1;
}

PoolGeometry readPoolGeometry(const KernelArgs& args, std::size_t index) {
  const ParamsArg p = args.params(index);
  PoolGeometry g{};
  g.n = p.integer("n");
  g.c = p.integer("c");
  g.h = p.integer("h");
  g.w = p.integer("w");
  g.kh = p.integer("kh", 1);
  g.kw = p.integer("kw", 1);
  g.strideH = p.integer("strideH", 1);
  g.strideW = p.integer("strideW", 1);
  g.padH = p.integer("padH");
  g.padW = p.integer("padW");
  g.outH = p.integer("outH");
  g.outW = p.integer("outW");
  const Index outH = expectedOutSize(p, g.h, g.kh, g.strideH, g.padH, "h", "padH");
  const Index outW = expectedOutSize(p, g.w, g.kw, g.strideW, g.padW, "w", "padW");
  if (g.outH != outH) p.fail("outH", "is " + std::to_string(g.outH) + ", expected " + std::to_string(outH));
  if (g.outW != outW) p.fail("outW", "is " + std::to_string(g.outW) + ", expected " + std::to_string(outW));
  return g;
}

// The input rows/cols a window covers, clipped to the plane.
struct Window {
  Index begin, end;
};
inline Window clippedWindow(Index out, Index stride, Index pad, Index k, Index size) {
  const Index start = out * stride - pad;
  return {std::max<Index>(start, 0), std::min<Index>(start + k, size)};
}

// Generic windows read a padded copy of the plane (padH rows and padW columns of −∞ for max, of
// 0 for average, around it), so no window needs clipping. An output row is computed kBlock columns
// at a time, one tap of the window after the other, each tap one loop of exactly kBlock lanes: a
// single vector iteration with AVX-512, two with AVX2. (Loops over a whole row do not do: rows
// are short, the vectoriser leaves them to its scalar remainder loop, and there the selects of max
// pooling become unpredictable branches. The fixed loops must not be unrolled before the
// vectoriser sees them, for the same reason.) The last block computes columns past the row end,
// reading the scratch's slack, and drops them. Every output takes its window's taps in row-major
// order, as the reference scans them, so ties and NaN resolve the same way.
constexpr Index kBlock = 16;
#if defined(__clang__)
#define RANDLAB_VECTOR_LOOP _Pragma("clang loop unroll(disable) vectorize(enable)")
#elif defined(__GNUC__)
#define RANDLAB_VECTOR_LOOP _Pragma("GCC unroll 1")
#else
#define RANDLAB_VECTOR_LOOP
#endif

using StrideOne = std::integral_constant<Index, 1>;
using StrideTwo = std::integral_constant<Index, 2>;

// Calls fn(stride) with stride as std::integral_constant for 1 and 2, else as a run-time value.
template <class Fn>
void withStride(Index stride, Fn fn) {
  if (stride == 1)
    fn(StrideOne{});
  else if (stride == 2)
    fn(StrideTwo{});
  else
    fn(stride);
}

// Per-thread scratch space, grown on demand; kSlot tells apart buffers in use at the same time.
template <typename T, int kSlot>
T* scratch(std::size_t length) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < length) buffer.resize(length);
  return buffer.data();
}

struct PaddedPlane {
  float* data;
  Index width;   // w + 2·padW
  Index height;  // h + 2·padH
  const float* at(Index row, Index col) const { return data + row * width + col; }
};

// Slack after the last row covers the reads of a last block's dropped columns.
PaddedPlane emptyPaddedPlane(const PoolGeometry& g) {
  const Index width = g.w + 2 * g.padW, height = g.h + 2 * g.padH;
  const Index slack = kBlock * g.strideW + g.kw;
  float* data = scratch<float, 0>(static_cast<std::size_t>(width * height + slack));
  std::memset(data + width * height, 0, sizeof(float) * static_cast<std::size_t>(slack));
  return {data, width, height};
}

// The plane x inside a border of `fill`.
PaddedPlane padPlane(const float* x, const PoolGeometry& g, float fill) {
  const PaddedPlane p = emptyPaddedPlane(g);
  for (Index r = 0; r < p.height; ++r) {
    float* row = p.data + r * p.width;
    const Index ih = r - g.padH;
    if (ih < 0 || ih >= g.h) {
      for (Index j = 0; j < p.width; ++j) row[j] = fill;
      continue;
    }
    for (Index j = 0; j < g.padW; ++j) row[j] = row[g.padW + g.w + j] = fill;
    std::memcpy(row + g.padW, x + ih * g.w, sizeof(float) * static_cast<std::size_t>(g.w));
  }
  return p;
}

// --- max pooling ----------------------------------------------------------------------------------

// Whether v replaces the current maximum: strictly greater (ties keep the first in row-major
// window order), or NaN (PyTorch propagates NaN; the last NaN wins).
inline bool beats(float v, float best) { return v > best || v != v; }

// 2×2 stride-2 windows without padding (VGG), for a group of consecutive planes at once. The
// windows' top rows are copied one after the other, and likewise their bottom rows, so a single
// loop over all the group's outputs reads each window as top[2o], top[2o + 1], bottom[2o],
// bottom[2o + 1] (its taps in row-major order) and is vectorised however short the output rows
// are: with a loop per output row, the 4- and 2-wide rows of VGG's 8×8 and 4×4 planes ran as
// scalar code whose selects became mispredicted branches (VGG's 8×8 pool: 10.6 ms, now 0.5–0.7 ms
// on one thread). Groups hold at least kTwoByTwoGroupOutputs outputs.
constexpr Index kTwoByTwoGroupOutputs = 256;

struct TwoByTwoGroups {
  Index planesPerGroup, groups;
  // Index within its plane of each window's top-left input, (2·oh)·w + 2·ow, for every output of
  // a group (the same for every group).
  std::vector<std::int32_t> starts;

  explicit TwoByTwoGroups(const PoolGeometry& g)
      : planesPerGroup(std::max<Index>(1, kTwoByTwoGroupOutputs / std::max<Index>(1, g.outPlane()))),
        groups((g.planes() + planesPerGroup - 1) / planesPerGroup),
        starts(static_cast<std::size_t>(planesPerGroup * g.outPlane())) {
    for (Index p = 0; p < planesPerGroup; ++p)
      for (Index oh = 0; oh < g.outH; ++oh)
        for (Index ow = 0; ow < g.outW; ++ow)
          starts[static_cast<std::size_t>((p * g.outH + oh) * g.outW + ow)] =
              static_cast<std::int32_t>(2 * oh * g.w + 2 * ow);
  }
};

// `planes` consecutive planes starting at x; y and indices point at their outputs.
void maxPoolTwoByTwoStrideTwo(const float* x, float* y, std::int32_t* indices, const PoolGeometry& g, Index planes,
                              const std::int32_t* starts) {
  const Index rowFloats = 2 * g.outW;  // the part of an input row that windows cover
  const Index rows = planes * g.outH;  // window rows of the group
  const auto staged = static_cast<std::size_t>(rows * rowFloats);
  float* top = scratch<float, 2>(staged);
  float* bottom = scratch<float, 3>(staged);
  for (Index r = 0; r < rows; ++r) {
    // Window row r is row oh = r % outH of plane r / outH: input rows 2·oh and 2·oh + 1.
    const float* in = x + (r / g.outH) * g.inPlane() + 2 * (r % g.outH) * g.w;
    std::memcpy(top + r * rowFloats, in, sizeof(float) * static_cast<std::size_t>(rowFloats));
    std::memcpy(bottom + r * rowFloats, in + g.w, sizeof(float) * static_cast<std::size_t>(rowFloats));
  }
  const auto w = static_cast<std::int32_t>(g.w);
  const Index outputs = planes * g.outPlane();
  for (Index o = 0; o < outputs; ++o) {
    const float a = top[2 * o], b = top[2 * o + 1], c = bottom[2 * o], d = bottom[2 * o + 1];
    const std::int32_t start = starts[o];
    float best = a;
    std::int32_t at = start;
    bool take = beats(b, best);
    best = take ? b : best;
    at = take ? start + 1 : at;
    take = beats(c, best);
    best = take ? c : best;
    at = take ? start + w : at;
    take = beats(d, best);
    best = take ? d : best;
    at = take ? start + w + 1 : at;
    y[o] = best;
    indices[o] = at;
  }
}

// Output row oh from the padded plane. Padding is −∞, which never beats, so a window keeps its
// initial index (its first clipped position, as in the reference) until a real value wins.
template <class Stride>
void maxPoolOutputRow(const PaddedPlane& in, float* best, std::int32_t* at, const PoolGeometry& g, Index oh,
                      Stride stride) {
  const Index top = oh * g.strideH;  // the window's first row, in padded coordinates
  const auto firstRow = static_cast<std::int32_t>(std::max<Index>(top - g.padH, 0) * g.w);
  const auto padW = static_cast<std::int32_t>(g.padW);
  const auto step = static_cast<std::int32_t>(stride);
  for (Index ow0 = 0; ow0 < g.outW; ow0 += kBlock) {
    const auto column0 = static_cast<std::int32_t>(ow0) * step;  // padded column of the block's first window
    float b[kBlock];
    std::int32_t a[kBlock];
    RANDLAB_VECTOR_LOOP
    for (int l = 0; l < kBlock; ++l) {
      b[l] = -std::numeric_limits<float>::infinity();
      a[l] = firstRow + std::max<std::int32_t>(column0 + l * step - padW, 0);
    }
    for (Index ki = 0; ki < g.kh; ++ki) {
      const float* row = in.at(top + ki, column0);
      // Input index of padded cell (top + ki, column): (top + ki − padH)·w + column − padW.
      const auto rowBase = static_cast<std::int32_t>((top + ki - g.padH) * g.w) - padW + column0;
      for (Index kj = 0; kj < g.kw; ++kj) {
        const float* tap = row + kj;
        const auto base = rowBase + static_cast<std::int32_t>(kj);
        RANDLAB_VECTOR_LOOP
        for (int l = 0; l < kBlock; ++l) {
          const float v = tap[l * stride];
          const bool take = beats(v, b[l]);
          b[l] = take ? v : b[l];
          a[l] = take ? base + l * step : a[l];
        }
      }
    }
    const Index valid = std::min(kBlock, g.outW - ow0);
    for (Index l = 0; l < valid; ++l) {
      best[ow0 + l] = b[l];
      at[ow0 + l] = a[l];
    }
  }
}

void maxPoolPlane(const float* x, float* y, std::int32_t* indices, const PoolGeometry& g) {
  const PaddedPlane in = padPlane(x, g, -std::numeric_limits<float>::infinity());
  withStride(g.strideW, [&](auto stride) {
    for (Index oh = 0; oh < g.outH; ++oh) maxPoolOutputRow(in, y + oh * g.outW, indices + oh * g.outW, g, oh, stride);
  });
}

RANDLAB_KERNEL(maxPool2dForward) {
  const PoolGeometry g = readPoolGeometry(args, 3);
  const auto x = args.f32(0, "x");
  const auto y = args.f32(1, "y");
  const auto indices = args.i32(2, "indices");
  args.requireLength(x, static_cast<std::size_t>(g.planes() * g.inPlane()), "x", "n·c·h·w");
  args.requireLength(y, static_cast<std::size_t>(g.planes() * g.outPlane()), "y", "n·c·outH·outW");
  args.requireLength(indices, y.length, "indices", "n·c·outH·outW");
  const Index work = g.planes() * (g.inPlane() + 2 * g.outPlane());
  if (g.isTwoByTwoStrideTwo()) {
    const TwoByTwoGroups groups(g);
    parallelTasks(groups.groups, work, [&](Index group) {
      const Index first = group * groups.planesPerGroup;
      const Index planes = std::min(groups.planesPerGroup, g.planes() - first);
      const Index out = first * g.outPlane();
      maxPoolTwoByTwoStrideTwo(x.data + first * g.inPlane(), y.data + out, indices.data + out, g, planes,
                               groups.starts.data());
    });
    return args.undefined();
  }
  parallelTasks(g.planes(), work, [&](Index plane) {
    maxPoolPlane(x.data + plane * g.inPlane(), y.data + plane * g.outPlane(), indices.data + plane * g.outPlane(), g);
  });
  return args.undefined();
}

RANDLAB_KERNEL(maxPool2dBackward) {
  const PoolGeometry g = readPoolGeometry(args, 3);
  const auto dy = args.f32(0, "dy");
  const auto indices = args.i32(1, "indices");
  const auto dx = args.f32(2, "dx");
  args.requireLength(dy, static_cast<std::size_t>(g.planes() * g.outPlane()), "dy", "n·c·outH·outW");
  args.requireLength(indices, dy.length, "indices", "n·c·outH·outW");
  args.requireLength(dx, static_cast<std::size_t>(g.planes() * g.inPlane()), "dx", "n·c·h·w");
  const Index inPlane = g.inPlane(), outPlane = g.outPlane();
  // An index outside its plane would write out of bounds: it is skipped, and reported afterwards.
  std::atomic<bool> outOfRange{false};
  parallelTasks(g.planes(), g.planes() * (inPlane + 2 * outPlane), [&](Index plane) {
    float* dxp = dx.data + plane * inPlane;
    const float* dyp = dy.data + plane * outPlane;
    const std::int32_t* ip = indices.data + plane * outPlane;
    std::memset(dxp, 0, sizeof(float) * static_cast<std::size_t>(inPlane));
    bool bad = false;
    for (Index o = 0; o < outPlane; ++o) {
      const Index at = ip[o];
      if (at >= 0 && at < inPlane)
        dxp[at] += dyp[o];
      else
        bad = true;
    }
    if (bad) outOfRange.store(true, std::memory_order_relaxed);
  });
  if (outOfRange.load()) args.fail("indices holds an index outside its n,c plane");
  return args.undefined();
}

// --- average pooling (count_include_pad: the divisor is always kh·kw) ------------------------------

// Window sums in float64, taps in row-major order, then divided by kh·kw: the reference's arithmetic.
void avgPoolPlane(const float* x, float* y, const PoolGeometry& g) {
  const double area = static_cast<double>(g.kh * g.kw);
  if (g.isTwoByTwoStrideTwo()) {
    for (Index oh = 0; oh < g.outH; ++oh) {
      const float* r0 = x + 2 * oh * g.w;
      const float* r1 = r0 + g.w;
      float* yr = y + oh * g.outW;
      for (Index ow = 0; ow < g.outW; ++ow) {
        const double total = ((static_cast<double>(r0[2 * ow]) + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1];
        yr[ow] = static_cast<float>(total / area);
      }
    }
    return;
  }
  const PaddedPlane in = padPlane(x, g, 0.0f);
  withStride(g.strideW, [&](auto stride) {
    for (Index oh = 0; oh < g.outH; ++oh) {
      float* yr = y + oh * g.outW;
      for (Index ow0 = 0; ow0 < g.outW; ow0 += kBlock) {
        double totals[kBlock] = {};
        for (Index ki = 0; ki < g.kh; ++ki) {
          const float* row = in.at(oh * g.strideH + ki, ow0 * stride);
          for (Index kj = 0; kj < g.kw; ++kj) {
            RANDLAB_VECTOR_LOOP
            for (int l = 0; l < kBlock; ++l) totals[l] += row[l * stride + kj];
          }
        }
        const Index valid = std::min(kBlock, g.outW - ow0);
        for (Index l = 0; l < valid; ++l) yr[ow0 + l] = static_cast<float>(totals[l] / area);
      }
    }
  });
}

// dx = 0, then each output adds its share dy / (kh·kw) to its window's inputs, accumulated in a
// padded plane whose border is dropped at the end.
void avgPoolBackwardPlane(const float* dy, float* dx, const PoolGeometry& g) {
  const double area = static_cast<double>(g.kh * g.kw);
  const auto shareOf = [area](float grad) { return static_cast<float>(static_cast<double>(grad) / area); };
  if (g.isTwoByTwoStrideTwo()) {
    std::memset(dx, 0, sizeof(float) * static_cast<std::size_t>(g.inPlane()));
    for (Index oh = 0; oh < g.outH; ++oh) {
      float* r0 = dx + 2 * oh * g.w;
      float* r1 = r0 + g.w;
      const float* dyr = dy + oh * g.outW;
      for (Index ow = 0; ow < g.outW; ++ow) {
        const float share = shareOf(dyr[ow]);
        r0[2 * ow] = share;
        r0[2 * ow + 1] = share;
        r1[2 * ow] = share;
        r1[2 * ow + 1] = share;
      }
    }
    return;
  }
  const PaddedPlane out = emptyPaddedPlane(g);
  std::memset(out.data, 0, sizeof(float) * static_cast<std::size_t>(out.width * out.height));
  float* shares = scratch<float, 1>(static_cast<std::size_t>(g.outW));
  withStride(g.strideW, [&](auto stride) {
    for (Index oh = 0; oh < g.outH; ++oh) {
      for (Index ow = 0; ow < g.outW; ++ow) shares[ow] = shareOf(dy[oh * g.outW + ow]);
      for (Index ki = 0; ki < g.kh; ++ki) {
        float* row = out.data + (oh * g.strideH + ki) * out.width;
        for (Index kj = 0; kj < g.kw; ++kj) {
          float* shifted = row + kj;
          // For one tap, distinct outputs write distinct inputs (stride >= 1).
          RANDLAB_IVDEP
          for (Index ow = 0; ow < g.outW; ++ow) shifted[ow * stride] += shares[ow];
        }
      }
    }
  });
  for (Index ih = 0; ih < g.h; ++ih)
    std::memcpy(dx + ih * g.w, out.at(ih + g.padH, g.padW), sizeof(float) * static_cast<std::size_t>(g.w));
}

RANDLAB_KERNEL(avgPool2dForward) {
  const PoolGeometry g = readPoolGeometry(args, 2);
  const auto x = args.f32(0, "x");
  const auto y = args.f32(1, "y");
  args.requireLength(x, static_cast<std::size_t>(g.planes() * g.inPlane()), "x", "n·c·h·w");
  args.requireLength(y, static_cast<std::size_t>(g.planes() * g.outPlane()), "y", "n·c·outH·outW");
  parallelTasks(g.planes(), g.planes() * (g.inPlane() + g.outPlane()),
                [&](Index plane) { avgPoolPlane(x.data + plane * g.inPlane(), y.data + plane * g.outPlane(), g); });
  return args.undefined();
}

RANDLAB_KERNEL(avgPool2dBackward) {
  const PoolGeometry g = readPoolGeometry(args, 2);
  const auto dy = args.f32(0, "dy");
  const auto dx = args.f32(1, "dx");
  args.requireLength(dy, static_cast<std::size_t>(g.planes() * g.outPlane()), "dy", "n·c·outH·outW");
  args.requireLength(dx, static_cast<std::size_t>(g.planes() * g.inPlane()), "dx", "n·c·h·w");
  parallelTasks(g.planes(), g.planes() * (g.inPlane() + g.outPlane()), [&](Index plane) {
    avgPoolBackwardPlane(dy.data + plane * g.outPlane(), dx.data + plane * g.inPlane(), g);
  });
  return args.undefined();
}

// --- global average pooling ----------------------------------------------------------------------

RANDLAB_KERNEL(globalAvgPoolForward) {
  const auto x = args.f32(0, "x");
  const auto y = args.f32(1, "y");
  const Index nc = args.integer(2, "nc");
  const Index hw = args.integer(3, "hw", 1);
  args.requireLength(x, static_cast<std::size_t>(nc * hw), "x", "nc·hw");
  args.requireLength(y, static_cast<std::size_t>(nc), "y", "nc");
  const float* xs = x.data;
  float* ys = y.data;
  parallelTasks(nc, nc * hw, [&](Index plane) {
    ys[plane] = static_cast<float>(sumOf(xs + plane * hw, hw) / static_cast<double>(hw));
  });
  return args.undefined();
}

RANDLAB_KERNEL(globalAvgPoolBackward) {
  const auto dy = args.f32(0, "dy");
  const auto dx = args.f32(1, "dx");
  const Index nc = args.integer(2, "nc");
  const Index hw = args.integer(3, "hw", 1);
  args.requireLength(dy, static_cast<std::size_t>(nc), "dy", "nc");
  args.requireLength(dx, static_cast<std::size_t>(nc * hw), "dx", "nc·hw");
  const float* dys = dy.data;
  float* dxs = dx.data;
  parallelTasks(nc, nc * hw, [&](Index plane) {
    const float share = static_cast<float>(static_cast<double>(dys[plane]) / static_cast<double>(hw));
    float* dxp = dxs + plane * hw;
    for (Index j = 0; j < hw; ++j) dxp[j] = share;
  });
  return args.undefined();
}

}  // namespace
}  // namespace randlab
