#include "CVectorKernels.h"
#include "clones.h"
#include <string.h>

// Products here are contracted to FMAs (the target's -ffp-contract=off is for the Adam loop, which must
// round like the Swift code it replaced; these kernels are compared with the im2col path to a tolerance).
#pragma clang fp contract(fast)

typedef float v8 __attribute__((vector_size(32), aligned(4)));
#define load8(p) (*(const v8 *)(p))
#define store8(p, v) (*(v8 *)(p) = (v))
#define splat8(x) ((v8){(x), (x), (x), (x), (x), (x), (x), (x)})
typedef int vi8 __attribute__((vector_size(32), aligned(4)));
#define UNROLL _Pragma("clang loop unroll(full)")


// Where the taps of a padded image lie (see the header): stride 1 keeps each padded row as it is; stride 2
// stores each padded row as its even columns, then its odd columns, each half `paddedWidth` long, so that
// the taps of 8 consecutive outputs (columns 2x + kj) are 8 consecutive floats of one half.
struct layout {
    size_t row;      // floats between padded rows (a kernel row further down)
    size_t outRow;   // floats between the first padded rows of consecutive output rows
    size_t plane;    // floats of one channel
    size_t half;     // stride 2: floats of one half-row
    size_t stride;
};

static inline struct layout padded_layout(size_t paddedHeight, size_t paddedWidth, size_t stride) {
    const size_t row = paddedWidth * stride;
    return (struct layout){row, row * stride, paddedHeight * row, paddedWidth, stride};
}

// Offset of tap column kj from an output column's first tap.
static inline size_t tap_column(struct layout l, size_t kj) {
    return l.stride == 1 ? kj : (kj % 2) * l.half + kj / 2;
}

