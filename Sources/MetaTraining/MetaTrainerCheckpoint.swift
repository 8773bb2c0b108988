import Checkpoints
import LearnedOptimizer

/// The whole meta-training state as one safetensors file: φ ("phi.<tensor>"), the best validated φ
/// ("best_phi.<tensor>", with its score in the metadata) when meta-validation runs, the meta-optimizer's moments,
/// and for every inner run its parameters and L3RS state ("run.<i>.…"), with counters and the learned
/// optimizer's configuration in the metadata. Data positions and head seeds follow from (seed, run index,
/// restarts, inner step), so a resumed run replays exactly the batches an uninterrupted one would see. With
/// `estimator: pes` also every inner run's PES pairs ("pes.<run>.pair.<i>": both particles and ξ, as
/// `pairValues`) and the incarnation they belong to.
extension MetaTrainer {
    public static let stateFileName = "meta-state.safetensors"

    public func checkpointFile() throws -> TensorFile {
        var tensors = optimizer.metaParameters.tensors.map { tensor -> NamedTensor in
            var renamed = tensor
            renamed.name = "phi." + tensor.name
            return renamed
        }
        let count = metaOptimizer.firstMoment.count
        tensors.append(NamedTensor(name: "meta_optimizer.first_moment", shape: [count], floats: metaOptimizer.firstMoment))
        tensors.append(NamedTensor(name: "meta_optimizer.second_moment", shape: [count], floats: metaOptimizer.secondMoment))
        var metadata = [
            "meta_step": String(metaStep), "world_size": String(communicator.size),
            "meta_optimizer.step": String(metaOptimizer.step),
            "meta_optimizer.skipped_steps": String(metaOptimizer.skippedSteps),
            "inner_runs": String(runs.count), "l3rs.configuration": try optimizer.configuration.encodedJSON(),
        ]
        if let best {
            tensors += best.metaParameters.tensors.map { tensor -> NamedTensor in
                var renamed = tensor
                renamed.name = "best_phi." + tensor.name
                return renamed
            }
            metadata["best.mean_loss"] = String(best.meanLoss)
            metadata["best.meta_step"] = String(best.metaStep)
        }
        for run in runs {
            let prefix = "run.\(run.index)."
            tensors.append(NamedTensor(name: prefix + "parameters", shape: [run.parameters.count], floats: run.parameters))
            for tensor in run.state.checkpointTensors {
                var renamed = tensor
                renamed.name = prefix + tensor.name
                tensors.append(renamed)
            }
            for (key, value) in run.state.checkpointMetadata { metadata[prefix + key] = value }
            metadata[prefix + "restarts"] = String(run.restarts)
        }
        for (index, kept) in persistentES.sorted(by: { $0.key < $1.key }) {
            metadata["pes.\(index).restarts"] = String(kept.restarts)
            metadata["pes.\(index).step"] = String(kept.step)
            metadata["pes.\(index).pairs"] = String(kept.estimator.pairs.count)
            for (i, pair) in kept.estimator.pairs.enumerated() {
                let values = Self.pairValues(pair)
                tensors.append(NamedTensor(name: "pes.\(index).pair.\(i)", shape: [values.count], floats: values))
            }
        }
        return TensorFile(tensors: tensors, metadata: metadata)
    }

    /// Restores a state written by `checkpointFile`; the learned optimizer's configuration, the number of
    /// inner runs and (unless `allowReshard`) the world size must match this run's.
    public func restore(from file: TensorFile, source: String) throws {
        let reader = MetaStateReader(file: file, source: source)
        try checkCompatible(reader)
        optimizer.metaParameters = try metaParameters(reader, prefix: "phi.")
        best = nil
        if let loss = file.metadata["best.mean_loss"].flatMap({ Double($0) }) {
            best = ValidatedMetaParameters(metaParameters: try metaParameters(reader, prefix: "best_phi."), meanLoss: loss,
                                           metaStep: try reader.integer("best.meta_step"))
        }
        try restoreMetaOptimizer(reader)
        metaStep = try reader.integer("meta_step")
        let template = optimizer.makeState()
        runs = try (0..<configuration.innerRuns).map { try restoreRun(index: $0, reader, template: template) }
        try restorePersistentES(reader)
    }

