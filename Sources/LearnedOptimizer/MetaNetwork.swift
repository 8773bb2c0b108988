import Foundation

/// The shared MLP F → H → H → (1 + P) with tanh hidden activations, applied row by row to a [L, F] feature
/// matrix, and its exact reverse-mode derivative.
///
/// tanh (not ReLU) keeps the network smooth, so second-order meta-gradients and finite-difference checks are
/// well defined. Dot products accumulate in Double: the network is tiny, and the extra precision keeps the
/// meta-gradient checks meaningful in Float.
enum MetaNetwork {
    /// Computes hidden1 = tanh(W0 f + b0), hidden2 = tanh(W1 hidden1 + b1), outputs = W2 hidden2 + b2 for
    /// every row. Shapes: features [L, F], hidden1/hidden2 [L, H], outputs [L, O].
    static func forward(
        parameters φ: UnsafeBufferPointer<Float>,
        layout: MetaNetworkLayout,
        features: UnsafeBufferPointer<Float>,
        hidden1: UnsafeMutableBufferPointer<Float>,
        hidden2: UnsafeMutableBufferPointer<Float>,
        outputs: UnsafeMutableBufferPointer<Float>
    ) {
        let (inputs, hidden, outs) = (layout.inputCount, layout.hiddenWidth, layout.outputCount)
        for row in 0..<layout.layerCount {
            affine(φ, weightOffset: layout.firstWeightOffset, biasOffset: layout.firstBiasOffset,
                   outputs: hidden, inputs: inputs, input: features, inputStart: row * inputs,
                   result: hidden1, resultStart: row * hidden, activation: true)
            affine(φ, weightOffset: layout.secondWeightOffset, biasOffset: layout.secondBiasOffset,
                   outputs: hidden, inputs: hidden, input: UnsafeBufferPointer(hidden1), inputStart: row * hidden,
                   result: hidden2, resultStart: row * hidden, activation: true)
            affine(φ, weightOffset: layout.outputWeightOffset, biasOffset: layout.outputBiasOffset,
                   outputs: outs, inputs: hidden, input: UnsafeBufferPointer(hidden2), inputStart: row * hidden,
                   result: outputs, resultStart: row * outs, activation: false)
        }
    }

    /// Given ∂L/∂outputs [L, O], accumulates ∂L/∂φ into `parameterAdjoints` (+=) and writes ∂L/∂features
    /// [L, F] (=). Needs the activations of the matching `forward` call.
    static func backward(
        parameters φ: UnsafeBufferPointer<Float>,
        layout: MetaNetworkLayout,
        features: UnsafeBufferPointer<Float>,
        hidden1: UnsafeBufferPointer<Float>,
        hidden2: UnsafeBufferPointer<Float>,
        outputAdjoints: UnsafeBufferPointer<Float>,
        parameterAdjoints φ̄: UnsafeMutableBufferPointer<Float>,
        featureAdjoints: UnsafeMutableBufferPointer<Float>
    ) {
        let (inputs, hidden, outs) = (layout.inputCount, layout.hiddenWidth, layout.outputCount)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * hidden) { scratch in
            let secondPre = UnsafeMutableBufferPointer(rebasing: scratch[0..<hidden])
            let firstPre = UnsafeMutableBufferPointer(rebasing: scratch[hidden..<(2 * hidden)])
            for row in 0..<layout.layerCount {
                // Output layer: φ̄(W2) += ō h2ᵀ, φ̄(b2) += ō, h̄2 = W2ᵀ ō, then through tanh: z̄2 = h̄2 (1 − h2²).
                affineBackward(φ, φ̄, weightOffset: layout.outputWeightOffset, biasOffset: layout.outputBiasOffset,
                               outputs: outs, inputs: hidden,
                               outputAdjoint: outputAdjoints, outputStart: row * outs,
                               input: hidden2, inputStart: row * hidden, inputAdjoint: secondPre)
                throughTanh(secondPre, activations: hidden2, start: row * hidden)
                affineBackward(φ, φ̄, weightOffset: layout.secondWeightOffset, biasOffset: layout.secondBiasOffset,
                               outputs: hidden, inputs: hidden,
                               outputAdjoint: UnsafeBufferPointer(secondPre), outputStart: 0,
                               input: hidden1, inputStart: row * hidden, inputAdjoint: firstPre)
                throughTanh(firstPre, activations: hidden1, start: row * hidden)
                affineBackward(φ, φ̄, weightOffset: layout.firstWeightOffset, biasOffset: layout.firstBiasOffset,
                               outputs: hidden, inputs: inputs,
                               outputAdjoint: UnsafeBufferPointer(firstPre), outputStart: 0,
                               input: features, inputStart: row * inputs,
                               inputAdjoint: UnsafeMutableBufferPointer(
                                   rebasing: featureAdjoints[(row * inputs)..<((row + 1) * inputs)]))
            }
        }
    }

    /// result[o] = act(Σ_i W[o, i] x[i] + b[o]) for one row.
    @inline(__always)
    private static func affine(
        _ φ: UnsafeBufferPointer<Float>, weightOffset: Int, biasOffset: Int, outputs: Int, inputs: Int,
        input: UnsafeBufferPointer<Float>, inputStart: Int,
        result: UnsafeMutableBufferPointer<Float>, resultStart: Int, activation: Bool
    ) {
        for o in 0..<outputs {
            var sum = Double(φ[biasOffset + o])
            let rowStart = weightOffset + o * inputs
            for i in 0..<inputs {
                sum += Double(φ[rowStart + i]) * Double(input[inputStart + i])
            }
            result[resultStart + o] = activation ? Float(tanh(sum)) : Float(sum)
        }
    }

    /// Back through a tanh layer for one row: z̄ = h̄ (1 − h²), in place, h read from `start` of `activations`.
    @inline(__always)
    private static func throughTanh(_ adjoint: UnsafeMutableBufferPointer<Float>,
                                    activations: UnsafeBufferPointer<Float>, start: Int) {
        for j in adjoint.indices {
            let h = activations[start + j]
            adjoint[j] *= 1 - h * h
        }
    }

    /// For one row of y = W x + b: W̄ += ȳ xᵀ, b̄ += ȳ, and x̄ = Wᵀ ȳ written into `inputAdjoint`.
    @inline(__always)
    private static func affineBackward(
        _ φ: UnsafeBufferPointer<Float>, _ φ̄: UnsafeMutableBufferPointer<Float>,
        weightOffset: Int, biasOffset: Int, outputs: Int, inputs: Int,
        outputAdjoint: UnsafeBufferPointer<Float>, outputStart: Int,
        input: UnsafeBufferPointer<Float>, inputStart: Int,
        inputAdjoint: UnsafeMutableBufferPointer<Float>
    ) {
        for i in 0..<inputs {
            var sum = 0.0
            for o in 0..<outputs {
                sum += Double(φ[weightOffset + o * inputs + i]) * Double(outputAdjoint[outputStart + o])
            }
            inputAdjoint[i] = Float(sum)
        }
        for o in 0..<outputs {
            let adjoint = outputAdjoint[outputStart + o]
            φ̄[biasOffset + o] += adjoint
            let rowStart = weightOffset + o * inputs
            for i in 0..<inputs {
                φ̄[rowStart + i] += adjoint * input[inputStart + i]
            }
        }
    }
}
