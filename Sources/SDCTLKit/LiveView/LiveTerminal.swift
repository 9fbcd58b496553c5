import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The terminal while the live view owns it: the alternate screen with the cursor hidden, and
/// the keyboard unbuffered and unechoed so that a `q` arrives as it is typed. ``restore()``
/// gives back the screen and the terminal settings exactly as they were.
final class LiveTerminal: Sendable {
    private let saved: Mutex<termios?>
    private let restored = Atomic<Bool>(false)

    /// Whether the live view should draw: someone is at the terminal. Stdin and stdout are a
    /// terminal that can show it, and this process is in its foreground: a watch started with
    /// `&` would be stopped by SIGTTOU when it set the keyboard up, and would draw over the
    /// shell (a script's `&` job, which shares the foreground group, gets /dev/null as stdin).
    static func isUsable(environment: [String: String]) -> Bool {
        isatty(0) == 1 && isatty(1) == 1 && environment["TERM"] != "dumb" && tcgetpgrp(1) == getpgrp()
    }

    /// Takes the screen (and the keyboard, when stdin is a terminal too).
    init() {
        var settings = termios()
        if isatty(0) == 1, tcgetattr(0, &settings) == 0 {
            saved = Mutex(settings)
            var raw = settings
            // Keys one at a time, not echoed; ISIG stays on, so Ctrl-C is still SIGINT.
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
            withUnsafeMutableBytes(of: &raw.c_cc) { cc in
                cc[Int(VMIN)] = 1
                cc[Int(VTIME)] = 0
            }
            tcsetattr(0, TCSANOW, &raw)
        } else {
            saved = Mutex(nil)
        }
        Self.write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J")
    }

    /// Rows and columns now (24x80 when the terminal does not say).
    var size: (rows: Int, columns: Int) {
        var window = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &window) == 0, window.ws_row > 0, window.ws_col > 0 else {
            return (24, 80)
        }
        return (Int(window.ws_row), Int(window.ws_col))
    }

    /// Draws `lines` over the previous screen, in one write.
    func draw(_ lines: [String]) {
        var text = "\u{1B}[H"
        for (index, line) in lines.enumerated() {
            text += line + "\u{1B}[K"
            if index < lines.count - 1 { text += "\r\n" }
        }
        text += "\u{1B}[J"
        Self.write(text)
    }

    /// Reads keys on a thread of its own and hands each byte to `key`, until stdin ends. The
    /// thread is left blocked in read(2) when the view ends: the process is about to exit.
    func readKeys(_ key: @escaping @Sendable (UInt8) -> Void) {
        guard isatty(0) == 1 else { return }
        DispatchQueue.global().async {
            var byte: UInt8 = 0
            while true {
                let count = read(0, &byte, 1)
                if count == 1 {
                    key(byte)
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    /// Leaves the alternate screen, shows the cursor and restores the keyboard. Idempotent.
    func restore() {
        guard !restored.exchange(true, ordering: .relaxed) else { return }
        Self.write("\u{1B}[?25h\u{1B}[?1049l")
        if var settings = saved.withLock({ $0 }) { tcsetattr(0, TCSANOW, &settings) }
    }

    private static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(1, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0, errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
