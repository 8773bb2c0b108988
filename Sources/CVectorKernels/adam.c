#include "CVectorKernels.h"
#include "clones.h"

// Built without FMA contraction (the target's -ffp-contract=off): every clone, AVX2 or SSE2, performs the
// same correctly rounded single-precision operations, so results do not depend on the CPU.
#include <math.h>

L3RS_CLONES
void l3rs_adam_direction(const float *restrict gradient, float *restrict firstMoment, float *restrict secondMoment,
                         float *restrict direction, size_t count, float beta1, float beta2, float firstCorrection,
                         float secondCorrectionRoot, float epsilon) {
    const float oneMinusBeta1 = 1.0f - beta1, oneMinusBeta2 = 1.0f - beta2;
    for (size_t i = 0; i < count; i++) {
        const float g = gradient[i];
        const float m = beta1 * firstMoment[i] + oneMinusBeta1 * g;
        const float v = beta2 * secondMoment[i] + oneMinusBeta2 * (g * g);
        firstMoment[i] = m;
        secondMoment[i] = v;
        direction[i] = (m * firstCorrection) / (sqrtf(v) * secondCorrectionRoot + epsilon);
    }
}
