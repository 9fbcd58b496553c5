import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Text or JSON, as chosen by `-o`.
public enum OutputFormat: String, Sendable {
    case text, json
}

/// Writes data to stdout and diagnostics to stderr, each line flushed as it is written, so
/// that `watch` output reaches a pipe as it happens.
struct Output: Sendable {
    var format: OutputFormat
    /// Colour only on a terminal, never with NO_COLOR or --no-color.
    var color: Bool
    /// Told when a write to stdout finds its reader gone.
    var reader: StandardOutputReader? = nil

    func line(_ text: String, terminator: String = "\n") {
        write(text + terminator, to: 1)
    }

    /// Part of a line on stdout, for a line too long to hold whole (a watch event of 100,000
    /// instances): its last piece ends with the newline.
    func write(piece text: String) {
        write(text, to: 1)
    }

    func json(_ value: JSONValue) {
        line(value.rendered)
    }

    /// One diagnostic line on stderr. What it quotes of a server or a registrant reaches the
    /// terminal with its control characters shown as escapes, and cut to a sane length
    /// (``TerminalText``): a note is always exactly one line. A URL's password never shows
    /// (``Redaction``).
    func note(_ text: String) {
        write("sdctl: \(Redaction.redactingURLs(in: text).terminalSafe)\n", to: 2)
    }

    func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    /// One `write(2)` per line where possible: unbuffered, so nothing waits in a buffer.
    ///
    /// Stdout is written a pipe buffer's worth at a time, each after `poll(2)` says it has room,
    /// and a task that is cancelled meanwhile drops the rest of the line: a reader that stopped
    /// reading never holds `--timeout`, a signal or the end of a command (a blocking write
    /// cannot be interrupted).
    private func write(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                var length = bytes.count - offset
                if fd == 1 {
                    guard Self.waitForRoom(fd) else { return }
                    length = min(length, Int(PIPE_BUF))
                }
                let written = Glibc.write(fd, bytes.baseAddress! + offset, length)
                if written < 0 {
                    if errno == EINTR { continue }
                    // The reader is gone: the command ends (SDCTL.run), nothing more to write.
                    if errno == EPIPE, fd == 1 { reader?.markGone() }
                    return
                }
                offset += written
            }
        }
    }

    /// Waits until `fd` can take a write, in slices of 100 ms; false when the task is
    /// cancelled first.
    private static func waitForRoom(_ fd: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let ready = poll(&descriptor, 1, 100)
            if ready != 0 { return true }  // room, an error or a hang-up: write(2) says which
            if Task.isCancelled { return false }
        }
    }
}
