import Checkpoints
import Distributed
import LearnedOptimizer
import Network
import Optimizers

/// The update step under sharded optimizer state (ZeRO stage 1, `optimizerState: sharded`).
///
/// The parameters are cut into `ParameterShards`: for L3RS balanced by element count with cuts inside layers at
/// multiples of `SumOfSquares.chunkAlignment`; for the hand-designed rules (element-wise) equal element counts.
/// Rank r keeps the update rule's state (base-rule moments, L3RS statistics) for its own shard only, and the
/// per-layer L3RS state of a layer cut between ranks on each of them. One step:
///
///     g_r  = reduce-scatter(local gradients, mean)   rank r receives the mean gradient of its shard only
///     ‖g‖  = sqrt(Σ_r Σ g_r²), added in rank order    the whole gradient's norm, for clipping and the skip test
///     θ_r ← rule_r(θ_r, g_r, loss, ‖g‖)               the base rules, L3RS features and update of its layers
///     θ    = all-gather(θ_r)
///
/// Every per-layer quantity (rms of θ, g, each direction) is computed from whole layers: the ranks holding parts
/// of a cut layer all-gather their partial sums chunk by chunk and add them in the replicated order
/// (`CutLayerSums`, one all-gather a step), and the loss is the global mean; L3RS feature set v2 also
/// standardises rms θ and rms g over all layers of the net, so each rank all-gathers those two per-layer vectors
/// (2 × layers floats a step) inside the rule's step (`AcrossShardLayers`). So each rank's update of its
/// elements is exactly the replicated update of those elements. With 2
/// ranks the mean gradient is bitwise the allreduce's (a + b is commutative), so parameters are bit-identical
/// to `replicated`; with more ranks MPI may add the contributions in another order than its allreduce does.
/// Clipping reads ‖g‖, whose sum of squares is added in another order than the replicated rule's, so with
/// `clipNorm` set the clipped gradient can differ in the last bit.
///
/// Checkpoints hold the whole state, in the replicated layout: `checkpointContents` all-gathers the shards
/// (so a save briefly holds the whole state on every rank) and `restore` cuts the whole state, so a sharded run
/// resumes a replicated checkpoint and the other way round.
public final class ShardedUpdateStep {
    public let shards: ParameterShards
    /// This rank's rule, over its shard only.
    public let rule: any UpdateRule
    private let communicator: any Communicator
    /// This rank's shard of the mean gradient.
    private var shardGradient: [Float]
    private var scratch: [Double] = []
    /// A failure of the all-gather inside the rule's step (which cannot throw), rethrown after it.
    private let gatherFailure = GatherFailure()

    public init(configuration: TrainingConfiguration, model: Model, communicator: any Communicator) throws {
        do {
            // L3RS's statistics are per layer: cuts inside a layer only at chunk boundaries. Hand-designed rules
            // work element by element.
            shards = configuration.optimizer == .l3rs
                ? try ParameterShards(layers: model.parameters.entries.map { (offset: $0.offset, count: $0.count) },
                                      ranks: communicator.size, alignment: SumOfSquares.chunkAlignment)
                : try ParameterShards(elementCount: model.parameterCount, ranks: communicator.size)
        } catch {
            throw ConfigurationError.invalid(["optimizerState sharded: \(error)"])
        }
        rule = try UpdateRules.make(configuration: configuration, model: model, elements: shards.elementRanges[communicator.rank])
        self.communicator = communicator
        shardGradient = [Float](repeating: 0, count: shards.elementRanges[communicator.rank].count)
        if let learned = rule as? L3RSUpdateRule, let touched = shards.layerRanges, let owned = shards.ownedLayerRanges {
            learned.shareStatistics(across: Self.across(touched: touched, owned: owned, cutsLayers: !shards.cutLayers.isEmpty,
                                                        communicator: communicator, failure: gatherFailure))
        }
    }

