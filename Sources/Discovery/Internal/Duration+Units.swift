extension Duration {
    /// The duration in whole nanoseconds (saturating), for APIs that count in them.
    package var wholeNanoseconds: Int {
        let (seconds, attoseconds) = components
        let (product, overflow) = Int(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow
            ? .max : product.addingReportingOverflow(Int(attoseconds / 1_000_000_000)).partialValue
    }

    /// The duration in whole milliseconds.
    package var wholeMilliseconds: Int { wholeNanoseconds / 1_000_000 }
}
