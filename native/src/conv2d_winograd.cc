// Implements part of src/kernels/reference/conv2d.ts (conv2dForward, conv2dBackwardData, conv2dBackwardFilter).
//
// Winograd F(2×2, 3×3) convolution passes (see conv2d_winograd.h for the method).
//
// Layouts. Tiles are numbered p = image · tilesPerImage + tileRow · tilesW + tileCol within a
// chunk of images. The transformed filters U are [16][outC][c] (backward data: [16][c][outC]),
// the transformed input tiles V are [16][tiles][c] and the products M (or the transformed output
// gradients E) [16][tiles][outC]: channels innermost, so the transforms vectorise over channels,
// and every ξ is one row-major GEMM operand. With few output channels M is [16][outC][tiles]
// instead (channelsFirstProducts). The images go in chunks; each chunk is transformed with the
// images split over threads, then its 16 GEMMs run one ξ per task.
#include "conv2d_winograd.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "float64_sums.h"
#include "gemm.h"
#include "registry.h"
#include "simd_dispatch.h"
#include "threadpool.h"
#include "workspace.h"

namespace randlab {
namespace {

constexpr int kXi = 16;  // entries of a transformed 4×4 tile

// A chunk's V and M (16 · tiles · (c + outC) floats) take 16 · c · outC floats, between 4 and 16
// MiB: each ξ's GEMM then has enough rows (tiles) to reuse its packed U[ξ] (c · outC floats), while
// layers with small U keep small chunks in the caches. Measured inside training steps: with 64 → 64
// channels at 32², 4 MiB chunks took 19 ms per forward call, 16 MiB chunks 31 ms; with 512 → 512
// at 4², 4 MiB chunks were slower than 16 MiB. Tests override it (setWinogradChunkFloats) to reach
// the accumulation over several chunks with small shapes; 0 = this rule.
constexpr std::int64_t kMinChunkFloats = std::int64_t{1} << 20, kMaxChunkFloats = std::int64_t{1} << 22;
std::atomic<std::int64_t> chunkFloatsOverride{0};

// Consecutive ξ planes of U, V and M are a whole number of floats plus one cache line apart: with a
// power-of-two plane size (512 · 512 floats) the 16 values a transform writes or reads per element
// would all map to one L1 set and could evict each other. (A precaution: on the shapes measured the
// padding made no measurable difference; the 3× faster filter transform came from its layout.)
constexpr std::int64_t kPlanePad = 16;
std::int64_t planeStride(std::int64_t floats) { return floats + kPlanePad; }

struct TileGrid {
  std::int64_t rows, cols;
  std::int64_t perImage() const { return rows * cols; }
};

TileGrid tileGrid(const ConvGeometry& g) { return TileGrid{(g.outH + 1) / 2, (g.outW + 1) / 2}; }

bool winogradEnabled() {
  static const bool enabled = [] {
    const char* env = std::getenv("RANDLAB_WINOGRAD");
    return env == nullptr || std::strcmp(env, "0") != 0;
  }();
  return enabled;
}

// ---- layout changes -----------------------------------------------------------------------------

// dst[h + top][w + left][c] = src[c][h][w] for one image (channels innermost, so every pixel's
// channels are one vector for the transforms); dst is first zeroed: rows × cols × channels floats.
void toChannelsLast(const float* __restrict src, std::int64_t channels, std::int64_t h, std::int64_t w,
                    std::int64_t top, std::int64_t left, std::int64_t rows, std::int64_t cols, float* __restrict dst) {
  std::fill(dst, dst + rows * cols * channels, 0.0f);
  constexpr std::int64_t kBlock = 16;
  for (std::int64_t c0 = 0; c0 < channels; c0 += kBlock) {
    const std::int64_t c1 = std::min(channels, c0 + kBlock);
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        float* out = dst + ((y + top) * cols + x + left) * channels;
        for (std::int64_t c = c0; c < c1; ++c) out[c] = src[(c * h + y) * w + x];
      }
  }
}

// dst[c][h][w] = src[h][w][c] + bias[c] for h < outH, w < outW (src has `cols` columns).
void toChannelsFirst(const float* __restrict src, std::int64_t channels, std::int64_t h, std::int64_t w,
                     std::int64_t cols, const float* bias, float* __restrict dst) {
  constexpr std::int64_t kBlock = 16;
  for (std::int64_t c0 = 0; c0 < channels; c0 += kBlock) {
    const std::int64_t c1 = std::min(channels, c0 + kBlock);
    for (std::int64_t c = c0; c < c1; ++c) {
      const float b = bias != nullptr ? bias[c] : 0.0f;
      float* out = dst + c * h * w;
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) out[y * w + x] = src[(y * cols + x) * channels + c] + b;
    }
  }
}

