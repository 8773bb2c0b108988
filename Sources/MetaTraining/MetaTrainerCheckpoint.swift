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
        func fail(_ message: String) -> MetaTrainingError { .checkpoint("\(source): \(message)") }
        func integer(_ key: String) throws -> Int {
            guard let value = file.metadata[key].flatMap({ Int($0) }) else { throw fail("metadata '\(key)' is missing") }
            return value
        }
        guard let json = file.metadata["l3rs.configuration"],
              try L3RSConfiguration.decode(json: json) == optimizer.configuration else {
            throw fail("it was written for another learned-optimizer configuration (base optimizers, λ0, variant, widths, seed or layers differ)")
        }
        let writers = try integer("world_size")
        guard writers == communicator.size || configuration.allowReshard else {
            throw fail("it was written by \(writers) rank(s), this run has \(communicator.size); set allowReshard: true to continue with the same global batches")
        }
        guard try integer("inner_runs") == configuration.innerRuns else {
            throw fail("it has \(try integer("inner_runs")) inner runs, this run is configured for \(configuration.innerRuns)")
        }
        func metaParameters(prefix: String) throws -> MetaParameters {
            let tensors = file.tensors.filter { $0.name.hasPrefix(prefix) }.map { tensor -> NamedTensor in
                var renamed = tensor
                renamed.name = String(tensor.name.dropFirst(prefix.count))
                return renamed
            }
            return try MetaParameters(configuration: optimizer.configuration, layerCount: optimizer.layers.count,
                                      tensors: tensors)
        }
        optimizer.metaParameters = try metaParameters(prefix: "phi.")
        best = nil
        if let loss = file.metadata["best.mean_loss"].flatMap({ Double($0) }) {
            best = ValidatedMetaParameters(metaParameters: try metaParameters(prefix: "best_phi."), meanLoss: loss,
                                           metaStep: try integer("best.meta_step"))
        }
        guard let first = file["meta_optimizer.first_moment"]?.floats(),
              let second = file["meta_optimizer.second_moment"]?.floats(),
              first.count == metaOptimizer.firstMoment.count, second.count == first.count else {
            throw fail("meta-optimizer moments are missing or of the wrong size")
        }
        metaOptimizer.firstMoment = first
        metaOptimizer.secondMoment = second
        metaOptimizer.step = try integer("meta_optimizer.step")
        metaOptimizer.skippedSteps = try integer("meta_optimizer.skipped_steps")
        metaStep = try integer("meta_step")
        let template = optimizer.makeState()
        runs = try (0..<configuration.innerRuns).map { index in
            let prefix = "run.\(index)."
            guard let parameters = file[prefix + "parameters"]?.floats(), parameters.count == optimizer.parameterCount else {
                throw fail("inner run \(index) has no parameters of the right size")
            }
            let stateTensors = file.tensors.filter { $0.name.hasPrefix(prefix + "l3rs.") }.map { tensor -> NamedTensor in
                var renamed = tensor
                renamed.name = String(tensor.name.dropFirst(prefix.count))
                return renamed
            }
            var stateMetadata: [String: String] = [:]
            for (key, value) in file.metadata where key.hasPrefix(prefix + "l3rs.") {
                stateMetadata[String(key.dropFirst(prefix.count))] = value
            }
            let state = try L3RSState(checkpointTensors: stateTensors, metadata: stateMetadata, template: template)
            return InnerRun(index: index, restarts: try integer(prefix + "restarts"), parameters: parameters, state: state)
        }
        persistentES = [:]
        for run in runs {
            guard let restarts = file.metadata["pes.\(run.index).restarts"].flatMap({ Int($0) }) else { continue }
            let (count, step) = (try integer("pes.\(run.index).pairs"), try integer("pes.\(run.index).step"))
            var estimator = PersistentEvolutionStrategies(sigma: Float(configuration.esSigma), pairCount: count, start: run,
                                                          metaParameterCount: optimizer.metaParameters.values.count)
            // Particles stored for another step than the run's (the run moved on without PES) are not restored.
            guard step == run.step else { continue }
            for i in 0..<count {
                guard let values = file["pes.\(run.index).pair.\(i)"]?.floats() else {
                    throw fail("PES pair \(i) of inner run \(run.index) is missing")
                }
                do { estimator.pairs[i] = try pair(from: values, template: run) } catch {
                    throw fail("PES pair \(i) of inner run \(run.index): \(error)")
                }
            }
            persistentES[run.index] = PersistentRunEstimator(restarts: restarts, step: step, estimator: estimator)
        }
    }
}