// r[i][j] ↔ r[j][i] in registers (unpacks, then 128-bit lane shuffles): with scalar stores, the weight
// gradient's dY transpose on 1 or 3 input channels cost as much as its FMAs.
static inline __attribute__((always_inline)) void transpose8x8(v8 r[8]) {
    v8 t[8], u[8];
    for (size_t i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (size_t i = 0; i < 8; i += 4) {
        u[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    // u[k] (k < 4) holds columns k and k + 4 of rows 0 … 3, u[k + 4] those of rows 4 … 7.
    for (size_t k = 0; k < 4; k++) {
        r[k] = __builtin_shufflevector(u[k], u[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[k + 4] = __builtin_shufflevector(u[k], u[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

// Σ of one dY plane: 8 lanes over whole vectors, the tail, then the lanes in order (the bias gradient's sum);
// with `rectified` (a fused ReLU's output), only where it is > 0.
static inline __attribute__((always_inline)) float plane_sum(const float *restrict dy, const float *restrict rectified,
                                                             size_t pixels) {
    v8 total = splat8(0.0f);
    size_t p = 0;
    for (; p + 8 <= pixels; p += 8) {
        total += rectified ? (v8)((vi8)load8(dy + p) & (load8(rectified + p) > 0)) : load8(dy + p);
    }
    float sum = 0;
    for (; p < pixels; p++) sum += rectified && !(rectified[p] > 0) ? 0.0f : dy[p];
    for (int lane = 0; lane < 8; lane++) sum += total[lane];
    return sum;
}

L3RS_CLONES
void l3rs_conv_pad(const float *restrict image, float *restrict padded, size_t channels, size_t height, size_t width,
                   size_t padding, size_t paddedHeight, size_t paddedWidth, size_t stride) {
    const struct layout l = padded_layout(paddedHeight, paddedWidth, stride);
    memset(padded, 0, channels * l.plane * sizeof(float));
    for (size_t c = 0; c < channels; c++) {
        for (size_t y = 0; y < height; y++) {
            const float *source = image + (c * height + y) * width;
            float *target = padded + c * l.plane + (y + padding) * l.row;
            if (stride == 1) {
                memcpy(target + padding, source, width * sizeof(float));
            } else {
                // Padded column j = x + padding goes to half j % 2 at j / 2: source column 2k to half
                // padding % 2 at k + padding / 2, column 2k + 1 to the other half at k + (padding + 1) / 2.
                float *fromEven = target + (padding % 2) * l.half + padding / 2;
                float *fromOdd = target + (1 - padding % 2) * l.half + (padding + 1) / 2;
                size_t k = 0;
                for (; 2 * k + 16 <= width; k += 8) {
                    const v8 lo = load8(source + 2 * k), hi = load8(source + 2 * k + 8);
                    store8(fromEven + k, __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14));
                    store8(fromOdd + k, __builtin_shufflevector(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15));
                }
                for (; 2 * k < width; k++) {
                    fromEven[k] = source[2 * k];
                    if (2 * k + 1 < width) fromOdd[k] = source[2 * k + 1];
                }
            }
        }
    }
}

// The stride-1 forward, vectorised over pixels (stride 2 runs by output channels: l3rs_conv3x3_forward_by_channels).
// The layout's stride is a constant, so the tap offsets fold to kj.
L3RS_CLONES
void l3rs_conv_direct_forward(const float *restrict padded, const float *restrict weight, const float *restrict bias,
                              float *restrict output, size_t channels, size_t paddedHeight, size_t paddedWidth,
                              size_t outputChannels, size_t kernel, size_t outputHeight, size_t outputWidth) {
    const struct layout l = padded_layout(paddedHeight, paddedWidth, 1);
    const size_t plane = l.plane, taps = channels * kernel * kernel;
    const size_t outPlane = outputHeight * outputWidth;
    if (outputWidth % 8 == 0 && outputWidth % 32 != 0) {
        // Rows of whole vectors but not of whole blocks (16, 8 wide): 32 consecutive pixels of the flattened
        // output plane, spanning rows, so every lane is used. Two output channels in eight accumulators.
        // Blocks outside, channels inside: a block's padded rows (2 or 4 output rows' worth) stay in L1
        // while every output channel reads them.
        for (size_t q = 0; q < outPlane; q += 32) {
            const size_t vectors = outPlane - q < 32 ? (outPlane - q) / 8 : 4;
            size_t offset[4];
            for (size_t v = 0; v < 4; v++) {
                const size_t pixel = q + 8 * (v < vectors ? v : 0);
                offset[v] = pixel / outputWidth * l.outRow + pixel % outputWidth;
            }
            for (size_t o = 0; o < outputChannels; o += 2) {
                const int pair = o + 1 < outputChannels;
                const float *w0 = weight + o * taps, *w1 = pair ? w0 + taps : w0;
                const float b0 = bias ? bias[o] : 0.0f, b1 = bias && pair ? bias[o + 1] : 0.0f;
                float *y0 = output + o * outPlane, *y1 = pair ? y0 + outPlane : y0;
                v8 a0 = splat8(b0), a1 = a0, a2 = a0, a3 = a0;
                v8 c0 = splat8(b1), c1 = c0, c2 = c0, c3 = c0;
                size_t t = 0;
                for (size_t c = 0; c < channels; c++) {
                    for (size_t ki = 0; ki < kernel; ki++) {
                        const float *row = padded + c * plane + ki * l.row;
                        for (size_t kj = 0; kj < kernel; kj++, t++) {
                            const v8 u = splat8(w0[t]), v = splat8(w1[t]);
                            const float *x = row + tap_column(l, kj);
                            const v8 x0 = load8(x + offset[0]), x1 = load8(x + offset[1]);
                            const v8 x2 = load8(x + offset[2]), x3 = load8(x + offset[3]);
                            a0 += u * x0; a1 += u * x1; a2 += u * x2; a3 += u * x3;
                            c0 += v * x0; c1 += v * x1; c2 += v * x2; c3 += v * x3;
                        }
                    }
                }
                const v8 first[4] = {a0, a1, a2, a3}, second[4] = {c0, c1, c2, c3};
                for (size_t v = 0; v < vectors; v++) {
                    store8(y0 + q + 8 * v, first[v]);
                    if (pair) store8(y1 + q + 8 * v, second[v]);
                }
            }
        }
        return;
    }
    // Other widths: two output channels × 32 output pixels of one row in eight accumulators: each input load
    // feeds two FMAs.
    for (size_t o = 0; o < outputChannels; o += 2) {
        const int pair = o + 1 < outputChannels;
        const float *w0 = weight + o * taps, *w1 = pair ? w0 + taps : w0;
        const float b0 = bias ? bias[o] : 0.0f, b1 = bias && pair ? bias[o + 1] : 0.0f;
        float *y0 = output + o * outPlane, *y1 = pair ? y0 + outPlane : y0;
        for (size_t oy = 0; oy < outputHeight; oy++) {
            for (size_t ox = 0; ox < outputWidth; ox += 32) {
                v8 a0 = splat8(b0), a1 = a0, a2 = a0, a3 = a0;
                v8 c0 = splat8(b1), c1 = c0, c2 = c0, c3 = c0;
                size_t t = 0;
                for (size_t c = 0; c < channels; c++) {
                    for (size_t ki = 0; ki < kernel; ki++) {
                        const float *row = padded + c * plane + oy * l.outRow + ki * l.row + ox;
                        for (size_t kj = 0; kj < kernel; kj++, t++) {
                            const v8 u = splat8(w0[t]), v = splat8(w1[t]);
                            const float *x = row + tap_column(l, kj);
                            const v8 x0 = load8(x), x1 = load8(x + 8);
                            const v8 x2 = load8(x + 16), x3 = load8(x + 24);
                            a0 += u * x0; a1 += u * x1; a2 += u * x2; a3 += u * x3;
                            c0 += v * x0; c1 += v * x1; c2 += v * x2; c3 += v * x3;
                        }
                    }
                }
                float *d0 = y0 + oy * outputWidth + ox, *d1 = y1 + oy * outputWidth + ox;
                if (ox + 32 <= outputWidth) {
                    store8(d0, a0); store8(d0 + 8, a1); store8(d0 + 16, a2); store8(d0 + 24, a3);
                    if (pair) { store8(d1, c0); store8(d1 + 8, c1); store8(d1 + 16, c2); store8(d1 + 24, c3); }
                } else {
                    float r0[32], r1[32];
                    store8(r0, a0); store8(r0 + 8, a1); store8(r0 + 16, a2); store8(r0 + 24, a3);
                    store8(r1, c0); store8(r1 + 8, c1); store8(r1 + 16, c2); store8(r1 + 24, c3);
                    // Whole vectors first: a scalar copy of the row (28 of MNIST's 32) cost more than its FMAs.
                    const size_t n = outputWidth - ox;
                    size_t i = 0;
                    for (; i + 8 <= n; i += 8) {
                        store8(d0 + i, load8(r0 + i));
                        if (pair) store8(d1 + i, load8(r1 + i));
                    }
                    for (; i < n; i++) {
                        d0[i] = r0[i];
                        if (pair) d1[i] = r1[i];
                    }
                }
            }
        }
    }
}

// The row-blocked 3×3 stride-1 kernels for one to three input channels (a network's first layer), where the
// kernels above do 9–27 multiply-adds per output and spend as much on loads, broadcasts and partial rows as on
// them. One output channel at a time, over its whole plane: a block is `rows` output rows × `vectors` vectors
// of 8 columns, and each padded input vector loaded feeds every output row of the block whose taps reach it
// (a row of 3 blocked rows is loaded once for up to 3 kernel rows). A row of outputWidth ≥ 8 that is no whole
// number of vectors ends with a vector overlapping the one before it (forward: it stores the same values
// twice; weight gradient: its dY lanes already counted are masked to zero), so no lane is spent on slack.
// MNIST's 1→32 on 28×28 (C microbenchmark, batch 128, batch-wide output and dY): forward 30 → 67 GFLOP/s,
// weight gradient 27 → 51–54 (a 512³ sgemm: ≈ 101).

// Forward block: weights of one input channel in 9 registers at a time; accumulators start at the bias and
// take the taps in (c, ki, kj) order, the order of l3rs_conv_direct_forward (so the two agree bit for bit).
static inline __attribute__((always_inline)) void rows_forward_block(
    const float *restrict padded, const float *restrict w, float bias, float *restrict y, size_t channels,
    struct layout l, size_t outputWidth, size_t oy, const size_t *column, int rectify, size_t rows, size_t vectors) {
    v8 a[3][2];
    UNROLL for (size_t i = 0; i < rows; i++) {
        UNROLL for (size_t v = 0; v < vectors; v++) a[i][v] = splat8(bias);
    }
    for (size_t c = 0; c < channels; c++, w += 9) {
        v8 wk[9];
        UNROLL for (size_t t = 0; t < 9; t++) wk[t] = splat8(w[t]);
        const float *p = padded + c * l.plane + oy * l.row;
        UNROLL for (size_t r = 0; r < rows + 2; r++) {
            UNROLL for (size_t v = 0; v < vectors; v++) {
                UNROLL for (size_t kj = 0; kj < 3; kj++) {
                    const v8 x = load8(p + r * l.row + column[v] + kj);
                    UNROLL for (size_t i = 0; i < rows; i++) {
                        if (r >= i && r - i < 3) a[i][v] += wk[(r - i) * 3 + kj] * x;
                    }
                }
            }
        }
    }
    UNROLL for (size_t i = 0; i < rows; i++) {
        UNROLL for (size_t v = 0; v < vectors; v++) {
            // ReLU as the ReLU layer computes it: x > 0 ? x : +0 (NaN and −0 to +0).
            const v8 out = rectify ? (v8)((vi8)a[i][v] & (a[i][v] > 0)) : a[i][v];
            store8(y + (oy + i) * outputWidth + column[v], out);
        }
    }
}

L3RS_CLONES
void l3rs_conv3x3_rows_forward(const float *restrict padded, const float *restrict weight, const float *restrict bias,
                               float *restrict output, size_t channels, size_t paddedHeight, size_t paddedWidth,
                               size_t outputChannels, size_t outputHeight, size_t outputWidth, int rectify) {
    const struct layout l = padded_layout(paddedHeight, paddedWidth, 1);
    const size_t outPlane = outputHeight * outputWidth, vectorsPerRow = (outputWidth + 7) / 8;
    for (size_t o = 0; o < outputChannels; o++) {
        const float *w = weight + o * channels * 9;
        const float b = bias ? bias[o] : 0.0f;
        float *y = output + o * outPlane;
        // Pairs of vectors in blocks of 3 rows (6 accumulators, 9 weights), a last single vector in blocks of 3.
        for (size_t first = 0; first < vectorsPerRow; first += 2) {
            const size_t vectors = vectorsPerRow - first >= 2 ? 2 : 1;
            size_t column[2];
            for (size_t v = 0; v < 2; v++) {
                const size_t start = (first + (v < vectors ? v : 0)) * 8;
                column[v] = start + 8 <= outputWidth ? start : outputWidth - 8;
            }
#define BLOCK(rows, vectors) rows_forward_block(padded, w, b, y, channels, l, outputWidth, oy, column, rectify, rows, vectors)
            size_t oy = 0;
            if (vectors == 2) {
                for (; oy + 3 <= outputHeight; oy += 3) BLOCK(3, 2);
                for (; oy < outputHeight; oy++) BLOCK(1, 2);
            } else {
                for (; oy + 3 <= outputHeight; oy += 3) BLOCK(3, 1);
                for (; oy < outputHeight; oy++) BLOCK(1, 1);
            }
#undef BLOCK
        }
    }
}

// Weight-gradient block: `rows` dY row vectors of one output channel against one input channel's padded
// rows, into 9 tap accumulators (lanes kept apart).
static inline __attribute__((always_inline)) void rows_weight_gradient_block(
    const float *restrict x, const float *restrict dy, const float *restrict rectified, v8 s[9], struct layout l,
    size_t outputWidth, size_t oy, size_t column, const int *maskLanes, size_t rows, int masked, int rectify) {
    v8 g[3];
    UNROLL for (size_t i = 0; i < rows; i++) {
        const size_t at = (oy + i) * outputWidth + column;
        g[i] = load8(dy + at);
        if (masked) g[i] = (v8)((vi8)g[i] & *(const vi8 *)maskLanes);
        if (rectify) g[i] = (v8)((vi8)g[i] & (load8(rectified + at) > 0));
    }
    const float *p = x + oy * l.row + column;
    UNROLL for (size_t r = 0; r < rows + 2; r++) {
        UNROLL for (size_t kj = 0; kj < 3; kj++) {
            const v8 v = load8(p + r * l.row + kj);
            UNROLL for (size_t i = 0; i < rows; i++) {
                if (r >= i && r - i < 3) s[(r - i) * 3 + kj] += g[i] * v;
            }
        }
    }
}

L3RS_CLONES
void l3rs_conv3x3_rows_weight_gradient(const float *restrict padded, const float *restrict gradOutput,
                                       const float *restrict rectifiedOutput, float *restrict gradWeightLanes,
                                       float *restrict gradBias, size_t channels, size_t paddedHeight,
                                       size_t paddedWidth, size_t outputChannels, size_t outputHeight,
                                       size_t outputWidth) {
    const struct layout l = padded_layout(paddedHeight, paddedWidth, 1);
    const size_t pixels = outputHeight * outputWidth, vectorsPerRow = (outputWidth + 7) / 8;
    for (size_t o = 0; o < outputChannels; o++) {
        const float *dy = gradOutput + o * pixels;
        const float *rectified = rectifiedOutput ? rectifiedOutput + o * pixels : NULL;
        for (size_t c = 0; c < channels; c++) {
            v8 s[9];
            for (size_t t = 0; t < 9; t++) s[t] = splat8(0.0f);
            for (size_t v = 0; v < vectorsPerRow; v++) {
                size_t column = v * 8;
                // Lanes below `counted` were counted by the vector before (a compare, not a loop: that became a
                // memset call per vector, with the accumulators spilled around it).
                const size_t counted = column + 8 > outputWidth ? column + 8 - outputWidth : 0;
                column -= counted;
                int mask[8] __attribute__((aligned(32)));
                *(vi8 *)mask = (vi8){0, 1, 2, 3, 4, 5, 6, 7} >= (int)counted;
                // The mask and the ReLU as constants of four copies of the loop: held in the loop, they pushed two
                // of the nine accumulators out of the 16 registers (a store and a reload in their chains).
                const int masked = mask[0] == 0;
#define ROWS(masked, rectify)                                                                                    \
    do {                                                                                                         \
        size_t oy = 0;                                                                                           \
        for (; oy + 3 <= outputHeight; oy += 3) {                                                                \
            rows_weight_gradient_block(padded + c * l.plane, dy, rectified, s, l, outputWidth, oy, column, mask, 3, \
                                       masked, rectify);                                                        \
        }                                                                                                        \
        for (; oy < outputHeight; oy++) {                                                                        \
            rows_weight_gradient_block(padded + c * l.plane, dy, rectified, s, l, outputWidth, oy, column, mask, 1, \
                                       masked, rectify);                                                        \
        }                                                                                                        \
    } while (0)
                if (masked && rectified) ROWS(1, 1);
                else if (masked) ROWS(1, 0);
                else if (rectified) ROWS(0, 1);
                else ROWS(0, 0);
#undef ROWS
            }
            float *d = gradWeightLanes + (o * channels + c) * 72;
            for (size_t t = 0; t < 9; t++) store8(d + 8 * t, load8(d + 8 * t) + s[t]);
        }
    }
    // db as the other direct weight gradient sums it (the same bits, of dY masked like ReLU's gradient).
    for (size_t o = 0; gradBias && o < outputChannels; o++) {
        gradBias[o] += plane_sum(gradOutput + o * pixels, rectifiedOutput ? rectifiedOutput + o * pixels : NULL, pixels);
    }
}

void l3rs_conv3x3_fold_lane_weight_gradient(const float *restrict gradWeightLanes, float *restrict gradWeight,
                                            size_t count) {
    for (size_t i = 0; i < count; i++) {
        const float *lanes = gradWeightLanes + 8 * i;
        gradWeight[i] += ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    }
}

void l3rs_conv3x3_transpose_weight(const float *restrict weight, float *restrict weightT, size_t channels,
                                   size_t outputChannels) {
    const size_t outPad = (outputChannels + 7) / 8 * 8;
    for (size_t c = 0; c < channels; c++) {
        for (size_t tap = 0; tap < 9; tap++) {
            float *target = weightT + (c * 9 + tap) * outPad;
            for (size_t o = 0; o < outPad; o++) target[o] = o < outputChannels ? weight[(o * channels + c) * 9 + tap] : 0;
        }
    }
}

// One block of the stride-2 forward by output channels: `pixels` output pixels (at `offset` in the padded
// plane) × `vectors` vectors of output channels from o, in pixels·vectors accumulators (both constants where
// inlined: 4 × 3, 6 × 2 or 12 × 1, twelve FMA chains). Per tap, `vectors` weight loads and `pixels` broadcasts
// of padded input values feed pixels·vectors FMAs; the sums go to outT (P, outPad), pixel-major.
static inline __attribute__((always_inline)) void forward_by_channels_block(
    const float *restrict padded, const float *restrict weightT, float *restrict outT, struct layout l,
    size_t channels, size_t outPad, size_t o, const size_t *offset, size_t first, size_t count, size_t pixels,
    size_t vectors) {
    v8 s[12][3];
    for (size_t p = 0; p < pixels; p++) {
        for (size_t v = 0; v < vectors; v++) s[p][v] = splat8(0.0f);
    }
    const float *w = weightT + o;
    for (size_t c = 0; c < channels; c++) {
        for (size_t ki = 0; ki < 3; ki++) {
            const float *row = padded + c * l.plane + ki * l.row;
            for (size_t kj = 0; kj < 3; kj++, w += outPad) {
                const float *x = row + tap_column(l, kj);
                v8 wv[3];
                for (size_t v = 0; v < vectors; v++) wv[v] = load8(w + 8 * v);
                for (size_t p = 0; p < pixels; p++) {
                    const v8 xp = splat8(x[offset[p]]);
                    for (size_t v = 0; v < vectors; v++) s[p][v] += xp * wv[v];
                }
            }
        }
    }
    for (size_t p = 0; p < count; p++) {
        for (size_t v = 0; v < vectors; v++) store8(outT + (first + p) * outPad + o + 8 * v, s[p][v]);
    }
}

// The 3×3 stride-2 forward vectorised over output channels (an sgemm micro-kernel with k = C·9 on broadcast
// inputs, without im2col): y[o, p] = Σ_c,tap Wᵀ[c, tap, o] · x[c, p + tap]. Vectorised over pixels (the stride-2
// forward before), each tap of 8 outputs was an unaligned load from a half-row, 4 such loads and 2 weight
// broadcasts per 8 FMAs; here 2 weight vectors and 6 input broadcasts feed 12, and a tap is one scalar of the
// padded image. Blocks of output channels outside, pixel blocks inside, so a block's Wᵀ stays in L1. ResNet's
// 16→32 and 32→64 forwards went from 47% and 52% of the sgemm ceiling to ≈70% and ≈80% (layer table). Stride 1
// runs the same blocks on the stride-1 layout (MNIST's 32→64 on 14×14, whose rows are no whole vectors).
L3RS_CLONES
void l3rs_conv3x3_forward_by_channels(const float *restrict padded, const float *restrict weightT,
                                      const float *restrict bias, float *restrict output, float *restrict transposed,
                                      size_t channels, size_t paddedHeight, size_t paddedWidth, size_t outputChannels,
                                      size_t outputHeight, size_t outputWidth, size_t stride) {
    const struct layout l = padded_layout(paddedHeight, paddedWidth, stride);
    const size_t pixels = outputHeight * outputWidth, outPad = (outputChannels + 7) / 8 * 8;
    for (size_t o = 0; o < outPad;) {
        // 16 channels a block (6 pixels), 24 (4 pixels) where what is left is no multiple of 16, 8 (12 pixels,
        // 13 loads per 12 FMAs) only last. On ResNet's 32→64 blocks of 16 ran at 80% of the sgemm ceiling, of 24
        // (24, 24, 16) at 60%: each block's Wᵀ, 18 KB against 27 KB at 32 channels, stays in the 32 KB L1.
        const size_t left = outPad - o;
        const size_t vectors = left == 8 ? 1 : left % 16 == 0 ? 2 : 3, block = 12 / vectors;
        for (size_t first = 0; first < pixels; first += block) {
            const size_t count = pixels - first < block ? pixels - first : block;
            size_t offset[12];
            for (size_t p = 0; p < block; p++) {
                const size_t pixel = first + (p < count ? p : count - 1);
                offset[p] = pixel / outputWidth * l.outRow + pixel % outputWidth;
            }
#define BLOCK(vectors) forward_by_channels_block(padded, weightT, transposed, l, channels, outPad, o, offset, first, count, \
                                             12 / (vectors), vectors)
            if (vectors == 3) BLOCK(3);
            else if (vectors == 2) BLOCK(2);
            else BLOCK(1);
#undef BLOCK
        }
        o += 8 * vectors;
    }
    // (P, outPad) → (out, P) with the bias, by 8×8 blocks transposed in registers.
    for (size_t o = 0; o < outputChannels; o += 8) {
        v8 b = splat8(0.0f);
        for (size_t i = 0; bias && i < 8 && o + i < outputChannels; i++) b[i] = bias[o + i];
        size_t p = 0;
        for (; p + 8 <= pixels; p += 8) {
            v8 r[8];
            for (size_t k = 0; k < 8; k++) r[k] = load8(transposed + (p + k) * outPad + o) + b;
            transpose8x8(r);
            for (size_t i = 0; i < 8 && o + i < outputChannels; i++) store8(output + (o + i) * pixels + p, r[i]);
        }
        for (; p < pixels; p++) {
            for (size_t i = 0; i < 8 && o + i < outputChannels; i++) {
                output[(o + i) * pixels + p] = transposed[p * outPad + o + i] + b[i];
            }
        }
    }
}

// The weight gradient vectorises over output channels, not pixels: dWᵀ[c, tap, o … o + 7] +=
// Σ_p dYᵀ[p, o … o + 7] · x[c, p + tap], one broadcast input value per pixel and tap. Vectorised over pixels
// (the forward's layout), each (out, in) pair ended in nine horizontal sums, and on 8×8 maps (8 vector steps
// per pair) those and the 10 loads per 9 FMAs held it to ≈47 GFLOP/s on hot data; this way it needs no lane
// sums and each chain runs over the whole map. C microbenchmark, hot data, GFLOP/s by pixels → by output
// channels (sgemm ≈90): 64→64 8×8 49 → 91, 32→64 stride 2 43 → 91, 16→16 32×32 58 → 71, 3→16 32×32 45 → 53,
// 1→32 28×28 24 → 32.
//
// One pass: one kernel row ki of input channel c, `vectors` (≤ 3, a constant where inlined) vectors of output
// channels from o: per pixel 3 broadcasts and `vectors` dY loads feed 3·vectors FMAs in 3·vectors
// accumulators (at most 9 + 3 + 1 of the 16 AVX registers).
static inline __attribute__((always_inline)) void weight_gradient_pass(
    const float *restrict row, const float *restrict transposed, float *restrict gradWeightT, struct layout l,
    size_t outPad, size_t o, size_t vectors, size_t outputHeight, size_t outputWidth) {
    const size_t k1 = tap_column(l, 1), k2 = tap_column(l, 2);
    v8 s[3][3];
    for (size_t v = 0; v < vectors; v++) s[v][0] = s[v][1] = s[v][2] = splat8(0.0f);
    const float *g = transposed + o;
    for (size_t oy = 0; oy < outputHeight; oy++) {
        const float *r = row + oy * l.outRow;
        for (size_t ox = 0; ox < outputWidth; ox++, g += outPad) {
            const v8 x0 = splat8(r[ox]), x1 = splat8(r[ox + k1]), x2 = splat8(r[ox + k2]);
            for (size_t v = 0; v < vectors; v++) {
                const v8 gv = load8(g + 8 * v);
                s[v][0] += gv * x0; s[v][1] += gv * x1; s[v][2] += gv * x2;
            }
        }
    }
    for (size_t v = 0; v < vectors; v++) {
        for (size_t kj = 0; kj < 3; kj++) {
            float *d = gradWeightT + kj * outPad + o + 8 * v;
            store8(d, load8(d) + s[v][kj]);
        }
    }
}

// The weight gradient for one stride, a constant where inlined (stride 1's tap offsets fold to 1 and 2).
static inline __attribute__((always_inline)) void weight_gradient(
    const float *restrict padded, const float *restrict gradOutput, float *restrict gradWeightT,
    float *restrict gradBias, float *restrict transposed, size_t channels, size_t paddedHeight, size_t paddedWidth,
    size_t outputChannels, size_t stride, size_t outputHeight, size_t outputWidth) {
    const struct layout l = padded_layout(paddedHeight, paddedWidth, stride);
    const size_t pixels = outputHeight * outputWidth, outPad = (outputChannels + 7) / 8 * 8;
    // dY (out, P) → dYᵀ (P, outPad), zeros in the padding channels, by 8×8 blocks transposed in registers; db
    // from dY's rows.
    for (size_t o = 0; o < outPad; o += 8) {
        size_t p = 0;
        for (; p + 8 <= pixels; p += 8) {
            v8 r[8];
            for (size_t i = 0; i < 8; i++) {
                r[i] = o + i < outputChannels ? load8(gradOutput + (o + i) * pixels + p) : splat8(0.0f);
            }
            transpose8x8(r);
            for (size_t k = 0; k < 8; k++) store8(transposed + (p + k) * outPad + o, r[k]);
        }
        for (; p < pixels; p++) {
            for (size_t i = 0; i < 8; i++) {
                transposed[p * outPad + o + i] = o + i < outputChannels ? gradOutput[(o + i) * pixels + p] : 0;
            }
        }
    }
    for (size_t o = 0; gradBias && o < outputChannels; o++) gradBias[o] += plane_sum(gradOutput + o * pixels, NULL, pixels);
    for (size_t c = 0; c < channels; c++) {
        for (size_t ki = 0; ki < 3; ki++) {
            const float *row = padded + c * l.plane + ki * l.row;
            float *d = gradWeightT + (c * 9 + ki * 3) * outPad;
#define PASS(vectors) weight_gradient_pass(row, transposed, d, l, outPad, o, vectors, outputHeight, outputWidth)
            size_t o = 0;
            for (; o + 24 <= outPad; o += 24) PASS(3);
            if (outPad - o == 16) PASS(2);
            else if (outPad - o == 8) PASS(1);
#undef PASS
        }
    }
}

L3RS_CLONES
void l3rs_conv3x3_direct_weight_gradient(const float *restrict padded, const float *restrict gradOutput,
                                         float *restrict gradWeightT, float *restrict gradBias,
                                         float *restrict transposed, size_t channels, size_t paddedHeight,
                                         size_t paddedWidth, size_t outputChannels, size_t stride,
                                         size_t outputHeight, size_t outputWidth) {
    if (stride == 2) {
        weight_gradient(padded, gradOutput, gradWeightT, gradBias, transposed, channels, paddedHeight, paddedWidth,
                        outputChannels, 2, outputHeight, outputWidth);
    } else {
        weight_gradient(padded, gradOutput, gradWeightT, gradBias, transposed, channels, paddedHeight, paddedWidth,
                        outputChannels, 1, outputHeight, outputWidth);
    }
}

void l3rs_conv3x3_fold_weight_gradient(const float *restrict gradWeightT, float *restrict gradWeight, size_t channels,
                                       size_t outputChannels) {
    const size_t outPad = (outputChannels + 7) / 8 * 8;
    for (size_t o = 0; o < outputChannels; o++) {
        for (size_t c = 0; c < channels; c++) {
            for (size_t tap = 0; tap < 9; tap++) {
                gradWeight[(o * channels + c) * 9 + tap] += gradWeightT[(c * 9 + tap) * outPad + o];
            }
        }
    }
}

// Forward (p = 1, stride 2): y[o, i, j] = Σ_c,kh,kw W[o, c, kh, kw] · x[c, 2i + kh − 1, 2j + kw − 1], so dY[o, i, j]
// reaches dX[c, Y, X] through the taps with Y = 2i + kh − 1 and X = 2j + kw − 1. For Y = 2r that is kh = 1 with
// i = r; for Y = 2r + 1, kh = 2 with i = r and kh = 0 with i = r + 1 (columns alike). Writing Wab for
// W[o, c, a, b] and dY[r, s] for dY[o, r, s], each parity class of dX is a stride-1 correlation of dY with a
// 1, 2 or 4-tap sub-kernel:
//   dX[c, 2r,     2s    ] = Σ_o W11·dY[r, s]
//   dX[c, 2r,     2s + 1] = Σ_o W12·dY[r, s] + W10·dY[r, s + 1]
//   dX[c, 2r + 1, 2s    ] = Σ_o W21·dY[r, s] + W01·dY[r + 1, s]
//   dX[c, 2r + 1, 2s + 1] = Σ_o W22·dY[r, s] + W20·dY[r, s + 1] + W02·dY[r + 1, s] + W00·dY[r + 1, s + 1]
// with dY zero past its last row and column (the padded plane's zeros). Vectors run over 8 consecutive s;
// the even- and odd-column vectors of a dX row are interleaved into 16 consecutive columns as they are stored.
// One block is dY rows r, r + 1 (dX rows 2r … 2r + 3) × 8 columns: per output channel 6 dY loads and 9 weight
// broadcasts feed 18 FMAs, one per tap and accumulator. The odd-odd classes sum their four taps in two
// accumulators each, so no accumulator's chain is longer than two FMAs per output channel: with the four
// in one (or as one expression added at the end) the kernel ran at 45–53 GFLOP/s on hot data, latency-bound;
// split, 83–88 (ResNet's 16→32, sgemm ceiling ≈ 92).
L3RS_CLONES
void l3rs_conv3x3_stride2_input_gradient(const float *restrict paddedGradient, const float *restrict weight,
                                         float *restrict gradInput, size_t channels, size_t height, size_t width,
                                         size_t outputChannels, size_t paddedHeight, size_t paddedWidth) {
    const size_t plane = paddedHeight * paddedWidth, taps = channels * 9;
    for (size_t r = 0; 2 * r < height; r += 2) {
        // dY rows r … r + 2 of every output channel (a few KB) stay in L1 across the input channels.
        for (size_t c = 0; c < channels; c++) {
            for (size_t s = 0; 2 * s < width; s += 8) {
                v8 e0 = splat8(0.0f), o0 = e0, e1 = e0, o1 = e0, e2 = e0, o2 = e0, e3 = e0, o3 = e0;
                v8 p1 = e0, p3 = e0;
                for (size_t o = 0; o < outputChannels; o++) {
                    const float *w = weight + o * taps + c * 9;
                    const float *g = paddedGradient + o * plane + r * paddedWidth + s;
                    const v8 g00 = load8(g), g01 = load8(g + 1);
                    const v8 g10 = load8(g + paddedWidth), g11 = load8(g + paddedWidth + 1);
                    const v8 g20 = load8(g + 2 * paddedWidth), g21 = load8(g + 2 * paddedWidth + 1);
                    const v8 w00 = splat8(w[0]), w01 = splat8(w[1]), w02 = splat8(w[2]);
                    const v8 w10 = splat8(w[3]), w11 = splat8(w[4]), w12 = splat8(w[5]);
                    const v8 w20 = splat8(w[6]), w21 = splat8(w[7]), w22 = splat8(w[8]);
                    e0 += w11 * g00;
                    o0 += w12 * g00; o0 += w10 * g01;
                    e1 += w21 * g00; e1 += w01 * g10;
                    o1 += w22 * g00; o1 += w20 * g01; p1 += w02 * g10; p1 += w00 * g11;
                    e2 += w11 * g10;
                    o2 += w12 * g10; o2 += w10 * g11;
                    e3 += w21 * g10; e3 += w01 * g20;
                    o3 += w22 * g10; o3 += w20 * g11; p3 += w02 * g20; p3 += w00 * g21;
                }
                o1 += p1; o3 += p3;
                const v8 even[4] = {e0, e1, e2, e3}, odd[4] = {o0, o1, o2, o3};
                const size_t columns = width - 2 * s < 16 ? width - 2 * s : 16;
                for (size_t k = 0; k < 4 && 2 * r + k < height; k++) {
                    float *target = gradInput + (c * height + 2 * r + k) * width + 2 * s;
                    const v8 lo = __builtin_shufflevector(even[k], odd[k], 0, 8, 1, 9, 2, 10, 3, 11);
                    const v8 hi = __builtin_shufflevector(even[k], odd[k], 4, 12, 5, 13, 6, 14, 7, 15);
                    if (columns == 16) {
                        store8(target, lo);
                        store8(target + 8, hi);
                    } else {
                        float row[16];
                        store8(row, lo);
                        store8(row + 8, hi);
                        for (size_t x = 0; x < columns; x++) target[x] = row[x];
                    }
                }
            }
        }
    }
}