// ---- transforms (each inner loop runs over channels, contiguous in every operand) -------------

constexpr int kFilterBlock = 16;  // filters transformed at once, one per vector lane

// Which filters U holds: the forward pass's, U[ξ][o][c] = (G g[o][c] Gᵀ)[ξ], or those of backward
// data run as a forward pass over dY, whose filters are g[o][c] flipped in space with the channels
// swapped: U'[ξ][o][c] = (G flip(g[o][c]) Gᵀ)[ξ] (the same layout, read as [16][c'][o'] there). Flipping g reverses it,
// which G maps to swapping rows 0 and 3 of G g (rows 1 and 2 are symmetric), so U' is U with ξ's row and column swapped
// 0 ↔ 3.
enum class FilterUse { Forward, BackwardData };

// The transforms of 16 filters at once, lane l of every array being filter l: taps[t][l] → u[ξ][l]
// (G f Gᵀ, G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]) and back, du[ξ][l] → dtaps[t][l] (Gᵀ dU G). Lanes
// make the loops vectorise; the callers gather taps and scatter results in their layouts.
RANDLAB_ALWAYS_INLINE void transformFilterLanes(const float (&taps)[9][kFilterBlock], float (&u)[kXi][kFilterBlock]) {
  for (int l = 0; l < kFilterBlock; ++l) {
    float t[4][3];  // G · f
    for (int j = 0; j < 3; ++j) {
      const float f0 = taps[j][l], f1 = taps[3 + j][l], f2 = taps[6 + j][l];
      t[0][j] = f0;
      t[1][j] = 0.5f * (f0 + f1 + f2);
      t[2][j] = 0.5f * (f0 - f1 + f2);
      t[3][j] = f2;
    }
    for (int i = 0; i < 4; ++i) {
      u[i * 4 + 0][l] = t[i][0];
      u[i * 4 + 1][l] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
      u[i * 4 + 2][l] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
      u[i * 4 + 3][l] = t[i][2];
    }
  }
}

RANDLAB_ALWAYS_INLINE void inverseTransformFilterLanes(const float (&du)[kXi][kFilterBlock],
                                                       float (&taps)[9][kFilterBlock]) {
  for (int l = 0; l < kFilterBlock; ++l) {
    float t[3][4];  // Gᵀ · dU, Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]
    for (int j = 0; j < 4; ++j) {
      const float m0 = du[j][l], m1 = du[4 + j][l], m2 = du[8 + j][l], m3 = du[12 + j][l];
      t[0][j] = m0 + 0.5f * (m1 + m2);
      t[1][j] = 0.5f * (m1 - m2);
      t[2][j] = 0.5f * (m1 + m2) + m3;
    }
    for (int i = 0; i < 3; ++i) {
      taps[i * 3 + 0][l] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
      taps[i * 3 + 1][l] = 0.5f * (t[i][1] - t[i][2]);
      taps[i * 3 + 2][l] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
    }
  }
}

