// Conv2d's three sums straight from the images, without the patch matrix (kernels.hpp,
// fast_conv_forward and fast_conv_backward; docs/performance.md, "Convolution without the
// patch matrix"). Conv2d's im2col route builds a matrix with one row per output pixel and
// k*k*Cin columns: 25 times the image for LeNet-5's first layer, 10 MB per batch, written
// and read again for each product. Here every term is read where it lies, in a zero-bordered
// copy of each image, and each sum takes its terms in the order the im2col products take
// them, from the same start, one fused multiply-add per term. So every value is the same to
// the last bit (tests/unit/layers/test_conv2d.cpp compares the two routes on many shapes).
//
// The orders kept (fast/gemm.cpp, "Fast float path"):
//   forward  Y[o, i, j] = (sum over (c, u, v), increasing, from 0) + b[o]
//   dW       dW[(c, u, v), o] summed over the output pixels r = (n, i, j) in increasing r,
//            from dW; for N*P >= kSplitK rows in two halves (deep_sum_middle), the second
//            from 0 and added at the end
//   db       db[o] += dY at each r, in increasing r (plain additions, as Conv2d::backward)
//   dX       each patch gradient dcols[(n, i, j), (c, u, v)] = sum over o, increasing, from
//            0; then each pixel adds those of the windows over it in the order (i, j) of the
//            windows, from 0 (col2im)
// Terms that im2col would read from the padding are zeros here too, and a term 0 * w added to
// a sum leaves it as it is (the sums start from +0 and never become -0).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "chainrule/fast/gemm.hpp"
#include "chainrule/fast/isa.hpp"
#include "chainrule/fast/threads.hpp"
#include "chainrule/kernels.hpp"

namespace chainrule {
namespace {

constexpr int kMostSum = 512;  // the direct route keeps sums that the products would not cut in two

int round_up(int n, int m) { return (n + m - 1) / m * m; }

// The sizes of one convolution (stride 1) and of the buffers the direct route uses.
struct Geometry {
  int C, H, W, O, k, p;
  int Hp, Wp;  // the zero-bordered image: (H + 2p) x (W + 2p) per channel
  int Ho, Wo, P, K;
  int Q;       // "wide" output pixels computed per channel: i * Wp + j for every i, j < Wp
  int S;       // floats per bordered image, with room for the reads of the last wide pixels
  int So;      // and a region of ones after it, at S (db's term: fast_conv_backward)
  int Ot;      // the channels dW is computed for at once, rounded up: 8, or a multiple of 16

