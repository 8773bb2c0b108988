#ifndef L3RS_CVECTORKERNELS_H
#define L3RS_CVECTORKERNELS_H

#include <stddef.h>

/// Element-wise loops that Swift does not vectorise on Linux: Swift's Float and SIMD square roots lower to
/// one scalar sqrtss per element with a libm errno fallback, so any loop containing a square root stays
/// scalar. Compiled here with -fno-math-errno, the same loops become packed sqrtps/divps.

/// One Adam step over n elements (Kingma & Ba, bias-corrected, ε added to √v̂):
///   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²,
///   d = (m · firstCorrection) / (√v · secondCorrectionRoot + ε)
/// with firstCorrection = 1/(1 − β1^t) and secondCorrectionRoot = 1/√(1 − β2^t). The arithmetic per element
/// is the same sequence of single-precision operations as the scalar Swift loop it replaces.
void l3rs_adam_direction(const float *gradient, float *firstMoment, float *secondMoment, float *direction,
                         size_t count, float beta1, float beta2, float firstCorrection,
                         float secondCorrectionRoot, float epsilon);

#endif
