#include "CVectorKernels.h"
#include "clones.h"

// No FMA contraction (the target's -ffp-contract=off): every clone rounds like the Swift loop it replaced.
L3RS_CLONES
void l3rs_momentum_advance(const float *restrict gradient, float *restrict moment, float *restrict direction,
                           size_t count, float beta, int nesterov) {
    if (nesterov) {
        for (size_t i = 0; i < count; i++) {
            const float g = gradient[i];
            const float updated = beta * moment[i] + g;
            moment[i] = updated;
            direction[i] = g + beta * updated;
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            const float updated = beta * moment[i] + gradient[i];
            moment[i] = updated;
            direction[i] = updated;
        }
    }
}