  Geometry(const ConvGeometry& g, int tile_cols) {
    C = g.channels, H = g.height, W = g.width, O = g.out_channels, k = g.kernel, p = g.padding;
    Hp = H + 2 * p, Wp = W + 2 * p;
    Ho = Hp - k + 1, Wo = Wp - k + 1, P = Ho * Wo, K = C * k * k;
    Q = round_up(Ho * Wp, tile_cols);
    const int last_term = ((C - 1) * Hp + k - 1) * Wp + k - 1;
    S = round_up(std::max(C * Hp * Wp, last_term + Q), 16);
    So = S + round_up(Hp * Wp, 16);
    Ot = O <= 8 ? 8 : round_up(O, 16);
  }
  // Where term (c, u, v) of the patch at output pixel (0, 0) lies in the bordered image.
  int term_offset(int t) const {
    const int c = t / (k * k), u = t / k % k, v = t % k;
    return (c * Hp + u) * Wp + v;
  }
};

// Per-call storage of the calling thread, grown on first use and kept: a training step
// allocates nothing. Pool threads get their slice through the lambdas' captures.
struct Scratch {
  Values<int> term_offsets, pixel_offsets, channel_offsets;
  Values<int> nonzero_pixels, nonzero_counts;  // backward: per image, the pixels where dY is not 0
  Values<std::uint8_t> nonzero_bytes;  // backward: one image's pixels where dY is not 0
  Values<float> wide;        // forward: parts x (O x Q), or x (P x O) for channels in sixteens
  Values<float> dy_rows;     // backward, more than 8 channels: (N*P, Ot), dY one pixel per row
  Values<float> second_half;  // backward: the second half of a deep dW sum (K, Ot)
  Values<float> dcols;       // backward: parts x (the framed patch gradients and dY of one image)
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}
template <typename V>
void grow(V& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}

// The parts a pass over N images is cut into: one per thread when it pays.
int image_parts(int N, std::size_t values) {
  if (N < 2) return 1;
  return std::max(1, std::min({fast::pass_threads(values, N), num_threads(), N}));
}

// X[n] into its zero-bordered copy, followed by the ones.
void border_image(const Geometry& g, const float* x, float* xp) {
  std::fill(xp, xp + g.S, 0.0f);
  std::fill(xp + g.S, xp + g.So, 1.0f);
  for (int c = 0; c < g.C; ++c)
    for (int y = 0; y < g.H; ++y)
      std::memcpy(xp + (c * g.Hp + y + g.p) * g.Wp + g.p, x + (c * g.H + y) * g.W, sizeof(float) * g.W);
}

// term_offsets: the K terms' offsets, then db's term (the ones at S); pixel_offsets: each
// output pixel's offset.
void fill_term_offsets(const Geometry& g, Scratch& s) {
  grow(s.term_offsets, g.K + 1);
  for (int t = 0; t < g.K; ++t) s.term_offsets[t] = g.term_offset(t);
  s.term_offsets[g.K] = g.S;
  grow(s.pixel_offsets, g.P);
  for (int i = 0; i < g.Ho; ++i)
    for (int j = 0; j < g.Wo; ++j) s.pixel_offsets[i * g.Wo + j] = i * g.Wp + j;
}

// lists[n * P ..] gets the pixels of image n where dY is not all zero (counts[n] of them);
// nonzero holds P bytes.
void list_nonzero(const Geometry& g, int N, const float* dY, int* lists, int* counts, std::uint8_t* nonzero) {
  const int O = g.O, P = g.P;
  for (int n = 0; n < N; ++n) {
    const float* d = dY + (std::size_t)n * O * P;
    for (int q = 0; q < P; ++q) nonzero[q] = d[q] != 0.0f;  // (-0 == 0; a NaN is listed)
    for (int o = 1; o < O; ++o)
      for (int q = 0; q < P; ++q) nonzero[q] = static_cast<std::uint8_t>(nonzero[q] | (d[(std::size_t)o * P + q] != 0.0f));
    int* list = lists + (std::size_t)n * P;
    int count = 0;
    for (int q = 0; q < P; ++q) {
      list[count] = q;
      count += nonzero[q];
    }
    counts[n] = count;
  }
}

// dY (N, O*P) into rows (N*P, Ot): one pixel per row, the lanes past O zero.
void dy_by_pixel(const Geometry& g, int N, const float* dY, float* rows) {
  const int Ot = g.Ot, O = g.O, P = g.P;
  for (int n = 0; n < N; ++n) {
    const float* d = dY + (std::size_t)n * O * P;
    float* r = rows + (std::size_t)n * P * Ot;
    for (int q0 = 0; q0 < P; q0 += 16) {  // 16 pixels at a time: O short runs in, 16 rows out
      const int w = std::min(16, P - q0);
      for (int q = 0; q < w; ++q)
        for (int o = O; o < Ot; ++o) r[(std::size_t)(q0 + q) * Ot + o] = 0.0f;
      for (int o = 0; o < O; ++o) {
        const float* src = d + (std::size_t)o * P + q0;
        for (int q = 0; q < w; ++q) r[(std::size_t)(q0 + q) * Ot + o] = src[q];
      }
    }
  }
}

bool g_direct_conv = true;  // set_direct_conv

}  // namespace

void set_direct_conv(bool on) { g_direct_conv = on; }
bool direct_conv() { return g_direct_conv; }

bool fast_conv_takes(const ConvGeometry& g, int stride) {
  return g_direct_conv && kernel_path() == KernelPath::Fast && stride == 1 && g.channels * g.kernel * g.kernel < kMostSum &&
         g.out_channels < kMostSum;
}

void fast_conv_forward(const ConvGeometry& cg, int N, const float* X, const float* Wt, const float* b, float* Y,
                       Tensor<float>& bordered) {
  const fast::IsaKernels& isa = fast::isa_kernels();
  const int NQ = isa.conv_cols, RM = isa.conv_rows_max;
  const Geometry g(cg, NQ);
  Scratch& s = scratch();
  fill_term_offsets(g, s);
  bordered.resize(N, g.So);
  const int parts = image_parts(N, (std::size_t)N * g.P * g.O * g.K);
  // Channels in sixteens: 16 channels of a few pixels at a time (conv_pixels), every lane
  // an output. Otherwise (LeNet-5's first layer: 6) a few channels of 16 or 32 "wide" pixels
  // i * Wp + j at a time (conv_rows), j >= Wo thrown away.
  const bool by_pixels = g.O % 16 == 0;
  grow(s.wide, (std::size_t)parts * (by_pixels ? g.P : g.Q) * g.O);
  const int* boff = s.term_offsets.data();
  const int* poff = s.pixel_offsets.data();
  float* wide_all = s.wide.data();
  fast::run_parts(parts, [&](int t) {
    float* wide = wide_all + (std::size_t)t * (by_pixels ? g.P : g.Q) * g.O;
    for (int n = N * t / parts; n < N * (t + 1) / parts; ++n) {
      float* xp = bordered.row(n);
      border_image(g, X + (std::size_t)n * g.C * g.H * g.W, xp);
      float* y = Y + (std::size_t)n * g.O * g.P;
      if (by_pixels) {
        // pix (P, O): pixel q's 16 channels from o at wide[q * O + o]
        const int RP = isa.conv_pixels_max;
        for (int o = 0; o < g.O; o += 16)
          for (int q = 0; q < g.P; q += RP) {
            const int rows = std::min(RP, g.P - q);
            float tile[16 * 16];
            isa.conv_pixels(rows, g.K, xp, poff + q, boff, Wt + o, g.O, tile);
            for (int r = 0; r < rows; ++r)
              for (int c = 0; c < 16; ++c) wide[(std::size_t)(q + r) * g.O + o + c] = tile[r * 16 + c];
          }
        for (int o = 0; o < g.O; ++o)
          for (int q = 0; q < g.P; ++q) y[(std::size_t)o * g.P + q] = wide[(std::size_t)q * g.O + o] + b[o];
        continue;
      }
      // wide (O, Q) = W^T (O, K) times the bordered image read at each term's offset
      for (int o = 0; o < g.O; o += RM)
        for (int q = 0; q < g.Q; q += NQ)
          isa.conv_rows(std::min(RM, g.O - o), g.K, Wt + o, 1, g.O, xp + q, boff, wide + (std::size_t)o * g.Q + q, g.Q);
      for (int o = 0; o < g.O; ++o)
        for (int i = 0; i < g.Ho; ++i)
          for (int j = 0; j < g.Wo; ++j) y[(o * g.Ho + i) * g.Wo + j] = wide[(std::size_t)o * g.Q + i * g.Wp + j] + b[o];
    }
  });
}

void fast_conv_backward(const ConvGeometry& cg, int N, const Tensor<float>& bordered, const float* dY, const float* Wt,
                        float* dW, float* db, float* dX) {
  const fast::IsaKernels& isa = fast::isa_kernels();
  const int NQ = isa.conv_cols, RM = isa.conv_rows_max;
  const Geometry g(cg, NQ);
  Scratch& s = scratch();
  fill_term_offsets(g, s);
  const int R = N * g.P;

  // for each image the pixels where dY is not all zero: the others add nothing to dW or db
  // (a term x * 0 leaves a sum as it is, and the sums are never -0)
  grow(s.nonzero_pixels, R);
  grow(s.nonzero_counts, N);
  int* lists = s.nonzero_pixels.data();
  grow(s.nonzero_bytes, g.P);
  list_nonzero(g, N, dY, lists, s.nonzero_counts.data(), s.nonzero_bytes.data());
  // dW reads the channels of a pixel: gathered from dY as it lies for up to 8 channels (one
  // block of K), from a copy one pixel per row for more (read once per block of K)
  const bool dy_copied = g.Ot > 8;
  if (dy_copied) {
    grow(s.dy_rows, (std::size_t)R * g.Ot);
    dy_by_pixel(g, N, dY, s.dy_rows.data());
  }
  const float* rows = s.dy_rows.data();
  const int NO = g.Ot == 8 ? 8 : 16, most = isa.conv_dw_max(NO);
  const int* roff = s.pixel_offsets.data();
  // One pass of conv_dw over the listed pixels of rows [r0, r1), for the terms xoff[0 .. kb)
  // of the images x(n) and the channels o0 .. o0 + NO, onto acc.
  auto pass = [&](int r0, int r1, int o0, int kb, const int* terms, auto x, float* acc) {
    for (int n = r0 / g.P; n * g.P < r1; ++n) {
      const int q0 = std::max(r0 - n * g.P, 0), q1 = std::min(r1 - n * g.P, g.P);
      const int* list = lists + (std::size_t)n * g.P;
      const int* first = std::lower_bound(list, list + s.nonzero_counts[n], q0);
      const int* last = std::lower_bound(first, list + s.nonzero_counts[n], q1);
      if (dy_copied)
        isa.conv_dw(NO, kb, (int)(last - first), first, x(n), roff, terms, rows + (std::size_t)n * g.P * g.Ot + o0, g.Ot,
                    1, std::min(NO, g.O - o0), acc);
      else
        isa.conv_dw(NO, kb, (int)(last - first), first, x(n), roff, terms, dY + ((std::size_t)n * g.O + o0) * g.P, 1, g.P,
                    std::min(NO, g.O - o0), acc);
    }
  };

  // db[o] += dY at every pixel in order (plain additions, Conv2d::backward's loop) is the sum
  // of one more term, whose x is 1 (the ones after each bordered image): fma(1, g, s) rounds
  // g + s exactly as the addition does. On one thread it rides along with the last block of
  // dW's terms, the second half of the pixels after the first; the halves of two threads run
  // at once, so there db has a pass of its own.
  const int mid = fast::deep_sum_middle(R);
  const bool parallel = mid < R && num_threads() >= 2;
  const int T = parallel ? g.K : g.K + 1;  // the terms dW's passes take
  const int KB = (T + (T + most - 1) / most - 1) / ((T + most - 1) / most);  // T in equal blocks of at most `most`
  const int* xoff = s.term_offsets.data();
  auto image = [&](int n) { return bordered.row(n); };
  if (parallel)
    for (int o0 = 0; o0 < g.O; o0 += NO) {
      float acc[16];
      for (int o = 0; o < NO; ++o) acc[o] = o0 + o < g.O ? db[o0 + o] : 0.0f;
      pass(0, R, o0, 1, xoff + g.K, image, acc);
      for (int o = 0; o < NO && o0 + o < g.O; ++o) db[o0 + o] = acc[o];
    }

  // dW: rows [0, mid) onto dW, rows [mid, R) from 0 into second_half, then added
  grow(s.second_half, (std::size_t)g.K * g.Ot);
  float* second = s.second_half.data();
  auto dw_rows = [&](int r0, int r1, bool from_dw, float* out) {
    float acc[32 * 16];
    for (int o0 = 0; o0 < g.O; o0 += NO)
      for (int k0 = 0; k0 < T; k0 += KB) {
        const int kb = std::min(KB, T - k0);
        for (int k = 0; k < kb; ++k)
          for (int o = 0; o < NO; ++o) {
            const bool real = o0 + o < g.O;
            acc[k * NO + o] = k0 + k == g.K ? (real ? db[o0 + o] : 0.0f)  // db's term: on from db
                                            : (from_dw && real ? dW[(std::size_t)(k0 + k) * g.O + o0 + o] : 0.0f);
          }
        pass(r0, r1, o0, kb, xoff + k0, image, acc);
        for (int k = 0; k < kb; ++k)
          for (int o = 0; o < NO && o0 + o < g.O; ++o)
            (k0 + k == g.K ? db[o0 + o] : out[(std::size_t)(k0 + k) * g.O + o0 + o]) = acc[k * NO + o];
      }
  };
  if (parallel) {
    fast::run_parts(2, [&](int t) {
      if (t == 0) dw_rows(0, mid, true, dW);
      else dw_rows(mid, R, false, second);
    });
  } else {
    dw_rows(0, mid, true, dW);
    if (mid < R) dw_rows(mid, R, false, second);
  }
  if (mid < R)
    for (int q = 0; q < g.K * g.O; ++q) dW[q] += second[q];

  if (!dX) return;
  // dX, image by image. The patch gradients dcols^T (K, .) = W (K, O) dY[n] (O, .) are
  // computed in rows of Wo + k - 1, the first k - 1 entries of each zero (dY's zeros there give
  // +0), so that col2im can read a whole row of pixels at once: past either end of a row of
  // pixels it reads zeros (a row's right end runs into the next row's zeros).
  const int parts = image_parts(N, (std::size_t)N * g.P * g.O * g.K);
  const int Wq = g.Wo + g.k - 1, span = round_up(g.Ho * Wq, NQ);
  const int Fs = round_up(std::max(span, g.Ho * Wq + g.k + 16), 16);  // a plane, with the zeros read past its end
  const std::size_t framed = (std::size_t)g.K * Fs, dy_framed = (std::size_t)g.O * Fs;
  const std::size_t per_part = framed + dy_framed;
  grow(s.dcols, per_part * parts);
  grow(s.channel_offsets, g.O);
  for (int o = 0; o < g.O; ++o) s.channel_offsets[o] = o * Fs;
  const int* goff = s.channel_offsets.data();
  float* dcols_all = s.dcols.data();
  fast::run_parts(parts, [&](int t) {
    float* fr = dcols_all + per_part * t;
    float* gf = fr + framed;
    std::fill(fr, fr + per_part, 0.0f);  // the zeros stay: only the pixels are written below
    for (int n = N * t / parts; n < N * (t + 1) / parts; ++n) {
      const float* d = dY + (std::size_t)n * g.O * g.P;
      for (int o = 0; o < g.O; ++o)
        for (int i = 0; i < g.Ho; ++i) {
          float* dst = gf + (std::size_t)o * Fs + i * Wq + g.k - 1;
          const float* src = d + (std::size_t)o * g.P + i * g.Wo;
          for (int j = 0; j < g.Wo; ++j) dst[j] = src[j];
        }
      for (int k = 0; k < g.K; k += RM)
        for (int q = 0; q < span; q += NQ)
          isa.conv_rows(std::min(RM, g.K - k), g.O, Wt + (std::size_t)k * g.O, g.O, 1, gf + q, goff,
                        fr + (std::size_t)k * Fs + q, Fs);
      // pixel (c, y, x) adds the patch gradients of the windows (i, j) = (y + p - u, x + p - v)
      // over it, in increasing (i, j): u, then v, from k - 1 down to 0
      float* dx = dX + (std::size_t)n * g.C * g.H * g.W;
      for (int c = 0; c < g.C; ++c)
        for (int y = 0; y < g.H; ++y) {
          float* out = dx + (c * g.H + y) * g.W;
          for (int x0 = 0; x0 < g.W; x0 += 16) {
            float acc[16] = {};
            for (int u = g.k - 1; u >= 0; --u) {
              const int i = y + g.p - u;
              if (i < 0 || i >= g.Ho) continue;
              for (int v = g.k - 1; v >= 0; --v) {
                const float* src = fr + (std::size_t)((c * g.k + u) * g.k + v) * Fs + i * Wq + g.k - 1 + x0 + g.p - v;
                for (int x = 0; x < 16; ++x) acc[x] += src[x];
              }
            }
            for (int x = 0; x < std::min(16, g.W - x0); ++x) out[x0 + x] = acc[x];
          }
        }
    }
  });
}

}  // namespace chainrule
