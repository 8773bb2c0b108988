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
    /// The sums of squares of the layer being reduced.
    var sums = LayerSums()
    /// On a shard, this step's sums of its cut layers (`CutLayerSums`), kept between steps for its capacity.
    var handedOn: [Double] = []

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
        sums.directions = [SumOfSquares](repeating: .init(), count: rules.count)
        sums.gradientDirectionDots = [Double](repeating: 0, count: rules.count)
    }

    /// Allocates `storedDirections` for `n` parameters if it does not have that size yet.
    mutating func reserveStoredDirections(parameterCount n: Int) {
        if storedDirections.count != storedRuleCount * n {
            storedDirections = [Float](repeating: 0, count: storedRuleCount * n)
        }
    }

    /// Lends the chunk scratch, the stored directions (nil when no rule stores one) and the layer sums.
    mutating func withScratch(
        _ body: (_ chunks: UnsafeMutablePointer<Float>, _ stored: UnsafeMutablePointer<Float>?,
                 _ sums: inout LayerSums) -> Void
    ) {
        chunks.withUnsafeMutableBufferPointer { chunks in
            storedDirections.withUnsafeMutableBufferPointer { stored in
                body(chunks.baseAddress!, stored.baseAddress, &sums)
            }
        }
    }
}

/// The sums of squares of one layer: θ, g, and one per rule's direction; with feature set v2 also ⟨g, d_p⟩
/// (summed chunk by chunk in Double; not for rules whose direction is g, whose dot is g's sum of squares).
struct LayerSums: Sendable {
    var parameters = SumOfSquares()
    var gradient = SumOfSquares()
    var directions: [SumOfSquares] = []
    var gradientDirectionDots: [Double] = []

    mutating func reset() {
        parameters.reset()
        gradient.reset()
        for p in directions.indices { directions[p].reset() }
        for p in gradientDirectionDots.indices { gradientDirectionDots[p] = 0 }
    }
}

/// Where the first pass writes each rule's direction for a chunk: into the recorded [P, n] buffer (recorded
/// step), or, in the fused step, into `storedDirections` (`.computed` rules) or a chunk of scratch (the others,
/// found again in the second pass); nil for SGD in the fused step, whose direction is g itself.
struct DirectionTargets {
    let recorded: UnsafeMutablePointer<Float>?
    let stored: UnsafeMutablePointer<Float>?
    let chunks: UnsafeMutablePointer<Float>
    let parameterCount: Int
    let sources: [DirectionSource]
    let storageSlot: [Int?]

    func target(rule p: Int, start: Int) -> UnsafeMutablePointer<Float>? {
        if let recorded { return recorded + p * parameterCount + start }
        if sources[p] == .gradient { return nil }
        if let slot = storageSlot[p] { return stored! + slot * parameterCount + start }
        return chunks + p * FusedStepBuffers.chunkLength
    }
}

/// Where the second pass of the fused step finds each rule's direction for a chunk, by its `DirectionSource`:
/// g itself, the advanced first moment, `storedDirections`, or rebuilt into the rule's row of the scratch.
struct DirectionFinder {
    let sources: [DirectionSource]
    let storageSlot: [Int?]
    let gradient: UnsafeBufferPointer<Float>
    /// Per rule, its state's first moment (nil where the rule has none).
    let firstMoments: UnsafePointer<UnsafePointer<Float>?>
    let stored: UnsafeMutablePointer<Float>?
    let chunks: UnsafeMutablePointer<Float>
    let parameterCount: Int

    /// Rule p's direction over `range`; `rebuild` writes it into the scratch row it is given (`.rebuilt`).
    func direction(
        rule p: Int, _ range: Range<Int>, rebuild: (UnsafeMutablePointer<Float>) -> Void
    ) -> UnsafePointer<Float> {
        let start = range.lowerBound
        switch sources[p] {
        case .gradient:
            return gradient.baseAddress! + start
        case .firstMoment:
            return firstMoments[p]! + start
        case .rebuilt:
            let scratch = chunks + p * FusedStepBuffers.chunkLength
            rebuild(scratch)
            return UnsafePointer(scratch)
        case .computed:
            return UnsafePointer(stored! + storageSlot[p]! * parameterCount + start)
        }
    }
}
