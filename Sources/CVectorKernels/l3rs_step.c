#include "CVectorKernels.h"
#include "clones.h"

// L3RS's per-layer reductions and its mixture, in C so that the AVX2 clone runs them (Swift builds for
// baseline x86-64 here, where SIMD8<Double> is four SSE2 operations). No FMA contraction (the target's
// -ffp-contract=off): every clone rounds exactly like the element-at-a-time definition.

// Squares are summed in float over one group of 64 blocks (2048 values, 64 terms per lane: relative error
// at most 64 ulp, whatever the layer's size), and each group's partials are added to the double lanes. One
// float multiply and add per value instead of two conversions, a double multiply and add: these sums were
// the largest part of an L3RS step over Adam's. 32 lanes, so no add waits on the previous one's latency.
typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef double v8d __attribute__((vector_size(64), aligned(8)));

L3RS_CLONES
void l3rs_add_squares(const float *restrict values, size_t blocks, double *restrict lanes) {
    // Lane j of the 32 is element j of each block: vector k holds lanes 8k … 8k + 7 (whole 256-bit
    // registers; a scalar-array version was vectorised 4 lanes wide).
    for (size_t group = 0; group < blocks; group += L3RS_SQUARE_GROUP_BLOCKS) {
        const size_t end = group + L3RS_SQUARE_GROUP_BLOCKS < blocks ? group + L3RS_SQUARE_GROUP_BLOCKS : blocks;
        v8f partial[4] = {{0}, {0}, {0}, {0}};
        for (size_t b = group; b < end; b++) {
            const float *x = values + 32 * b;
            for (int k = 0; k < 4; k++) {
                const v8f v = *(const v8f *)(x + 8 * k);
                partial[k] = partial[k] + v * v;
            }
        }
        for (int k = 0; k < 4; k++) {
            v8d sum = *(v8d *)(lanes + 8 * k);
            sum = sum + __builtin_convertvector(partial[k], v8d);
            *(v8d *)(lanes + 8 * k) = sum;
        }
    }
}

L3RS_CLONES
void l3rs_subtract_mixture(float *restrict parameters, size_t count, float stepSize, size_t bases,
                           const float *restrict weights, const float *const *restrict directions) {
    const float lambda = stepSize;
    if (bases == 1) {
        const float w0 = weights[0];
        const float *restrict d0 = directions[0];
        for (size_t i = 0; i < count; i++) parameters[i] -= lambda * (w0 * d0[i]);
    } else if (bases == 2) {
        const float w0 = weights[0], w1 = weights[1];
        const float *restrict d0 = directions[0], *restrict d1 = directions[1];
        for (size_t i = 0; i < count; i++) parameters[i] -= lambda * (w0 * d0[i] + w1 * d1[i]);
    } else {
        const float w0 = weights[0], w1 = weights[1], w2 = weights[2];
        const float *restrict d0 = directions[0], *restrict d1 = directions[1], *restrict d2 = directions[2];
        for (size_t i = 0; i < count; i++) parameters[i] -= lambda * ((w0 * d0[i] + w1 * d1[i]) + w2 * d2[i]);
    }
}