// U[ξ][o][c] for filters o in [o0, o1) of the forward geometry g (ξ's row and column swapped
// 0 ↔ 3 for backward data), 16 input channels c of one filter at a time: the reads (16 filters'
// taps) and the writes (16 values in each plane) are contiguous.
void transformFilters(const float* w, const ConvGeometry& g, FilterUse use, std::int64_t o0, std::int64_t o1,
                      float* u) {
  const std::int64_t plane = planeStride(g.outC * g.c);
  constexpr int kFlip[4] = {3, 1, 2, 0};
  int target[kXi];
  for (int xi = 0; xi < kXi; ++xi) target[xi] = use == FilterUse::Forward ? xi : kFlip[xi / 4] * 4 + kFlip[xi % 4];
  float taps[9][kFilterBlock] = {};
  float out[kXi][kFilterBlock];
  for (std::int64_t o = o0; o < o1; ++o)
    for (std::int64_t c0 = 0; c0 < g.c; c0 += kFilterBlock) {
      const int lanes = static_cast<int>(std::min<std::int64_t>(kFilterBlock, g.c - c0));
      const float* f = w + (o * g.c + c0) * 9;
      for (int l = 0; l < lanes; ++l)
        for (int t = 0; t < 9; ++t) taps[t][l] = f[l * 9 + t];
      transformFilterLanes(taps, out);
      for (int xi = 0; xi < kXi; ++xi) {
        float* dst = u + (target[xi] * plane + o * g.c + c0);
        for (int l = 0; l < lanes; ++l) dst[l] = out[xi][l];
      }
    }
}

// dw[o][c] = Gᵀ dU[o][c] G from the 16 planes of dU ([16][outC][c]), for filters [o0, o1).
void inverseTransformFilters(const float* du, const ConvGeometry& g, std::int64_t o0, std::int64_t o1, float* dw) {
  const std::int64_t plane = planeStride(g.outC * g.c);
  float in[kXi][kFilterBlock] = {};
  float taps[9][kFilterBlock];
  for (std::int64_t o = o0; o < o1; ++o)
    for (std::int64_t c0 = 0; c0 < g.c; c0 += kFilterBlock) {
      const int lanes = static_cast<int>(std::min<std::int64_t>(kFilterBlock, g.c - c0));
      for (int xi = 0; xi < kXi; ++xi) {
        const float* src = du + (xi * plane + o * g.c + c0);
        for (int l = 0; l < lanes; ++l) in[xi][l] = src[l];
      }
      inverseTransformFilterLanes(in, taps);
      float* f = dw + (o * g.c + c0) * 9;
      for (int l = 0; l < lanes; ++l)
        for (int t = 0; t < 9; ++t) f[l * 9 + t] = taps[t][l];
    }
}

// V[ξ][p][c] = (Bᵀ d B)[ξ] for the tiles of one image (p = firstTile + row · grid.cols + col),
// d the 4×4 block at padded (2·row, 2·col) of xp ([..][paddedCols][c], zero border);
// Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
void transformInputTiles(const float* __restrict xp, std::int64_t paddedCols, std::int64_t channels,
                         const TileGrid& grid, std::int64_t firstTile, std::int64_t xiStride, float* __restrict v) {
  for (std::int64_t tr = 0; tr < grid.rows; ++tr)
    for (std::int64_t tc = 0; tc < grid.cols; ++tc) {
      const float* d = xp + (2 * tr * paddedCols + 2 * tc) * channels;
      const std::int64_t rowStep = paddedCols * channels;
      float* out = v + (firstTile + tr * grid.cols + tc) * channels;
      RANDLAB_IVDEP
      for (std::int64_t c = 0; c < channels; ++c) {
        float t[4][4];
        for (int j = 0; j < 4; ++j) {
          const float d0 = d[0 * rowStep + j * channels + c], d1 = d[1 * rowStep + j * channels + c];
          const float d2 = d[2 * rowStep + j * channels + c], d3 = d[3 * rowStep + j * channels + c];
          t[0][j] = d0 - d2;
          t[1][j] = d1 + d2;
          t[2][j] = d2 - d1;
          t[3][j] = d1 - d3;
        }
        for (int i = 0; i < 4; ++i) {
          out[(i * 4 + 0) * xiStride + c] = t[i][0] - t[i][2];
          out[(i * 4 + 1) * xiStride + c] = t[i][1] + t[i][2];
          out[(i * 4 + 2) * xiStride + c] = t[i][2] - t[i][1];
          out[(i * 4 + 3) * xiStride + c] = t[i][1] - t[i][3];
        }
      }
    }
}

