import TestSupport

/// The checkpoint tests' fixtures, data and scratch folders.
let testFiles = TestFiles(testFile: #filePath, scratchPrefix: "l3rs-checkpoints")
