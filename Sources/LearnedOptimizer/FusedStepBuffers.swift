import Optimizers

/// The memory of L3RS's fused step (`L3RSOptimizer.step`), which never holds the P normalised directions
/// (P·n floats) in memory: a step reads and writes each layer's θ, g and base states twice, once to advance
/// the states and measure the directions, once to apply the mixture.
///
/// Where each direction comes from in the second pass (`DirectionRule.directionSource`): SGD's is g itself,
/// heavy-ball momentum's is its advanced first moment, Nesterov's is rebuilt into a chunk of scratch, and
/// the others (Adam, RMSprop, Lion) are stored raw between the passes, one n-float buffer per such rule.
struct FusedStepBuffers: Sendable {
    /// Elements per chunk: `SumOfSquares.chunkAlignment` (2048); one chunk of θ, g, the
    /// moments and P + 1 scratch rows (≈ 60 KiB) stays in L2 while every rule reads it, and the per-chunk
    /// calls are few.
    static let chunkLength = SumOfSquares.chunkAlignment

    /// Per rule, where its direction is found in the second pass.
    var sources: [DirectionSource] = []
    /// Per rule, its row in `storedDirections` (rules whose source is `.computed`), else nil.
    var storageSlot: [Int?] = []
    var storedRuleCount = 0
    /// Raw directions of the `.computed` rules, [slot, n]; allocated on the first fused step.
    var storedDirections: [Float] = []
    /// (P + 1) chunks: one per rule's direction in the first pass (and a rebuilt one in the second), then
    /// the mixture of more than three bases.
    var chunks: [Float] = []
    /// The sums of squares of the layer being reduced: θ, g, and one per rule's direction.
    var parameterSum = SumOfSquares()
    var gradientSum = SumOfSquares()
    var directionSums: [SumOfSquares] = []

    init() {}

    init(rules: [any DirectionRule]) {
        sources = rules.map(\.directionSource)
        var slots = [Int?]()
        for source in sources {
            if source == .computed {
                slots.append(storedRuleCount)
                storedRuleCount += 1
            } else {
                slots.append(nil)
            }
        }
        storageSlot = slots
        chunks = [Float](repeating: 0, count: (rules.count + 1) * Self.chunkLength)
        directionSums = [SumOfSquares](repeating: .init(), count: rules.count)
    }
}