    /// The file must be of this learned-optimizer configuration, world size (unless `allowReshard`) and
    /// number of inner runs.
    private func checkCompatible(_ reader: MetaStateReader) throws {
        guard let json = reader.file.metadata["l3rs.configuration"],
              try L3RSConfiguration.decode(json: json) == optimizer.configuration else {
            throw reader.fail("it was written for another learned-optimizer configuration (base optimizers, λ0, variant, widths, seed or layers differ)")
        }
        let writers = try reader.integer("world_size")
        guard writers == communicator.size || configuration.allowReshard else {
            throw reader.fail("it was written by \(writers) rank(s), this run has \(communicator.size); set allowReshard: true to continue with the same global batches")
        }
        let innerRuns = try reader.integer("inner_runs")
        guard innerRuns == configuration.innerRuns else {
            throw reader.fail("it has \(innerRuns) inner runs, this run is configured for \(configuration.innerRuns)")
        }
    }

    private func metaParameters(_ reader: MetaStateReader, prefix: String) throws -> MetaParameters {
        try MetaParameters(configuration: optimizer.configuration, layerCount: optimizer.layers.count,
                           tensors: reader.tensors(prefix: prefix))
    }

    private func restoreMetaOptimizer(_ reader: MetaStateReader) throws {
        guard let first = reader.file["meta_optimizer.first_moment"]?.floats(),
              let second = reader.file["meta_optimizer.second_moment"]?.floats(),
              first.count == metaOptimizer.firstMoment.count, second.count == first.count else {
            throw reader.fail("meta-optimizer moments are missing or of the wrong size")
        }
        metaOptimizer.firstMoment = first
        metaOptimizer.secondMoment = second
        metaOptimizer.step = try reader.integer("meta_optimizer.step")
        metaOptimizer.skippedSteps = try reader.integer("meta_optimizer.skipped_steps")
    }

    /// Inner run `index`: its parameters, L3RS state ("run.<index>.l3rs.…") and restart count.
    private func restoreRun(index: Int, _ reader: MetaStateReader, template: L3RSState) throws -> InnerRun {
        let prefix = "run.\(index)."
        guard let parameters = reader.file[prefix + "parameters"]?.floats(), parameters.count == optimizer.parameterCount else {
            throw reader.fail("inner run \(index) has no parameters of the right size")
        }
        var stateMetadata: [String: String] = [:]
        for (key, value) in reader.file.metadata where key.hasPrefix(prefix + "l3rs.") {
            stateMetadata[String(key.dropFirst(prefix.count))] = value
        }
        let state = try L3RSState(checkpointTensors: reader.tensors(prefix: prefix, keeping: "l3rs."),
                                  metadata: stateMetadata, template: template)
        return InnerRun(index: index, restarts: try reader.integer(prefix + "restarts"), parameters: parameters, state: state)
    }

    /// The persistent-ES particles of each inner run that has them (`estimator: pes`), for the run's step.
    private func restorePersistentES(_ reader: MetaStateReader) throws {
        persistentES = [:]
        for run in runs {
            guard let restarts = reader.file.metadata["pes.\(run.index).restarts"].flatMap({ Int($0) }) else { continue }
            let (count, step) = (try reader.integer("pes.\(run.index).pairs"), try reader.integer("pes.\(run.index).step"))
            var estimator = PersistentEvolutionStrategies(sigma: Float(configuration.esSigma), pairCount: count, start: run,
                                                          metaParameterCount: optimizer.metaParameters.values.count)
            // Particles stored for another step than the run's (the run moved on without PES) are not restored.
            guard step == run.step else { continue }
            for i in 0..<count {
                guard let values = reader.file["pes.\(run.index).pair.\(i)"]?.floats() else {
                    throw reader.fail("PES pair \(i) of inner run \(run.index) is missing")
                }
                do { estimator.pairs[i] = try pair(from: values, template: run) } catch {
                    throw reader.fail("PES pair \(i) of inner run \(run.index): \(error)")
                }
            }
            persistentES[run.index] = PersistentRunEstimator(restarts: restarts, step: step, estimator: estimator)
        }
    }
}

/// Reads a meta-state file, naming the file in every error.
private struct MetaStateReader {
    let file: TensorFile
    let source: String

    func fail(_ message: String) -> MetaTrainingError { .checkpoint("\(source): \(message)") }

    func integer(_ key: String) throws -> Int {
        guard let value = file.metadata[key].flatMap({ Int($0) }) else { throw fail("metadata '\(key)' is missing") }
        return value
    }

    /// The tensors named `prefix` + `keeping` + …, renamed without `prefix`.
    func tensors(prefix: String, keeping: String = "") -> [NamedTensor] {
        file.tensors.filter { $0.name.hasPrefix(prefix + keeping) }.map { tensor in
            var renamed = tensor
            renamed.name = String(tensor.name.dropFirst(prefix.count))
            return renamed
        }
    }
}
