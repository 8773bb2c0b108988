import Foundation
import LearnedOptimizer
import Network
import Training

/// A learned-optimizer file for a model zoo backbone's layer table, with what loading it back needs: the tests
/// of files that apply, are refused, or were tampered with start from one.
struct SavedLearnedOptimizer {
    let path: String
    let layers: [LayerSlice]
    let parameterCount: Int

    /// An L3RS optimizer with `configuration` for `model`'s layer table (10 classes, seed 0), saved as
    /// `folder`/`fileName`.
    init(_ configuration: L3RSConfiguration, model: String, in folder: URL, fileName: String) throws {
        let backbone = try ModelZoo.make(named: model, classCount: 10, seed: 0)
        layers = LayerSlices.make(for: backbone)
        parameterCount = backbone.parameterCount
        let optimizer = try L3RSOptimizer(configuration: configuration, layers: layers, parameterCount: parameterCount)
        path = folder.appendingPathComponent(fileName).path
        try LearnedOptimizerFile.save(optimizer, to: path)
    }
}
