import TestSupport

/// The dataset tests' fixtures, data and scratch folders.
let testFiles = TestFiles(testFile: #filePath, scratchPrefix: "l3rs-datasets")
