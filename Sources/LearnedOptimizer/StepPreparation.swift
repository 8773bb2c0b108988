import Optimizers

extension L3RSOptimizer {
    /// Everything of a step except changing θ: base directions and their normalisation, statistics and
    /// EMAs, features, the MLP, λ and μ, all into `activations` (with the directions d and their scales s,
    /// d̂ = s·d, which the reverse pass needs); `state` advances to k + 1. `applyUpdate` then takes the step.
    mutating func prepareStep(
        parameters θ: UnsafeBufferPointer<Float>,
        gradient g: UnsafeBufferPointer<Float>,
        loss: Float,
        state: inout L3RSState
    ) {
        prepare(parameters: θ, gradient: g, loss: loss, state: &state, recordsDirections: true)
    }

    /// `prepareStep`; with `recordsDirections` false the directions are not kept in
    /// `activations.directions` but left for `applyFusedUpdate`: those its rule can find again
    /// (`DirectionSource`) are dropped, the others stay in `buffers.storedDirections`.
    mutating func prepare(
        parameters θ: UnsafeBufferPointer<Float>,
        gradient g: UnsafeBufferPointer<Float>,
        loss: Float,
        state: inout L3RSState,
        recordsDirections: Bool
    ) {
        precondition(θ.count == parameterCount && g.count == parameterCount,
                     "L3RS step: buffers have \(θ.count) and \(g.count) elements, expected \(parameterCount)")
        precondition(state.baseStates.count == rules.count, "L3RS step: state has the wrong number of base states")
        // Move the workspace out of self so it is uniquely referenced (no copy-on-write) while self's other
        // properties are read.
        var work = StepActivations()
        swap(&work, &activations)
        var buffers = FusedStepBuffers()
        swap(&buffers, &self.buffers)
        defer {
            swap(&work, &activations)
            swap(&buffers, &self.buffers)
        }
        let k = state.step
        work.step = k
        work.loss = loss
        if recordsDirections {
            // A new buffer every step: the previous one usually belongs to a StepRecord now, and writing into
            // it would first copy all P·n floats (copy-on-write) only to overwrite them.
            work.directions = Self.uninitialisedDirections(baseCount: rules.count, count: parameterCount, layers: layers)
        } else {
            // Nothing recorded: drop a record step's directions (P·n floats), so that no copy-on-write of a
            // buffer a StepRecord still shares can happen here either.
            work.directions = []
            buffers.reserveStoredDirections(parameterCount: parameterCount)
        }
        measureAndAdvance(parameters: θ, gradient: g, state: &state, work: &work, buffers: &buffers)
        for p in rules.indices { state.baseStates[p].step += 1 }
        learnedRule.computeStepSizesAndMixingWeights(state: &state, metaParameters: metaParameters, work: &work)
        state.step = k + 1
        state.nonFiniteFeatureCount += work.nonFiniteFeatures
    }

    /// The first pass: every rule's `advance` into the directions' targets (`DirectionTargets`), and the
    /// layer statistics rms(θ_l), rms(g_l), rms(d_l,p) with s_l,p = r_l/(rms + ε) into `work`. On a shard
    /// (`shardParts`), the layers cut between shards are measured in parts and their sums handed on
    /// (`CutLayerSums`) before their statistics are recorded.
    private func measureAndAdvance(
        parameters θ: UnsafeBufferPointer<Float>, gradient g: UnsafeBufferPointer<Float>, state: inout L3RSState,
        work: inout StepActivations, buffers: inout FusedStepBuffers
    ) {
        let (sources, storageSlot) = (buffers.sources, buffers.storageSlot)
        let cutLayers = shardParts?.cutLayers ?? []
        let across = learnedRule.acrossShards
        precondition(cutLayers.isEmpty || across != nil, "L3RS step: a shard with a cut layer needs shareStatistics(across:)")
        var handedOn: [Double] = []
        swap(&handedOn, &buffers.handedOn)
        handedOn.removeAll(keepingCapacity: true)
        defer { swap(&handedOn, &buffers.handedOn) }
        // Out of `work` while its other parts are written.
        var directions: [Float] = []
        swap(&directions, &work.directions)
        defer { swap(&directions, &work.directions) }
        directions.withUnsafeMutableBufferPointer { recorded in
            buffers.withScratch { chunks, stored, sums in
                let targets = DirectionTargets(
                    // (An empty array may still lend a base address.)
                    recorded: recorded.isEmpty ? nil : recorded.baseAddress, stored: stored, chunks: chunks,
                    parameterCount: parameterCount,
                    sources: sources, storageSlot: storageSlot)
                for (l, layer) in layers.enumerated() {
                    guard cutLayers.contains(l), let parts = shardParts else {
                        sums.reset()
                        advanceLayer(layer.range, parameters: θ, gradient: g, state: &state, targets: targets, sums: &sums)
                        recordStatistics(layer: l, sums: sums, sources: sources, work: &work)
                        continue
                    }
                    // The layer's start: its part summed as usual, one sum; a later part: one sum per chunk.
                    let chunkLength = FusedStepBuffers.chunkLength
                    let pieces = parts.partStarts[l] == 0
                        ? [layer.range]
                        : stride(from: layer.range.lowerBound, to: layer.range.upperBound, by: chunkLength)
                            .map { $0..<min($0 + chunkLength, layer.range.upperBound) }
                    handedOn += [Double(parts.firstLayer + l), Double(pieces.count)]
                    for piece in pieces {
                        sums.reset()
                        advanceLayer(piece, parameters: θ, gradient: g, state: &state, targets: targets, sums: &sums)
                        CutLayerSums.append(sums, to: &handedOn)
                    }
                }
                guard let across, across.cutsLayers else { return }
                let all = across.exchange(handedOn)
                for l in cutLayers {
                    sums.reset()
                    CutLayerSums.replay(layer: across.firstLayer + l, from: all, into: &sums)
                    recordStatistics(layer: l, sums: sums, sources: sources, work: &work)
                }
            }
        }
    }

