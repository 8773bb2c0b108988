#ifndef L3RS_CVECTORKERNELS_H
#define L3RS_CVECTORKERNELS_H

#include <stddef.h>

/// Loops that Swift does not vectorise on Linux. Element-wise: Swift's Float and SIMD square roots lower to
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

/// Blocks of 32 floats per group of squares summed in float before they are added in double.
#define L3RS_SQUARE_GROUP_BLOCKS 64

/// One heavy-ball (or Nesterov) momentum step over n elements, PyTorch's convention:
///   m ← β·m + g,  d = m  (heavy ball)  or  d = g + β·m  (Nesterov, with the updated m).
void l3rs_momentum_advance(const float *gradient, float *moment, float *direction, size_t count, float beta,
                           int nesterov);

/// lanes[j] += Σ_b values[32b + j]² for `blocks` blocks of 32 floats: the 32-lane sum of squares of L3RS's
/// per-layer statistics, chunk by chunk. Each group of L3RS_SQUARE_GROUP_BLOCKS blocks from `values` is summed
/// per lane in float, then added to the double lane; so a layer fed in calls of whole groups (all but its
/// last call) gives the same bits however it is cut.
void l3rs_add_squares(const float *values, size_t blocks, double *lanes);

/// θ[i] −= λ·((w0·d0[i] + w1·d1[i]) + w2·d2[i]) for 1 ≤ bases ≤ 3 (fewer terms for fewer bases): L3RS's
/// mixture of its base directions, w_p = μ_p·s_p folding the normalisation s_p = 1/(rms + ε) into the
/// mixing weight, in base order.
void l3rs_subtract_mixture(float *parameters, size_t count, float stepSize, size_t bases, const float *weights,
                           const float *const *directions);

/// Direct convolution of ONE image for few input channels, where im2col + sgemm has k = C·kh·kw of 9…576 and
/// is bound by packing and by the transpose of its channel-major product. `padded` is the image with its zero
/// padding written out, paddedHeight = H + 2p rows per channel.
/// Stride 1: (channels, paddedHeight, paddedWidth), paddedWidth ≥ outputWidth + kernel − 1 when outputWidth
/// is a multiple of 8, else ≥ roundUp(outputWidth, 32) + kernel − 1 (zero slack, so whole-vector loads stay
/// inside). Stride 2: (channels, paddedHeight, 2, paddedWidth): each padded row as its even columns, then its
/// odd columns, each half zero-filled to paddedWidth ≥ (that vector width) + kernel / 2.
/// This forward is stride 1 (by output channels, stride 1 or 2: `l3rs_conv3x3_forward_by_channels`): weight (outputChannels, channels,
/// kernel, kernel), bias (outputChannels) or NULL; writes output (outputChannels, outputHeight, outputWidth).
void l3rs_conv_direct_forward(const float *padded, const float *weight, const float *bias, float *output,
                              size_t channels, size_t paddedHeight, size_t paddedWidth, size_t outputChannels,
                              size_t kernel, size_t outputHeight, size_t outputWidth);

/// image (channels, height, width) → `padded` in the layout above (zeros around the image and in the slack).
void l3rs_conv_pad(const float *image, float *padded, size_t channels, size_t height, size_t width, size_t padding,
                   size_t paddedHeight, size_t paddedWidth, size_t stride);

/// weight (outputChannels, channels, 3, 3) → weightT (channels, 9, roundUp(outputChannels, 8)), zeros in the
/// padding channels: the layout of `l3rs_conv3x3_forward_by_channels`'s weights.
void l3rs_conv3x3_transpose_weight(const float *weight, float *weightT, size_t channels, size_t outputChannels);

/// The 3×3 forward (stride 1 or 2) of one image vectorised over output channels (see convolution.c): `padded`
/// in the layout above for `stride`, weightT from `l3rs_conv3x3_transpose_weight`, bias (outputChannels) or
/// NULL; transposed: scratch of outputHeight · outputWidth · roundUp(outputChannels, 8) floats; writes output
/// (outputChannels, outputHeight, outputWidth).
void l3rs_conv3x3_forward_by_channels(const float *padded, const float *weightT, const float *bias, float *output,
                                      float *transposed, size_t channels, size_t paddedHeight, size_t paddedWidth,
                                      size_t outputChannels, size_t outputHeight, size_t outputWidth, size_t stride);