// The 2×2 output block Aᵀ M A of one tile, M's 16 entries at m[ξ · xiStride]; Aᵀ = [1 1 1 0; 0 1 −1 −1].
RANDLAB_ALWAYS_INLINE void outputBlock(const float* m, std::int64_t xiStride, float (&y)[2][2]) {
  float t[2][4];  // Aᵀ · M
  for (int j = 0; j < 4; ++j) {
    const float m0 = m[(0 + j) * xiStride], m1 = m[(4 + j) * xiStride];
    const float m2 = m[(8 + j) * xiStride], m3 = m[(12 + j) * xiStride];
    t[0][j] = m0 + m1 + m2;
    t[1][j] = m1 - m2 - m3;
  }
  for (int i = 0; i < 2; ++i) {
    y[i][0] = t[i][0] + t[i][1] + t[i][2];
    y[i][1] = t[i][1] - t[i][2] - t[i][3];
  }
}

// yp[2·row + i][2·col + j][o] = (Aᵀ M A)[i][j] for the tiles of one image; M is [16][p][o].
// yp has 2·grid.cols columns.
void transformOutputTiles(const float* __restrict m, std::int64_t channels, const TileGrid& grid,
                          std::int64_t firstTile, std::int64_t xiStride, float* __restrict yp) {
  const std::int64_t cols = 2 * grid.cols;
  for (std::int64_t tr = 0; tr < grid.rows; ++tr)
    for (std::int64_t tc = 0; tc < grid.cols; ++tc) {
      const float* src = m + (firstTile + tr * grid.cols + tc) * channels;
      float* y0 = yp + (2 * tr * cols + 2 * tc) * channels;
      float* y1 = y0 + cols * channels;
      RANDLAB_IVDEP
      for (std::int64_t o = 0; o < channels; ++o) {
        float y[2][2];
        outputBlock(src + o, xiStride, y);
        y0[o] = y[0][0];
        y0[channels + o] = y[0][1];
        y1[o] = y[1][0];
        y1[channels + o] = y[1][1];
      }
    }
}

// y[image][o] = Aᵀ M A (+ bias) for channels [o0, o1) of one image straight from channels-first
// products M[ξ][o][p] (the narrow-output GEMM orientation); the inner loops run over a tile row.
// `rows` is scratch of 4 · grid.cols floats.
void transformOutputTilesChannelsFirst(const float* __restrict m, std::int64_t ldm, std::int64_t xiStride,
                                       std::int64_t firstTile, const ConvGeometry& g, const TileGrid& grid,
                                       std::int64_t o0, std::int64_t o1, const float* bias, float* __restrict y,
                                       float* __restrict rows) {
  const std::int64_t cols = grid.cols;
  float* y00 = rows;
  float* y01 = rows + cols;
  float* y10 = rows + 2 * cols;
  float* y11 = rows + 3 * cols;
  for (std::int64_t o = o0; o < o1; ++o) {
    const float b = bias != nullptr ? bias[o] : 0.0f;
    float* plane = y + o * g.outH * g.outW;
    for (std::int64_t tr = 0; tr < grid.rows; ++tr) {
      const float* src = m + o * ldm + firstTile + tr * cols;
      RANDLAB_IVDEP
      for (std::int64_t tc = 0; tc < cols; ++tc) {
        float y[2][2];
        outputBlock(src + tc, xiStride, y);
        y00[tc] = y[0][0] + b;
        y01[tc] = y[0][1] + b;
        y10[tc] = y[1][0] + b;
        y11[tc] = y[1][1] + b;
      }
      float* top = plane + 2 * tr * g.outW;
      for (std::int64_t x = 0; x < g.outW; ++x) top[x] = (x & 1) != 0 ? y01[x >> 1] : y00[x >> 1];
      if (2 * tr + 1 < g.outH) {
        float* bottom = top + g.outW;
        for (std::int64_t x = 0; x < g.outW; ++x) bottom[x] = (x & 1) != 0 ? y11[x >> 1] : y10[x >> 1];
      }
    }
  }
}

