/// `--name NAME --port PORT [--calls SERVICE] [--drain SECONDS]`.
struct Options: Sendable {
    var name = ""
    var port = 0
    var calls: String?
    var drain = Duration.seconds(1)

    struct Usage: Error, CustomStringConvertible {
        let description: String
    }

    init(_ arguments: ArraySlice<String>) throws {
        var arguments = arguments
        while let flag = arguments.popFirst() {
            guard let value = arguments.popFirst() else { throw Usage(description: "\(flag) needs a value") }
            switch flag {
            case "--name": name = value
            case "--port":
                guard let number = Int(value), (1...65535).contains(number) else {
                    throw Usage(description: "--port takes a port number, not '\(value)'")
                }
                port = number
            case "--calls": calls = value
            case "--drain":
                guard let seconds = Double(value), seconds >= 0 else {
                    throw Usage(description: "--drain takes seconds, not '\(value)'")
                }
                drain = .milliseconds(Int(seconds * 1000))
            default: throw Usage(description: "unknown option \(flag)")
            }
        }
        guard !name.isEmpty, port != 0 else {
            throw Usage(
                description: "usage: greeter --name NAME --port PORT [--calls SERVICE] [--drain SECONDS]")
        }
    }
}