/// The weight and bias gradients of the same direct 3×3 convolution for one image, ADDED into gradWeightT
/// (channels, 9, roundUp(outputChannels, 8)), dW transposed so that output channels are its vectors (see
/// convolution.c), and gradBias (or NULL). paddedWidth ≥ outputWidth + 2 (stride 1) or + 1 (stride 2, per
/// half); transposed: scratch of outputHeight · outputWidth · roundUp(outputChannels, 8) floats (dY transposed).
void l3rs_conv3x3_direct_weight_gradient(const float *padded, const float *gradOutput, float *gradWeightT,
                                         float *gradBias, float *transposed, size_t channels, size_t paddedHeight,
                                         size_t paddedWidth, size_t outputChannels, size_t stride,
                                         size_t outputHeight, size_t outputWidth);

/// The 3×3 stride-1 forward of one image by blocks of output rows (see convolution.c), for 1–3 input channels
/// and outputWidth ≥ 8: `padded` in the stride-1 layout above, weight (outputChannels, channels, 3, 3), bias or
/// NULL; writes output (outputChannels, outputHeight, outputWidth), bit for bit what l3rs_conv_direct_forward
/// writes, or with `rectify` its ReLU (x > 0 ? x : 0).
void l3rs_conv3x3_rows_forward(const float *padded, const float *weight, const float *bias, float *output,
                               size_t channels, size_t paddedHeight, size_t paddedWidth, size_t outputChannels,
                               size_t outputHeight, size_t outputWidth, int rectify);

/// The weight and bias gradients of that convolution for one image, ADDED into gradWeightLanes
/// (outputChannels, channels, 9, 8): each weight's sum kept in 8 lanes until
/// l3rs_conv3x3_fold_lane_weight_gradient; and gradBias (or NULL). outputWidth ≥ 8. With rectifiedOutput (the
/// image's output of a forward with `rectify`, else NULL) dY counts only where that output is > 0: the
/// gradient through the fused ReLU.
void l3rs_conv3x3_rows_weight_gradient(const float *padded, const float *gradOutput, const float *rectifiedOutput,
                                       float *gradWeightLanes, float *gradBias, size_t channels, size_t paddedHeight,
                                       size_t paddedWidth, size_t outputChannels, size_t outputHeight,
                                       size_t outputWidth);

/// gradWeight[i] += the 8 lanes of gradWeightLanes[i] (pairwise, in a fixed order), for `count` weights.
void l3rs_conv3x3_fold_lane_weight_gradient(const float *gradWeightLanes, float *gradWeight, size_t count);

/// gradWeight (outputChannels, channels, 3, 3) += gradWeightT (channels, 9, roundUp(outputChannels, 8)).
void l3rs_conv3x3_fold_weight_gradient(const float *gradWeightT, float *gradWeight, size_t channels,
                                       size_t outputChannels);

/// The input gradient of a 3×3 stride-2 convolution with padding 1 for one image, by the parity of dX's rows and
/// columns (four small stride-1 correlations of dY, see convolution.c). paddedGradient: dY (outputChannels,
/// outputHeight, outputWidth) at the top left of (outputChannels, paddedHeight, paddedWidth) planes, zeros
/// elsewhere, paddedHeight ≥ roundUp(outputHeight, 2) + 1 and paddedWidth ≥ roundUp(outputWidth, 8) + 1;
/// weight (outputChannels, channels, 3, 3); writes gradInput (channels, height, width).
void l3rs_conv3x3_stride2_input_gradient(const float *paddedGradient, const float *weight, float *gradInput,
                                         size_t channels, size_t height, size_t width, size_t outputChannels,
                                         size_t paddedHeight, size_t paddedWidth);

#endif