// E[ξ][p][o] = (A e Aᵀ)[ξ] for the tiles of one image, e the 2×2 block of dyp ([..][2·cols][o],
// zero past an odd edge); A = [1 0; 1 1; 1 −1; 0 −1].
void transformOutputGradientTiles(const float* __restrict dyp, std::int64_t channels, const TileGrid& grid,
                                  std::int64_t firstTile, std::int64_t xiStride, float* __restrict e) {
  const std::int64_t cols = 2 * grid.cols;
  for (std::int64_t tr = 0; tr < grid.rows; ++tr)
    for (std::int64_t tc = 0; tc < grid.cols; ++tc) {
      const float* top = dyp + (2 * tr * cols + 2 * tc) * channels;
      const float* bottom = top + cols * channels;
      float* out = e + (firstTile + tr * grid.cols + tc) * channels;
      RANDLAB_IVDEP
      for (std::int64_t o = 0; o < channels; ++o) {
        const float e00 = top[o], e01 = top[channels + o], e10 = bottom[o], e11 = bottom[channels + o];
        const float r[4][2] = {{e00, e01}, {e00 + e10, e01 + e11}, {e00 - e10, e01 - e11}, {-e10, -e11}};
        for (int i = 0; i < 4; ++i) {
          out[(i * 4 + 0) * xiStride + o] = r[i][0];
          out[(i * 4 + 1) * xiStride + o] = r[i][0] + r[i][1];
          out[(i * 4 + 2) * xiStride + o] = r[i][0] - r[i][1];
          out[(i * 4 + 3) * xiStride + o] = -r[i][1];
        }
      }
    }
}

// V for images [i0, i1) of a chunk of `tiles` tiles: each image to channels-last with its zero
// border, then its tiles.
void transformInputs(const float* x, std::int64_t i0, std::int64_t i1, std::int64_t vStride, const ConvGeometry& g,
                     const TileGrid& grid, float* v) {
  const std::int64_t rows = 2 * grid.rows + 2, cols = 2 * grid.cols + 2;
  float* xp = workspace(WorkspaceSlot::WinogradChannelsLast, rows * cols * g.c);
  for (std::int64_t image = i0; image < i1; ++image) {
    toChannelsLast(x + image * g.c * g.h * g.w, g.c, g.h, g.w, 1, 1, rows, cols, xp);
    transformInputTiles(xp, cols, g.c, grid, image * grid.perImage(), vStride, v);
  }
}

float* transformedFilters(const float* w, const ConvGeometry& g, FilterUse use) {
  float* u = workspace(WorkspaceSlot::WinogradFilters, kXi * planeStride(g.outC * g.c));
  parallelRange(g.outC, [&](std::ptrdiff_t o0, std::ptrdiff_t o1) {
    simdDispatch([&] { transformFilters(w, g, use, o0, o1, u); });
  });
  return u;
}

// Few output channels (64 against the 48-wide register tiles) make the GEMMs' n narrow when the
// products are channels-last; computed channels-first, outC is their m instead.
bool channelsFirstProducts(const ConvGeometry& g) { return g.outC < 96; }

struct Chunking {
  std::int64_t images;
};

// Images per chunk: as many as the budget for V and M allows (the GEMMs' m is the chunk's tiles).
Chunking chunking(const ConvGeometry& g, const TileGrid& grid) {
  const std::int64_t override = chunkFloatsOverride.load();
  const std::int64_t budget =
      override > 0 ? override : std::clamp(kXi * g.c * g.outC, kMinChunkFloats, kMaxChunkFloats);
  const std::int64_t perImage = kXi * grid.perImage() * (g.c + g.outC);
  return Chunking{std::max<std::int64_t>(1, std::min(g.n, budget / perImage))};
}

