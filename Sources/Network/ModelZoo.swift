/// The architectures L3RS fine-tunes, by name.
///
/// The three ccexam networks reproduce the PyTorch modules of the `ccexam==1.0.0` wheel (`ccexam/models.py`)
/// with their exact state_dict names and layouts, so `ccexam/weights/{mnist,usps,svhn}.pth` map one to one
/// (names and shapes were checked against the keys stored in those files; the tests pin them).
public enum ModelZoo {
    /// Names accepted by `make(named:…)`.
    /// `resnet18` and `resnet34` take 3×224×224 images; `resnet18@112` (any side ≥ 32) builds them for another size.
    public static let architectureNames = ["mlp", "ccexam-mnist", "ccexam-usps", "ccexam-svhn", "resnet-28", "resnet-32",
                                           "resnet18", "resnet34"]

    public enum ZooError: Error, Equatable, CustomStringConvertible {
        case unknownArchitecture(String)
        case badInputSize(String)
        public var description: String {
            switch self {
            case let .unknownArchitecture(name):
                return "unknown architecture '\(name)'; known: \(ModelZoo.architectureNames.joined(separator: ", "))"
            case let .badInputSize(name):
                return "model '\(name)': the input side after '@' must be a whole number ≥ 32 (for example resnet18@112)"
            }
        }
    }

    /// Whether `make(named:)` builds `name`: an architecture name, or a torchvision ResNet with an input side
    /// (`resnet18@32`). Configuration checks use it before anything is built.
    public static func builds(_ name: String) -> Bool {
        if architectureNames.contains(name) { return true }
        guard let side = sizedTorchvisionName(name)?.side else { return false }
        return side >= 32
    }