    /// The collectives a rank's L3RS shard reads the others through: every layer's value from the values of the
    /// layers each rank owns (`ownedLayerRanges`: a cut layer's value comes from the rank holding its start),
    /// and every rank's partial sums of the cut layers.
    private static func across(touched: [Range<Int>], owned: [Range<Int>], cutsLayers: Bool, communicator: any Communicator,
                               failure: GatherFailure) -> AcrossShardLayers {
        let rank = communicator.rank
        let mine = touched[rank], counts = owned.map(\.count)
        return AcrossShardLayers(firstLayer: mine.lowerBound, cutsLayers: cutsLayers, gather: { values in
            var all = [Float](repeating: 0, count: owned.last!.upperBound)
            let start = owned[rank].lowerBound - mine.lowerBound
            all.replaceSubrange(owned[rank], with: values[start..<(start + owned[rank].count)])
            do {
                try all.withUnsafeMutableBufferPointer { try communicator.allgather($0, counts: counts) }
            } catch {
                failure.error = failure.error ?? error
            }
            return all
        }, exchange: { [lengths = ExchangeLengths()] values in
            // The lengths are the same every step (the cut layers' chunks): exchanged once, then reused.
            do {
                let all = try communicator.allgather(values, lengths: lengths.known)
                lengths.known = all.map(\.count)
                return all
            } catch {
                failure.error = failure.error ?? error
                return Array(repeating: [], count: communicator.size)
            }
        })
    }

    /// Where the shards' boundaries fall, for the run's log: "shards of 197632 and 195850 elements, cut
    /// inside layer4.0.conv2.weight" (or "at layer boundaries").
    public func cutDescription(layerNames: [String]) -> String {
        let sizes = "shards of " + shards.counts.map(String.init).joined(separator: ", ") + " elements"
        guard shards.layerRanges != nil else { return sizes + ", cut anywhere" }
        let cut = shards.cutLayers.map { layerNames[$0] }
        return sizes + (cut.isEmpty ? ", cut at layer boundaries" : ", cut inside " + cut.joined(separator: ", "))
    }

    /// This rank's elements of the flat buffers.
    public var elements: Range<Int> { shards.elementRanges[communicator.rank] }

    /// One step from this rank's unreduced gradient (its share of the global mean loss, as the replicated
    /// trainer hands to its allreduce); `loss` is the global mean loss. Afterwards every rank holds the whole
    /// updated parameters.
    public func step(parameters: UnsafeMutableBufferPointer<Float>, localGradient: UnsafeBufferPointer<Float>,
                     loss: Double) throws -> UpdateReport {
        let counts = shards.counts
        try shardGradient.withUnsafeMutableBufferPointer {
            try communicator.reduceScatter(localGradient, counts: counts, into: $0, op: .mean)
        }
        var squares = SumOfSquares()
        shardGradient.withUnsafeBufferPointer { if let base = $0.baseAddress { squares.add(base, count: $0.count) } }
        var total = [squares.total]
        try total.withUnsafeMutableBufferPointer { try communicator.allreduceSumInRankOrder($0, scratch: &scratch) }
        // Every rank sees the same norm and loss, so all of them skip a non-finite step alike.
        var report = shardGradient.withUnsafeBufferPointer { gradient in
            rule.step(parameters: UnsafeMutableBufferPointer(rebasing: parameters[elements]), gradient: gradient,
                      loss: loss, gradientNorm: total[0].squareRoot())
        }
        if let error = gatherFailure.error {
            gatherFailure.error = nil
            throw error
        }
        try communicator.allgather(parameters, counts: counts)
        if let learned = rule as? L3RSUpdateRule, !report.skipped, let owned = learned.optimizer.shardParts?.ownedLayers {
            // The mean λ over all layers, not only this shard's, each counted once.
            var sums = [learned.lastStepSizes[owned].reduce(0.0) { $0 + Double($1) }]
            try sums.withUnsafeMutableBufferPointer { try communicator.allreduceSumInRankOrder($0, scratch: &scratch) }
            report.learningRate = sums[0] / Double(max(shards.ownedLayerRanges?.last?.upperBound ?? 0, 1))
        }
        return report
    }

