// Implements src/kernels/reference/batchnorm.ts (batchNormTrainForward, batchNormEvalForward, batchNormBackward).
//
// Batch normalisation over x [n, c, spatial]: training forward (batch statistics, running-stat
// update), eval forward, and the fused training backward.
//
// Channels are split into bands, several per thread. A band takes two passes over its channels: a
// float64 reduction (the statistics; in backward Σdy and Σdy·(x − mean)) and one element-wise pass
// (y, or dx). Each pass walks the band row by row, i.e. in memory order. Two layouts:
// - planes (spatial >= kPlaneMin): each (row, channel) is a contiguous run of `spatial` floats,
//   reduced with vector accumulators that persist across the channel's runs;
// - columns (small spatial; BatchNorm1d has spatial = 1): runs are too short, so the band's part
//   of each row is one vector loop with an accumulator per column, and per-channel coefficients
//   are expanded per column.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "float64_sums.h"
#include "kernel_args.h"
#include "parallel_loops.h"

namespace randlab {
namespace {

using Index = std::ptrdiff_t;

constexpr Index kPlaneMin = 16;

struct BnShape {
  Index n, c, spatial;
  double eps, momentum;
  Index count() const { return n * spatial; }  // values per channel
  Index rowLength() const { return c * spatial; }
  bool usesPlanes() const { return spatial >= kPlaneMin; }
};

BnShape readBnShape(const KernelArgs& args, std::size_t index) {
  const ParamsArg p = args.params(index);
  BnShape s{};
  s.n = p.integer("n");
  s.c = p.integer("c");
  s.spatial = p.integer("spatial", 1);
  s.eps = p.number("eps");
  s.momentum = p.number("momentum");
  return s;
}

// Argument `index`: a Float32Array of n·c·spatial (tensor) or c (perChannel) elements.
ArrayArg<float> tensor(const KernelArgs& args, const BnShape& s, std::size_t index, const char* name) {
  const ArrayArg<float> a = args.f32(index, name);
  args.requireLength(a, static_cast<std::size_t>(s.n * s.c * s.spatial), name, "n·c·spatial");
  return a;
}
ArrayArg<float> perChannel(const KernelArgs& args, const BnShape& s, std::size_t index, const char* name) {
  const ArrayArg<float> a = args.f32(index, name);
  args.requireLength(a, static_cast<std::size_t>(s.c), name, "c");
  return a;
}

// Per-channel float64 sums: Σu and Σu·(x − shift), where u = x − shift (moments, for the
// statistics) or u = dy (for the backward).
struct Sums {
  double first = 0, second = 0;
};

Index totalWork(const BnShape& s) { return s.n * s.c * s.spatial; }

// Splits channels into bands, several per thread, and runs band(c0, c1) for each. A band walks
// its channels row by row (i outer), so memory is read in long sequential stretches; walking one
// channel at a time would jump c·spatial floats after every run and defeat the prefetchers.
template <class Band>
void forChannelBands(const BnShape& s, Index workPerElement, Band band) {
  const Index bands = std::min<Index>(s.c, 4 * threadCount());
  parallelTasks(bands, workPerElement * totalWork(s), [&](Index b) { band(s.c * b / bands, s.c * (b + 1) / bands); });
}

// Per-channel values of a band repeated for each of the channel's `spatial` columns, so row loops
// in the columns layout are plain vector loops.
std::vector<float> expandColumns(const std::vector<float>& perChannel, Index spatial) {
  std::vector<float> out(perChannel.size() * static_cast<std::size_t>(spatial));
  for (std::size_t k = 0; k < perChannel.size(); ++k)
    for (Index j = 0; j < spatial; ++j)
      out[k * static_cast<std::size_t>(spatial) + static_cast<std::size_t>(j)] = perChannel[k];
  return out;
}

// The sums of channels [c0, c1). gradient = nullptr gives the moments of x about shift[k];
// otherwise Σdy and Σdy·(x − shift[k]).
std::vector<Sums> bandSums(const float* x, const float* gradient, const BnShape& s, Index c0, Index c1,
                           const std::vector<double>& shift) {
  const Index channels = c1 - c0;
  std::vector<Sums> sums(static_cast<std::size_t>(channels));
  if (s.usesPlanes()) {
    std::vector<lanes::Sum> first(static_cast<std::size_t>(channels)), second(static_cast<std::size_t>(channels));
    for (Index i = 0; i < s.n; ++i) {
      for (Index k = 0; k < channels; ++k) {
        const Index offset = i * s.rowLength() + (c0 + k) * s.spatial;
        const auto kk = static_cast<std::size_t>(k);
        if (gradient)
          accumulateProducts(gradient + offset, x + offset, s.spatial, shift[kk], first[kk], second[kk]);
        else
          accumulateMoments(x + offset, s.spatial, shift[kk], first[kk], second[kk]);
      }
    }
    for (std::size_t k = 0; k < sums.size(); ++k) sums[k] = {first[k].total(), second[k].total()};
    return sums;
  }
  // Columns: one float64 accumulator pair per column, summed over rows, then per channel.
  const Index width = channels * s.spatial;
  std::vector<double> columnShift(static_cast<std::size_t>(width)), first(columnShift.size(), 0.0),
      second(columnShift.size(), 0.0);
  for (Index j = 0; j < width; ++j)
    columnShift[static_cast<std::size_t>(j)] = shift[static_cast<std::size_t>(j / s.spatial)];
  const double* sh = columnShift.data();
  double* a1 = first.data();
  double* a2 = second.data();
  for (Index i = 0; i < s.n; ++i) {
    const Index offset = i * s.rowLength() + c0 * s.spatial;
    const float* xr = x + offset;
    if (gradient) {
      const float* gr = gradient + offset;
      for (Index j = 0; j < width; ++j) {
        const double g = gr[j];
        a1[j] += g;
        a2[j] += g * (static_cast<double>(xr[j]) - sh[j]);
      }
    } else {
      for (Index j = 0; j < width; ++j) {
        const double d = static_cast<double>(xr[j]) - sh[j];
        a1[j] += d;
        a2[j] += d * d;
      }
    }
  }
  for (Index j = 0; j < width; ++j) {
    Sums& t = sums[static_cast<std::size_t>(j / s.spatial)];
    t.first += a1[j];
    t.second += a2[j];
  }
  return sums;
}

// y = ((x − meanHi) − meanLo)·scale + shift with per-channel coefficients, for channels [c0, c1).
// Splitting a float64 mean into a float and a float remainder keeps x − mean accurate when
// |mean| ≫ std (x − hi is exact near the mean).
struct AffineBand {
  std::vector<float> meanHi, meanLo, scale, shift;
  explicit AffineBand(Index channels)
      : meanHi(static_cast<std::size_t>(channels)), meanLo(meanHi.size()), scale(meanHi.size()), shift(meanHi.size()) {}
  void setMean(std::size_t k, double mean) {
    meanHi[k] = static_cast<float>(mean);
    meanLo[k] = static_cast<float>(mean - meanHi[k]);
  }
};

void applyAffine(const float* x, float* y, const BnShape& s, Index c0, Index c1, const AffineBand& a) {
  if (s.usesPlanes()) {
    for (Index i = 0; i < s.n; ++i) {
      for (Index k = 0; k < c1 - c0; ++k) {
        const Index offset = i * s.rowLength() + (c0 + k) * s.spatial;
        const float* xp = x + offset;
        float* yp = y + offset;
        const auto kk = static_cast<std::size_t>(k);
        const float hi = a.meanHi[kk], lo = a.meanLo[kk], scale = a.scale[kk], shift = a.shift[kk];
        RANDLAB_IVDEP
        for (Index j = 0; j < s.spatial; ++j) yp[j] = ((xp[j] - hi) - lo) * scale + shift;
      }
    }
    return;
  }
  const auto hi = expandColumns(a.meanHi, s.spatial), lo = expandColumns(a.meanLo, s.spatial);
  const auto scale = expandColumns(a.scale, s.spatial), shift = expandColumns(a.shift, s.spatial);
  const Index width = (c1 - c0) * s.spatial;
  for (Index i = 0; i < s.n; ++i) {
    const Index offset = i * s.rowLength() + c0 * s.spatial;
    const float* xr = x + offset;
    float* yr = y + offset;
    RANDLAB_IVDEP
    for (Index j = 0; j < width; ++j) yr[j] = ((xr[j] - hi[j]) - lo[j]) * scale[j] + shift[j];
  }
}

// dx = k1·((dy − meanDy) − (x − mean)·k2) with per-channel coefficients, for channels [c0, c1).
struct InputGradientBand {
  std::vector<float> mean, k1, meanDy, k2;
  explicit InputGradientBand(Index channels)
      : mean(static_cast<std::size_t>(channels)), k1(mean.size()), meanDy(mean.size()), k2(mean.size()) {}
};

void applyInputGradient(const float* x, const float* dy, float* dx, const BnShape& s, Index c0, Index c1,
                        const InputGradientBand& b) {
  if (s.usesPlanes()) {
    for (Index i = 0; i < s.n; ++i) {
      for (Index k = 0; k < c1 - c0; ++k) {
        const Index offset = i * s.rowLength() + (c0 + k) * s.spatial;
        const float* xp = x + offset;
        const float* gp = dy + offset;
        float* op = dx + offset;
        const auto kk = static_cast<std::size_t>(k);
        const float mean = b.mean[kk], k1 = b.k1[kk], meanDy = b.meanDy[kk], k2 = b.k2[kk];
        RANDLAB_IVDEP
        for (Index j = 0; j < s.spatial; ++j) op[j] = k1 * ((gp[j] - meanDy) - (xp[j] - mean) * k2);
      }
    }
    return;
  }
  const auto mean = expandColumns(b.mean, s.spatial), k1 = expandColumns(b.k1, s.spatial);
  const auto meanDy = expandColumns(b.meanDy, s.spatial), k2 = expandColumns(b.k2, s.spatial);
  const Index width = (c1 - c0) * s.spatial;
  for (Index i = 0; i < s.n; ++i) {
    const Index offset = i * s.rowLength() + c0 * s.spatial;
    const float* xr = x + offset;
    const float* gr = dy + offset;
    float* outRow = dx + offset;
    RANDLAB_IVDEP
    for (Index j = 0; j < width; ++j) outRow[j] = k1[j] * ((gr[j] - meanDy[j]) - (xr[j] - mean[j]) * k2[j]);
  }
}

RANDLAB_KERNEL(batchNormTrainForward) {
  const BnShape s = readBnShape(args, 8);
  const auto x = tensor(args, s, 0, "x");
  const auto gamma = perChannel(args, s, 1, "gamma");
  const auto beta = perChannel(args, s, 2, "beta");
  const auto y = tensor(args, s, 3, "y");
  const auto saveMean = perChannel(args, s, 4, "saveMean");
  const auto saveInvStd = perChannel(args, s, 5, "saveInvStd");
  const auto runningMean = perChannel(args, s, 6, "runningMean");
  const auto runningVar = perChannel(args, s, 7, "runningVar");
  if (s.count() == 0) args.fail("needs at least one value per channel (n·spatial = 0)");

  const double count = static_cast<double>(s.count());
  forChannelBands(s, 2, [&](Index c0, Index c1) {
    // Moments about the channel's first value: the one-pass variance then stays accurate when
    // |mean| ≫ std.
    std::vector<double> origin(static_cast<std::size_t>(c1 - c0));
    for (Index ch = c0; ch < c1; ++ch) origin[static_cast<std::size_t>(ch - c0)] = x.data[ch * s.spatial];
    const std::vector<Sums> sums = bandSums(x.data, nullptr, s, c0, c1, origin);
    AffineBand affine(c1 - c0);
    for (Index ch = c0; ch < c1; ++ch) {
      const auto k = static_cast<std::size_t>(ch - c0);
      const double offset = sums[k].first / count;
      const double var = std::max(0.0, sums[k].second / count - offset * offset);
      const double mean = origin[k] + offset;
      const double invStd = 1.0 / std::sqrt(var + s.eps);
      saveMean.data[ch] = static_cast<float>(mean);
      saveInvStd.data[ch] = static_cast<float>(invStd);
      const double unbiased = count > 1 ? var * count / (count - 1.0) : var;
      runningMean.data[ch] = static_cast<float>((1.0 - s.momentum) * runningMean.data[ch] + s.momentum * mean);
      runningVar.data[ch] = static_cast<float>((1.0 - s.momentum) * runningVar.data[ch] + s.momentum * unbiased);
      affine.setMean(k, mean);
      affine.scale[k] = static_cast<float>(invStd * gamma.data[ch]);
      affine.shift[k] = beta.data[ch];
    }
    applyAffine(x.data, y.data, s, c0, c1, affine);
  });
  return args.undefined();
}

RANDLAB_KERNEL(batchNormEvalForward) {
  const BnShape s = readBnShape(args, 6);
  const auto x = tensor(args, s, 0, "x");
  const auto gamma = perChannel(args, s, 1, "gamma");
  const auto beta = perChannel(args, s, 2, "beta");
  const auto runningMean = perChannel(args, s, 3, "runningMean");
  const auto runningVar = perChannel(args, s, 4, "runningVar");
  const auto y = tensor(args, s, 5, "y");

  forChannelBands(s, 1, [&](Index c0, Index c1) {
    AffineBand affine(c1 - c0);
    for (Index ch = c0; ch < c1; ++ch) {
      const auto k = static_cast<std::size_t>(ch - c0);
      affine.setMean(k, runningMean.data[ch]);
      affine.scale[k] =
          static_cast<float>(gamma.data[ch] / std::sqrt(static_cast<double>(runningVar.data[ch]) + s.eps));
      affine.shift[k] = beta.data[ch];
    }
    applyAffine(x.data, y.data, s, c0, c1, affine);
  });
  return args.undefined();
}

RANDLAB_KERNEL(batchNormBackward) {
  const BnShape s = readBnShape(args, 8);
  const auto x = tensor(args, s, 0, "x");
  const auto dy = tensor(args, s, 1, "dy");
  const auto gamma = perChannel(args, s, 2, "gamma");
  const auto saveMean = perChannel(args, s, 3, "saveMean");
  const auto saveInvStd = perChannel(args, s, 4, "saveInvStd");
  const auto dx = tensor(args, s, 5, "dx");
  const auto dgamma = perChannel(args, s, 6, "dgamma");
  const auto dbeta = perChannel(args, s, 7, "dbeta");
  if (s.count() == 0) args.fail("needs at least one value per channel (n·spatial = 0)");

  const double count = static_cast<double>(s.count());
  forChannelBands(s, 3, [&](Index c0, Index c1) {
    std::vector<double> mean(static_cast<std::size_t>(c1 - c0));
    for (Index ch = c0; ch < c1; ++ch) mean[static_cast<std::size_t>(ch - c0)] = saveMean.data[ch];
    const std::vector<Sums> sums = bandSums(x.data, dy.data, s, c0, c1, mean);
    // With x̂ = (x − mean)·invstd: dbeta = Σdy, dgamma = Σdy·x̂, and
    // dx = γ·invstd·((dy − Σdy/N) − (x − mean)·invstd·dgamma/N).
    InputGradientBand band(c1 - c0);
    for (Index ch = c0; ch < c1; ++ch) {
      const auto k = static_cast<std::size_t>(ch - c0);
      const double invStd = saveInvStd.data[ch];
      const double dgammaValue = sums[k].second * invStd;
      dbeta.data[ch] = static_cast<float>(sums[k].first);
      dgamma.data[ch] = static_cast<float>(dgammaValue);
      band.mean[k] = saveMean.data[ch];
      band.k1[k] = static_cast<float>(gamma.data[ch] * invStd);
      band.meanDy[k] = static_cast<float>(sums[k].first / count);
      band.k2[k] = static_cast<float>(invStd * dgammaValue / count);
    }
    applyInputGradient(x.data, dy.data, dx.data, s, c0, c1, band);
  });
  return args.undefined();
}

}  // namespace
}  // namespace randlab
