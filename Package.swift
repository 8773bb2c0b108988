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
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries, found through pkg-config on Debian.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),

        // The one seedable generator (SplitMix64) behind every random choice: initialisation, dropout, data
        // order, splits, augmentation, φ's start.
        .target(name: "Seeding"),
        // GEMM wrappers, im2col, vectorised element-wise and reduction loops.
        .target(name: "Kernels", dependencies: ["CBLAS", "CVectorKernels"]),
        // Communicator protocol: MPI and single-process implementations.
        .target(name: "Distributed", dependencies: ["Choices", "CMPI"]),
        // Flat parameter store, layers with forward/backward passes, models, losses.
        .target(name: "Network", dependencies: ["Choices", "Kernels", "Seeding"]),
        // Dataset readers (image folders decoded by libpng and libjpeg-turbo), normalisation, shuffling, sharding.
        .target(name: "Datasets", dependencies: ["Inflate", "Seeding", "CPNG", "CTurboJPEG"]),
        // safetensors reader and writer, PyTorch state_dict import.
        .target(name: "Checkpoints", dependencies: ["Inflate"]),
        // gzip and raw-deflate decompression (zlib), shared by dataset files and zip-packed checkpoints.
        .target(name: "Inflate", dependencies: ["CZlib"]),
        // C loops that Swift leaves scalar (square roots; the direct few-channel convolution): -fno-math-errno lets them vectorise,
        // -ffp-contract=off keeps each operation rounded as the Swift code it replaces.
        .target(name: "CVectorKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off"])]),
        // Base optimizers as pure state transitions, schedules, clipping, parameter groups.
        .target(name: "Optimizers", dependencies: ["Choices", "CVectorKernels", "Kernels"]),
        // Closed sets of configuration values and "did you mean" suggestions for misspelt names.
        .target(name: "Choices"),
        // L3RS: per-layer mixing of normalised base directions by a small shared MLP, and its meta-gradient.
        // Tensors cross into files as Checkpoints' NamedTensor, so φ and states need no second tensor type.
        .target(name: "LearnedOptimizer", dependencies: ["Choices", "Kernels", "Optimizers", "Checkpoints", "Seeding", "CVectorKernels"]),

        // `l3rs bench`: step, layer, allreduce, optimizer and meta-training costs against in-run baselines.
        .target(name: "Benchmarks", dependencies: [
            "Kernels", "Distributed", "Network", "Datasets", "Optimizers", "LearnedOptimizer", "Training", "MetaTraining",
            "Reports", "Seeding",
        ]),

        // Metrics logs, progress lines, tables and plots.
        .target(name: "Reports", dependencies: []),
        // What every long job shares: the run folder, its lock and configuration record, checkpoints and resume,
        // stop signals, the divergence policy.
        .target(name: "Runs", dependencies: ["Checkpoints", "Distributed", "Reports"]),
        // The data-parallel trainer: configuration, the training loop, model weights in and out.
        .target(name: "Training", dependencies: [
            "Choices", "Distributed", "Network", "Datasets", "Checkpoints", "Optimizers", "LearnedOptimizer", "Reports", "Runs",
            "Seeding", .product(name: "Yams", package: "Yams"),
        ]),
        // Meta-training of L3RS: inner runs of the real model advanced in truncations, the data-parallel
        // meta-gradient, the meta-optimizer loop, its checkpoints and resume.
        .target(name: "MetaTraining", dependencies: [
            "Choices", "Distributed", "Network", "Datasets", "Checkpoints", "Optimizers", "LearnedOptimizer", "Reports",
            "Runs", "Seeding", "Training",
        ]),

        // The paper's experiment as one job: stages (pretrain, meta-train and ablations, tuned baselines,
        // evaluation conditions) as resumable run folders, and the report built from their metrics.
        .target(name: "Pipeline", dependencies: [
            "Choices", "Datasets", "Distributed", "Reports", "Runs", "Training", "MetaTraining", "LearnedOptimizer", "Optimizers",
            "Seeding",
        ]),

        // Command-line interface only: parsing and wiring.
        .executableTarget(
            name: "l3rs",
            dependencies: [
                "Choices", "Kernels", "Distributed", "Network", "Datasets", "Checkpoints", "Optimizers", "LearnedOptimizer",
                "Reports", "Runs", "Training", "MetaTraining", "Benchmarks", "Pipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "SeedingTests", dependencies: ["Seeding"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Distributed", "Network", "Training"]),
        // Shared by the test targets: launching mpirun with a time limit.
        .target(name: "TestSupport", dependencies: ["Distributed"], path: "Tests/TestSupport"),
        // Shared by TrainingTests and MetaTrainingTests: small training configurations.
        .target(name: "TrainingFixtures", dependencies: ["Training"], path: "Tests/TrainingFixtures"),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "TestSupport"]),
        .testTarget(name: "NetworkTests", dependencies: ["Network", "Kernels", "Seeding"], exclude: ["Fixtures"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Inflate", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers", "Kernels", "Seeding"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LearnedOptimizerTests", dependencies: ["LearnedOptimizer", "Optimizers", "Seeding"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "TestSupport"]),
        .testTarget(name: "RunsTests", dependencies: ["Runs", "Checkpoints", "Distributed", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: [
            "Choices", "Training", "Runs", "Datasets", "Distributed", "Checkpoints", "Network", "LearnedOptimizer", "Seeding", "TestSupport",
            "TrainingFixtures",
        ]),
        .testTarget(name: "MetaTrainingTests", dependencies: [
            "Choices", "MetaTraining", "Training", "Runs", "LearnedOptimizer", "Network", "Distributed", "Datasets", "Checkpoints",
            "Seeding", "TestSupport", "TrainingFixtures",
        ]),
        .testTarget(name: "PipelineTests", dependencies: ["Choices", "Pipeline", "Training", "Runs", "Reports", "TestSupport"]),
        // End-to-end runs of the l3rs executable under launchers and batch systems (mpirun, a one-node Slurm),
        // and of failures (a killed rank, a stalled collective).
        .testTarget(name: "ClusterTests", dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
