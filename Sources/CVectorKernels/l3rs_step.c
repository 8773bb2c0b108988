#include "CVectorKernels.h"
#include "clones.h"

// L3RS's per-layer reductions and its mixture, in C so that the AVX2 clone runs them (Swift builds for
// baseline x86-64 here, where SIMD8<Double> is four SSE2 operations). No FMA contraction (the target's
// -ffp-contract=off): every clone rounds exactly like the element-at-a-time definition.

// 32 independent double lanes: with 8 (two AVX2 registers) every block waited on the 3-cycle latency of
// its lane's previous add, which made these sums the largest part of an L3RS step over Adam's.
L3RS_CLONES
void l3rs_add_squares(const float *restrict values, size_t blocks, double *restrict lanes) {
    double sum[32];
    for (int j = 0; j < 32; j++) sum[j] = lanes[j];
    for (size_t b = 0; b < blocks; b++) {
        const float *x = values + 32 * b;
        for (int j = 0; j < 32; j++) {
            const double v = (double)x[j];
            sum[j] = sum[j] + v * v;
        }
    }
    for (int j = 0; j < 32; j++) lanes[j] = sum[j];
}

L3RS_CLONES
void l3rs_subtract_mixture(float *restrict parameters, size_t count, float stepSize, size_t bases,
                           const float *restrict weights, const float *restrict scales,
                           const float *const *restrict directions) {
    const float lambda = stepSize;
    if (bases == 1) {
        const float m0 = weights[0], s0 = scales[0];
        const float *restrict d0 = directions[0];
        for (size_t i = 0; i < count; i++) parameters[i] -= lambda * (0.0f + m0 * (s0 * d0[i]));
    } else if (bases == 2) {
        const float m0 = weights[0], s0 = scales[0], m1 = weights[1], s1 = scales[1];
        const float *restrict d0 = directions[0], *restrict d1 = directions[1];
        for (size_t i = 0; i < count; i++) parameters[i] -= lambda * ((0.0f + m0 * (s0 * d0[i])) + m1 * (s1 * d1[i]));
    } else {
        const float m0 = weights[0], s0 = scales[0], m1 = weights[1], s1 = scales[1], m2 = weights[2], s2 = scales[2];
        const float *restrict d0 = directions[0], *restrict d1 = directions[1], *restrict d2 = directions[2];
        for (size_t i = 0; i < count; i++) {
            parameters[i] -= lambda * (((0.0f + m0 * (s0 * d0[i])) + m1 * (s1 * d1[i])) + m2 * (s2 * d2[i]));
        }
    }
}