    /// The whole state in the replicated rule's layout, gathered from every rank (a collective: every rank
    /// calls it).
    public func checkpointContents() throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        var (tensors, metadata) = rule.checkpointContents()
        for index in tensors.indices {
            let tensor = tensors[index]
            // counts: what each rank contributes; columns, start: this rank's tensor's last axis and where in it
            // its contribution starts (per layer: the layers it owns among those it touches).
            let counts: [Int], columns: Int, start: Int
            switch try axis(of: tensor.name) {
            case .replicated: continue
            case .elements: (counts, columns, start) = (shards.counts, elements.count, 0)
            case .layers:
                let (touched, owned) = try layerRanges()
                counts = owned.map(\.count)
                columns = touched[communicator.rank].count
                start = owned[communicator.rank].lowerBound - touched[communicator.rank].lowerBound
            }
            let mine = counts[communicator.rank], total = counts.reduce(0, +)
            let rows = tensor.elementCount / columns
            let values = tensor.floats()
            let offset = ShardedUpdateStep.offset(of: communicator.rank, in: counts)
            var whole = [Float](repeating: 0, count: rows * total)
            try whole.withUnsafeMutableBufferPointer { buffer in
                for row in 0..<rows {
                    for column in 0..<mine { buffer[row * total + offset + column] = values[row * columns + start + column] }
                    try communicator.allgather(UnsafeMutableBufferPointer(rebasing: buffer[(row * total)..<((row + 1) * total)]),
                                               counts: counts)
                }
            }
            tensors[index] = NamedTensor(name: tensor.name, shape: Array(tensor.shape.dropLast()) + [total], floats: whole)
        }
        for key in rule.metadataSummedOverShards.sorted() {
            guard let text = metadata[key], let value = Double(text) else { continue }
            let sum = try communicator.allreduce(value, op: .sum)
            metadata[key] = String(Int(sum))
        }
        return (tensors, metadata)
    }

    /// Restores this rank's shard from a whole state (as `checkpointContents` or a replicated run wrote it).
    public func restore(tensors: [NamedTensor], metadata: [String: String]) throws {
        var shard: [NamedTensor] = []
        for tensor in tensors {
            guard let axis = rule.stateTensorAxis(tensor.name) else { continue }
            let range: Range<Int>, total: Int
            switch axis {
            case .replicated:
                shard.append(tensor)
                continue
            case .elements: (range, total) = (elements, shards.elementRanges.last!.upperBound)
            case .layers:
                let (touched, owned) = try layerRanges()
                (range, total) = (touched[communicator.rank], owned.last!.upperBound)
            }
            guard tensor.dtype == .f32, tensor.shape.last == total, tensor.elementCount % total == 0 else {
                throw TrainingError.checkpoint("optimizer state tensor \(tensor.name) has shape \(tensor.shape), expected a last axis of \(total)")
            }
            let values = tensor.floats(), rows = tensor.elementCount / total
            var cut: [Float] = []
            cut.reserveCapacity(rows * range.count)
            for row in 0..<rows { cut += values[(row * total + range.lowerBound)..<(row * total + range.upperBound)] }
            shard.append(NamedTensor(name: tensor.name, shape: Array(tensor.shape.dropLast()) + [range.count], floats: cut))
        }
        var metadata = metadata
        // Counts over layers: rank 0 carries the whole count, so the shards add up to it again.
        for key in rule.metadataSummedOverShards where communicator.rank != 0 && metadata[key] != nil { metadata[key] = "0" }
        try rule.restore(tensors: shard, metadata: metadata)
    }

    /// The layers each rank touches and owns, for per-layer state (which only the layer-aware cut has).
    private func layerRanges() throws -> (touched: [Range<Int>], owned: [Range<Int>]) {
        guard let touched = shards.layerRanges, let owned = shards.ownedLayerRanges else {
            throw TrainingError.checkpoint("per-layer optimizer state in a shard cut without regard to layers")
        }
        return (touched, owned)
    }

    private func axis(of name: String) throws -> StateTensorAxis {
        guard let axis = rule.stateTensorAxis(name) else {
            throw TrainingError.checkpoint("optimizer state tensor \(name) has no known layout for sharding")
        }
        return axis
    }

    private static func offset(of rank: Int, in counts: [Int]) -> Int { counts[..<rank].reduce(0, +) }
}

/// The lengths of every rank's part of the cut layers' sums, after the first exchange.
private final class ExchangeLengths {
    var known: [Int]?
}

/// Holds an error thrown where it cannot propagate (a collective inside the learned rule's step).
private final class GatherFailure {
    var error: (any Error)?
}