// Each chunk of images in three parallel stages: the input transform (images split over
// threads), the 16 GEMMs (one per ξ, so each thread packs its U[ξ] once for all the chunk's tiles)
// and the output transform. u: the transformed filters, [16][g.outC][g.c] if `filtersTransposed`
// (the forward pass's own), else [16][g.c][g.outC] (backward data's).
void forwardWithTransformedFilters(const float* x, const float* u, bool filtersTransposed, const float* bias, float* y,
                                   const ConvGeometry& g) {
  const TileGrid grid = tileGrid(g);
  const Chunking plan = chunking(g, grid);
  const std::int64_t xImage = g.c * g.h * g.w, yImage = g.outC * g.outH * g.outW, outCols = 2 * grid.cols;
  const std::int64_t maxTiles = plan.images * grid.perImage(), uStride = planeStride(g.c * g.outC);
  float* v = workspace(WorkspaceSlot::WinogradInput, kXi * planeStride(g.c * maxTiles));
  float* m = workspace(WorkspaceSlot::WinogradProducts, kXi * planeStride(g.outC * maxTiles));
  for (std::int64_t first = 0; first < g.n; first += plan.images) {
    const std::int64_t images = std::min(plan.images, g.n - first), tiles = images * grid.perImage();
    const std::int64_t vStride = planeStride(tiles * g.c), mStride = planeStride(tiles * g.outC);
    parallelRange(images, [&](std::ptrdiff_t i0, std::ptrdiff_t i1) {
      simdDispatch([&] { transformInputs(x + first * xImage, i0, i1, vStride, g, grid, v); });
    });
    if (channelsFirstProducts(g)) {
      // M[ξ] = U[ξ] (outC × c) · V[ξ]ᵀ: outC rows fill the register tiles exactly.
      parallelFor(kXi, [&](std::ptrdiff_t xi) {
        const ConstMatrix filters{u + xi * uStride, filtersTransposed ? g.c : g.outC, !filtersTransposed};
        sgemm(g.outC, tiles, g.c, 1.0f, filters, ConstMatrix{v + xi * vStride, g.c, true}, 0.0f, m + xi * mStride,
              tiles, Threading::Serial);
      });
      const std::int64_t blocks = (g.outC + kFilterBlock - 1) / kFilterBlock;
      parallelFor(images * blocks, [&](std::ptrdiff_t task) {  // 16 channels of one image a task
        const std::int64_t image = task / blocks, o0 = task % blocks * kFilterBlock;
        float* rows = workspace(WorkspaceSlot::WinogradChannelsLast, 4 * grid.cols);
        simdDispatch([&] {
          transformOutputTilesChannelsFirst(m, tiles, mStride, image * grid.perImage(), g, grid, o0,
                                            std::min(g.outC, o0 + kFilterBlock), bias, y + (first + image) * yImage,
                                            rows);
        });
      });
      continue;
    }
    // M[ξ] = V[ξ] · U[ξ]ᵀ (tiles × outC), channels innermost for the vectorised output transform.
    parallelFor(kXi, [&](std::ptrdiff_t xi) {
      const ConstMatrix filters{u + xi * uStride, filtersTransposed ? g.c : g.outC, filtersTransposed};
      sgemm(tiles, g.outC, g.c, 1.0f, ConstMatrix{v + xi * vStride, g.c, false}, filters, 0.0f, m + xi * mStride,
            g.outC, Threading::Serial);
    });
    parallelRange(images, [&](std::ptrdiff_t i0, std::ptrdiff_t i1) {
      float* yp = workspace(WorkspaceSlot::WinogradChannelsLast, 2 * grid.rows * outCols * g.outC);
      simdDispatch([&] {
        for (std::int64_t image = i0; image < i1; ++image) {
          transformOutputTiles(m, g.outC, grid, image * grid.perImage(), mStride, yp);
          toChannelsFirst(yp, g.outC, g.outH, g.outW, outCols, bias, y + (first + image) * yImage);
        }
      });
    });
  }
}

}  // namespace

bool winogradSuitable(const ConvGeometry& g) {
  if (!winogradEnabled()) return false;
  if (g.kh != 3 || g.kw != 3 || g.strideH != 1 || g.strideW != 1 || g.padH != 1 || g.padW != 1) return false;
  return g.c >= 64 && g.outC >= 64 && g.outH == g.h && g.outW == g.w;
}

bool winogradSuitableForFilterGradient(const ConvGeometry& g) { return winogradSuitable(g) && g.outH * g.outW <= 64; }