    /// Elements `elements` of a layer in the first pass, chunk by chunk: the sums of squares of θ and g, and
    /// every rule's `advance` with the sum of squares of its direction, while the chunk of g and of each state
    /// is in L1.
    private func advanceLayer(
        _ elements: Range<Int>, parameters θ: UnsafeBufferPointer<Float>, gradient g: UnsafeBufferPointer<Float>,
        state: inout L3RSState, targets: DirectionTargets, sums: inout LayerSums
    ) {
        let chunkLength = FusedStepBuffers.chunkLength
        for start in stride(from: elements.lowerBound, to: elements.upperBound, by: chunkLength) {
            let range = start..<min(start + chunkLength, elements.upperBound)
            sums.parameters.add(θ.baseAddress! + start, count: range.count)
            sums.gradient.add(g.baseAddress! + start, count: range.count)
            for p in rules.indices {
                // SGD in the fused step: d = g, already summed, and read from g by the fused update.
                guard let target = targets.target(rule: p, start: start) else { continue }
                rules[p].advance(range, gradient: g, state: &state.baseStates[p], into: target)
                sums.directions[p].add(target, count: range.count)
                // v2's cosine: in both ways through a step the same chunks in the same order, so the fused
                // and the recorded step agree bit for bit (a rule whose direction is g takes g's sum instead).
                if measuresCosines && targets.sources[p] != .gradient {
                    sums.gradientDirectionDots[p] += LayerStatistics.dot(
                        UnsafeBufferPointer(start: g.baseAddress! + start, count: range.count),
                        UnsafeBufferPointer(start: target, count: range.count), 0..<range.count)
                }
            }
        }
    }

    /// Whether the first pass measures ⟨g, d_p⟩ for the cosine features (feature set v2).
    private var measuresCosines: Bool { featureLayout.featureSet == .v2 }

    /// rms(θ_l), rms(g_l), rms(d_l,p) and s_l,p = r_l / (rms(d_l,p) + ε) from a layer's sums (SGD's direction is
    /// g: its sum is g's), r_l = 1 or rms(d_l,adam) (`L3RSDirectionScale`);
    /// with v2 also cos(g_l, d_l,p) = ⟨g, d⟩ / (n·rms(g)·rms(d)), 0 where either is 0.
    private func recordStatistics(layer l: Int, sums: LayerSums, sources: [DirectionSource], work: inout StepActivations) {
        let count = shardParts?.wholeCounts[l] ?? layers[l].count
        let baseCount = rules.count
        let gradientRMS = sums.gradient.rms(count: count)
        work.parameterRMS[l] = Float(sums.parameters.rms(count: count))
        work.gradientRMS[l] = Float(gradientRMS)
        func directionRMS(_ p: Int) -> Double {
            (sources[p] == .gradient ? sums.gradient : sums.directions[p]).rms(count: count)
        }
        // The length every direction is given: 1 (unit), or the RMS of the layer's Adam direction (adam).
        let length = configuration.referenceBaseIndex.map(directionRMS) ?? 1
        for p in 0..<baseCount {
            let rms = directionRMS(p)
            work.directionRMS[l * baseCount + p] = Float(rms)
            work.directionScales[l * baseCount + p] = Float(length / (rms + LayerStatistics.normalisationEpsilon))
            guard measuresCosines else { continue }
            let dot = sources[p] == .gradient ? sums.gradient.total : sums.gradientDirectionDots[p]
            work.gradientDirectionCosines[l * baseCount + p] =
                gradientRMS > 0 && rms > 0 ? Float(dot / (Double(count) * gradientRMS * rms)) : 0
        }
    }
}
