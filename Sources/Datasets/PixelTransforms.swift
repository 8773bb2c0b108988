/// Value transforms: scaling to [0, 1], per-channel normalisation, and grey to colour.
extension Dataset {
    /// Divides every pixel by `pixelMaximum`, so 0...255 bytes or 0...16 digits become 0...1, as the
    /// pretrained networks were trained on.
    public func scaledToUnitRange() -> Dataset {
        let factor = 1 / pixelMaximum
        var scaled = images
        scaled.withUnsafeMutableBufferPointer { values in
            for index in values.indices { values[index] *= factor }
        }
        return replacingImages(scaled, pixelMaximum: 1)
    }

    /// Subtracts `mean[c]` and divides by `std[c]` per channel c, as torchvision's Normalize does. One value
    /// for a multi-channel dataset applies it to every channel.
    public func normalized(mean: [Float], std: [Float]) throws -> Dataset {
        let means = mean.count == 1 ? Array(repeating: mean[0], count: channels) : mean
        let deviations = std.count == 1 ? Array(repeating: std[0], count: channels) : std
        guard means.count == channels, deviations.count == channels else {
            throw DatasetError(file: name, "normalisation has \(mean.count) means and \(std.count) deviations for \(channels) channel(s)")
        }
        guard deviations.allSatisfy({ $0 > 0 }) else { throw DatasetError(file: name, "normalisation deviations must be positive: \(std)") }
        let plane = height * width
        var result = images
        result.withUnsafeMutableBufferPointer { values in
            for sample in 0..<count {
                for channel in 0..<channels {
                    let start = (sample * channels + channel) * plane
                    let shift = means[channel], factor = 1 / deviations[channel]
                    for index in start..<(start + plane) { values[index] = (values[index] - shift) * factor }
                }
            }
        }
        return replacingImages(result)
    }

    /// Repeats a single grey channel `channels` times (e.g. for a network trained on RGB inputs).
    public func expandingGrey(toChannels target: Int) throws -> Dataset {
        guard channels == 1 else { throw DatasetError(file: name, "only grey (1-channel) images can be expanded, these have \(channels)") }
        guard target >= 1 else { throw DatasetError(file: name, "target channel count \(target) must be positive") }
        let plane = height * width
        var result = [Float](repeating: 0, count: count * target * plane)
        images.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { output in
                for sample in 0..<count {
                    for channel in 0..<target {
                        (output.baseAddress! + (sample * target + channel) * plane).update(from: source.baseAddress! + sample * plane, count: plane)
                    }
                }
            }
        }
        return replacingImages(result, channels: target)
    }
}