void winogradForward(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g) {
  forwardWithTransformedFilters(x, transformedFilters(w, g, FilterUse::Forward), true, bias, y, g);
}

void winogradBackwardData(const float* dy, const float* w, float* dx, const ConvGeometry& g) {
  const float* u = transformedFilters(w, g, FilterUse::BackwardData);
  forwardWithTransformedFilters(dy, u, false, nullptr, dx, backwardDataAsForward(g));
}

// The same chunks; each ξ's GEMM accumulates dU[ξ] = Σ_chunks E[ξ]ᵀ V[ξ] on whichever thread
// takes it, always in chunk order, so the result does not depend on the threads.
void winogradBackwardFilter(const float* x, const float* dy, float* dw, float* dbias, const ConvGeometry& g) {
  const TileGrid grid = tileGrid(g);
  const Chunking plan = chunking(g, grid);
  const std::int64_t xImage = g.c * g.h * g.w, yImage = g.outC * g.outH * g.outW, uStride = planeStride(g.c * g.outC);
  const std::int64_t outRows = 2 * grid.rows, outCols = 2 * grid.cols, maxTiles = plan.images * grid.perImage();
  float* v = workspace(WorkspaceSlot::WinogradInput, kXi * planeStride(g.c * maxTiles));
  float* e = workspace(WorkspaceSlot::WinogradProducts, kXi * planeStride(g.outC * maxTiles));
  float* du = workspace(WorkspaceSlot::WinogradFilterGradients, kXi * uStride);
  for (std::int64_t first = 0; first < g.n; first += plan.images) {
    const std::int64_t images = std::min(plan.images, g.n - first), tiles = images * grid.perImage();
    const std::int64_t vStride = planeStride(tiles * g.c), eStride = planeStride(tiles * g.outC);
    parallelRange(images, [&](std::ptrdiff_t i0, std::ptrdiff_t i1) {
      simdDispatch([&] {
        transformInputs(x + first * xImage, i0, i1, vStride, g, grid, v);
        float* dyp = workspace(WorkspaceSlot::WinogradChannelsLast, outRows * outCols * g.outC);
        for (std::int64_t image = i0; image < i1; ++image) {
          toChannelsLast(dy + (first + image) * yImage, g.outC, g.outH, g.outW, 0, 0, outRows, outCols, dyp);
          transformOutputGradientTiles(dyp, g.outC, grid, image * grid.perImage(), eStride, e);
        }
      });
    });
    const float beta = first > 0 ? 1.0f : 0.0f;
    parallelFor(kXi, [&](std::ptrdiff_t xi) {
      sgemm(g.outC, g.c, tiles, 1.0f, ConstMatrix{e + xi * eStride, g.outC, true},
            ConstMatrix{v + xi * vStride, g.c, false}, beta, du + xi * uStride, g.c, Threading::Serial);
    });
  }
  parallelRange(g.outC, [&](std::ptrdiff_t o0, std::ptrdiff_t o1) {
    simdDispatch([&] { inverseTransformFilters(du, g, o0, o1, dw); });
    if (dbias == nullptr) return;
    const std::int64_t S = g.outH * g.outW;
    for (std::int64_t o = o0; o < o1; ++o) {
      double sum = 0.0;
      for (std::int64_t image = 0; image < g.n; ++image) sum += sumOf(dy + (image * g.outC + o) * S, S);
      dbias[o] = static_cast<float>(sum);
    }
  });
}

namespace {

// setWinogradChunkFloats(floats) -> the previous override (for tests; 0 restores the default rule).
Napi::Value SetWinogradChunkFloatsExport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber() || info[0].As<Napi::Number>().Int64Value() < 0) {
    Napi::TypeError::New(env, "setWinogradChunkFloats: floats must be 0 (the default rule) or a positive integer")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::int64_t previous = chunkFloatsOverride.exchange(info[0].As<Napi::Number>().Int64Value());
  return Napi::Number::New(env, static_cast<double>(previous));
}
RANDLAB_EXPORT(setWinogradChunkFloats, SetWinogradChunkFloatsExport);

}  // namespace

}  // namespace randlab