    /// `resnet18@112` → ("resnet18", 112); a side that is not a whole number → ("resnet18", nil); nil when
    /// `name` is not a torchvision ResNet with an '@'.
    private static func sizedTorchvisionName(_ name: String) -> (architecture: String, side: Int?)? {
        let parts = name.split(separator: "@", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, torchvisionBlocksPerStage[parts[0]] != nil else { return nil }
        return (parts[0], Int(parts[1]))
    }

    /// Builds a named architecture with its default configuration.
    public static func make(named name: String, classCount: Int = 10, seed: UInt64) throws -> Model {
        switch name {
        case "mlp": return mlp(inputShape: [1, 28, 28], hiddenWidths: [256, 128], classCount: classCount, seed: seed)
        case "ccexam-mnist": return ccexamMNIST(classCount: classCount, seed: seed)
        case "ccexam-usps": return ccexamUSPS(classCount: classCount, seed: seed)
        case "ccexam-svhn": return ccexamSVHN(classCount: classCount, seed: seed)
        case "resnet-28": return resnet(inputShape: [1, 28, 28], blocksPerStage: [1, 1, 1], baseWidth: 16, classCount: classCount, seed: seed)
        case "resnet-32": return resnet(inputShape: [3, 32, 32], blocksPerStage: [1, 1, 1], baseWidth: 16, classCount: classCount, seed: seed)
        case "resnet18", "resnet34": return try torchvisionResNet(name, classCount: classCount, seed: seed)
        default:
            // `resnet18@112`: a torchvision ResNet for 3×112×112 images.
            guard let sized = sizedTorchvisionName(name) else { throw ZooError.unknownArchitecture(name) }
            guard let side = sized.side, side >= 32 else { throw ZooError.badInputSize(name) }
            return try torchvisionResNet(sized.architecture, inputShape: [3, side, side], classCount: classCount, seed: seed)
        }
    }

    /// Flatten, then Linear+ReLU per hidden width, then a Linear head. Names follow an `nn.Sequential`
    /// called `layers`: Flatten is `layers.0`, so the Linears are `layers.1`, `layers.3`, ….
    public static func mlp(inputShape: [Int], hiddenWidths: [Int], classCount: Int, seed: UInt64) -> Model {
        var table: [LayerSpec] = [.flatten]
        var width = inputShape.reduce(1, *)
        for hidden in hiddenWidths {
            table += [.linear(name: "layers.\(table.count)", inputFeatures: width, outputFeatures: hidden), .relu]
            width = hidden
        }
        table.append(.linear(name: "layers.\(table.count)", inputFeatures: width, outputFeatures: classCount))
        return Model(name: "mlp", table: table, inputShape: inputShape, classCount: classCount, seed: seed)
    }

    /// ccexam `MNISTNet(28)`: 421,642 parameters with 10 classes.
    public static func ccexamMNISTTable(classCount: Int = 10) -> [LayerSpec] {
        [
            .conv(name: "features.0", inputChannels: 1, outputChannels: 32, kernelSize: 3, padding: 1),
            .relu,                                              // features.1
            .maxPool(kernelSize: 2),                            // features.2: 28 → 14
            .conv(name: "features.3", inputChannels: 32, outputChannels: 64, kernelSize: 3, padding: 1),
            .relu,                                              // features.4
            .maxPool(kernelSize: 2),                            // features.5: 14 → 7
            .flatten,
            .linear(name: "classifier.0", inputFeatures: 64 * 7 * 7, outputFeatures: 128),
            .relu,                                              // classifier.1
            .linear(name: "classifier.2", inputFeatures: 128, outputFeatures: classCount),
        ]
    }

    /// ccexam `USPSNet(16)`: BatchNorm after each conv, dropout 0.3 in the head, 16×16 input.
    public static func ccexamUSPSTable(classCount: Int = 10) -> [LayerSpec] {
        [
            .conv(name: "features.0", inputChannels: 1, outputChannels: 32, kernelSize: 3, padding: 1),
            .batchNorm(name: "features.1", channels: 32),
            .relu,                                              // features.2
            .maxPool(kernelSize: 2),                            // features.3: 16 → 8
            .conv(name: "features.4", inputChannels: 32, outputChannels: 64, kernelSize: 3, padding: 1),
            .batchNorm(name: "features.5", channels: 64),
            .relu,                                              // features.6
            .maxPool(kernelSize: 2),                            // features.7: 8 → 4
        ] + ccexamDropoutHead(inputFeatures: 64 * 4 * 4, hiddenFeatures: 128, classCount: classCount)
    }

    /// The head USPSNet and SVHNNet share: flatten, then `classifier.{0..4}` = dropout 0.3, Linear, ReLU,
    /// dropout 0.3, Linear to the classes.
    static func ccexamDropoutHead(inputFeatures: Int, hiddenFeatures: Int, classCount: Int) -> [LayerSpec] {
        [
            .flatten,
            .dropout(probability: 0.3),                         // classifier.0
            .linear(name: "classifier.1", inputFeatures: inputFeatures, outputFeatures: hiddenFeatures),
            .relu,                                              // classifier.2
            .dropout(probability: 0.3),                         // classifier.3
            .linear(name: "classifier.4", inputFeatures: hiddenFeatures, outputFeatures: classCount),
        ]
    }

    /// ccexam `SVHNNet(32)`: three blocks `features.{0,1,2}` of [conv-BN-ReLU ×2, maxpool] with widths
    /// 32/64/128 on 3×32×32, then dropout 0.3, Linear 2048→256, ReLU, dropout 0.3, Linear 256→classes.
    public static func ccexamSVHNTable(classCount: Int = 10) -> [LayerSpec] {
        func block(_ index: Int, _ inputChannels: Int, _ outputChannels: Int) -> [LayerSpec] {
            let prefix = "features.\(index)"
            return [
                .conv(name: prefix + ".0", inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 3, padding: 1),
                .batchNorm(name: prefix + ".1", channels: outputChannels),
                .relu,                                          // .2
                .conv(name: prefix + ".3", inputChannels: outputChannels, outputChannels: outputChannels, kernelSize: 3, padding: 1),
                .batchNorm(name: prefix + ".4", channels: outputChannels),
                .relu,                                          // .5
                .maxPool(kernelSize: 2),                        // .6
            ]
        }
        return block(0, 3, 32) + block(1, 32, 64) + block(2, 64, 128)
            + ccexamDropoutHead(inputFeatures: 128 * 4 * 4, hiddenFeatures: 256, classCount: classCount)
    }

    public static func ccexamMNIST(classCount: Int = 10, seed: UInt64) -> Model {
        Model(name: "ccexam-mnist", table: ccexamMNISTTable(classCount: classCount),
              inputShape: [1, 28, 28], classCount: classCount, seed: seed)
    }

    public static func ccexamUSPS(classCount: Int = 10, seed: UInt64) -> Model {
        Model(name: "ccexam-usps", table: ccexamUSPSTable(classCount: classCount),
              inputShape: [1, 16, 16], classCount: classCount, seed: seed)
    }

    public static func ccexamSVHN(classCount: Int = 10, seed: UInt64) -> Model {
        Model(name: "ccexam-svhn", table: ccexamSVHNTable(classCount: classCount),
              inputShape: [3, 32, 32], classCount: classCount, seed: seed)
    }

    /// How a ResNet turns the image into its first feature map.
    public enum ResNetStem: Sendable {
        /// `conv1` 3×3 stride 1 padding 1, `bn1`, ReLU: for 28×28 and 32×32 inputs.
        case cifar
        /// torchvision's ImageNet stem: `conv1` 7×7 stride 2 padding 3, `bn1`, ReLU, `maxpool` 3×3 stride 2
        /// padding 1 (the input shrinks by 4 before `layer1`).
        case imagenet
    }

    /// torchvision's `resnet18` and `resnet34`: BasicBlocks per stage.
    public static let torchvisionBlocksPerStage = ["resnet18": [2, 2, 2, 2], "resnet34": [3, 4, 6, 3]]
    /// The input side torchvision's ResNets are trained at; `resnet18@112` names another.
    public static let torchvisionInputSize = 224

    /// torchvision's `resnet18` / `resnet34` (`name`), exactly its module tree and state_dict names, for
    /// `inputShape` (C, H, W) of any size at least 32×32 (the net downsamples by 32 before `avgpool`, which
    /// averages whatever is left).
    public static func torchvisionResNet(_ name: String, inputShape: [Int] = [3, torchvisionInputSize, torchvisionInputSize],
                                         classCount: Int = 1000, seed: UInt64) throws -> Model {
        guard let blocks = torchvisionBlocksPerStage[name] else { throw ZooError.unknownArchitecture(name) }
        return resnet(inputShape: inputShape, blocksPerStage: blocks, baseWidth: 64, classCount: classCount, seed: seed,
                      stem: .imagenet)
    }

    /// A ResNet with torchvision names: the stem (`conv1` without bias, `bn1`, ReLU, and for `.imagenet`
    /// `maxpool`), then stages `layer1…layerS` of BasicBlocks (`layerS.B.conv1`, …, `layerS.B.downsample.{0,1}`)
    /// with widths baseWidth·2^(s−1) and stride 2 at the start of every stage but the first, global average
    /// pooling (`avgpool`), and the head `fc`. The `.cifar` stem keeps the 28×28 or 32×32 input's resolution.
    public static func resnet(inputShape: [Int], blocksPerStage: [Int], baseWidth: Int, classCount: Int, seed: UInt64,
                              stem: ResNetStem = .cifar) -> Model {
        precondition(inputShape.count == 3 && !blocksPerStage.isEmpty && baseWidth > 0)
        let registry = ParameterRegistry()
        let (kernel, stride, padding) = stem == .imagenet ? (7, 2, 3) : (3, 1, 1)
        var layers: [any Layer] = [
            Conv2d(name: "conv1", inputChannels: inputShape[0], outputChannels: baseWidth, kernelSize: kernel,
                   stride: stride, padding: padding, bias: false, registry: registry),
            BatchNorm2d(name: "bn1", channels: baseWidth, registry: registry),
            ReLU(),
        ]
        if stem == .imagenet { layers.append(MaxPool2d(kernelSize: 3, stride: 2, padding: 1)) }
        var channels = baseWidth
        for (stage, blockCount) in blocksPerStage.enumerated() {
            let width = baseWidth << stage
            for block in 0..<blockCount {
                let stride = (stage > 0 && block == 0) ? 2 : 1
                layers.append(BasicBlock(name: "layer\(stage + 1).\(block)", inputChannels: channels,
                                         outputChannels: width, stride: stride, registry: registry))
                channels = width
            }
        }
        layers.append(GlobalAvgPool())
        layers.append(Linear(name: "fc", inputFeatures: channels, outputFeatures: classCount, registry: registry))
        let depth = 2 + 2 * blocksPerStage.reduce(0, +)
        let name = stem == .imagenet && baseWidth == 64 ? "resnet\(depth)" : "resnet\(depth)-w\(baseWidth)"
        return Model(name: name, layers: layers, registry: registry, inputShape: inputShape,
                     classCount: classCount, headParameterNames: ["fc.weight", "fc.bias"], seed: seed)
    }
}
