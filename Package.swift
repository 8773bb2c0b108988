// swift-tools-version: 6.1
// L3RS: learned layer-wise optimizers for fine-tuning pretrained image classifiers, data-parallel over MPI.
import PackageDescription

let package = Package(
    name: "L3RS",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "l3rs", targets: ["l3rs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries, found through pkg-config on Debian.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // GEMM wrappers, im2col, vectorised element-wise and reduction loops.
        .target(name: "Kernels", dependencies: ["CBLAS"]),
        // Communicator protocol: MPI and single-process implementations.
        .target(name: "Distributed", dependencies: ["CMPI"]),
        // Flat parameter store, layers with forward/backward passes, models, losses.
        .target(name: "Network", dependencies: ["Kernels"]),
        // Dataset readers, normalisation, shuffling, sharding.
        .target(name: "Datasets", dependencies: []),
        // safetensors reader and writer, PyTorch state_dict import.
        .target(name: "Checkpoints", dependencies: []),
        // Base optimizers as pure state transitions, schedules, clipping, parameter groups.
        .target(name: "Optimizers", dependencies: []),
        // L3RS: per-layer mixing of normalised base directions by a small shared MLP, and its meta-gradient.
        .target(name: "LearnedOptimizer", dependencies: ["Optimizers"]),

        // Command-line interface only: parsing and wiring.
        .executableTarget(
            name: "l3rs",
            dependencies: [
                "Kernels", "Distributed", "Network", "Datasets", "Checkpoints", "Optimizers", "LearnedOptimizer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed"]),
        .testTarget(name: "NetworkTests", dependencies: ["Network", "Kernels"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints"]),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LearnedOptimizerTests", dependencies: ["LearnedOptimizer", "Optimizers"]),
    ],
    swiftLanguageModes: [.v6]
)
