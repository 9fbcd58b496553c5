/// Renders `--help` text from the ``CommandTable``.
enum HelpRenderer {
    static func render(_ command: CommandSpec, path: [String], root: CommandSpec) -> String {
        let name = (["sdctl"] + path).joined(separator: " ")
        var lines: [String] = []
        lines.append("\(name) - \(command.summary)")
        lines.append("")
        lines.append("Usage: \(usage(command, name: name, isRoot: path.isEmpty))")
        if !command.discussion.isEmpty {
            lines.append("")
            lines.append(contentsOf: wrap(command.discussion, width: 78))
        }
        if !command.subcommands.isEmpty {
            lines.append("")
            lines.append("Commands:")
            let width = command.subcommands.map(\.name.count).max() ?? 0
            for sub in command.subcommands {
                lines.append("  \(sub.name.padding(width))  \(sub.summary)")
            }
        }
        if !command.positionals.isEmpty {
            lines.append("")
            lines.append("Arguments:")
            let width = command.positionals.map(\.name.count).max() ?? 0
            for positional in command.positionals {
                lines.append("  \(positional.name.padding(width))  \(positional.help)")
            }
        }
        let own = path.isEmpty ? [] : command.options
        if !own.isEmpty {
            lines.append("")
            lines.append("Options:")
            lines.append(contentsOf: optionLines(own))
        }
        lines.append("")
        lines.append(path.isEmpty ? "Options:" : "Global options:")
        lines.append(contentsOf: optionLines(root.options))
        if !command.examples.isEmpty {
            lines.append("")
            lines.append("Examples:")
            for example in command.examples { lines.append("  \(example)") }
        }
        if path.isEmpty {
            lines.append("")
            lines.append("Exit codes: 0 ok, 1 failure, 2 usage, 3 no instances, 69 backend unavailable,")
            lines.append("77 permission denied, 124 timed out; a wrapped command's own code, or 128+signal.")
            lines.append("Run 'sdctl help COMMAND' for a command's options.")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func usage(_ command: CommandSpec, name: String, isRoot: Bool) -> String {
        var parts = [name]
        if isRoot { parts.append("[-o text|json] [--timeout DURATION] [-v] [--no-color] COMMAND ...") }
        if !command.subcommands.isEmpty, !isRoot { parts.append("COMMAND") }
        parts.append(
            contentsOf: command.positionals.map { command.name == "help" ? "[\($0.name)]" : $0.synopsis })
        if !isRoot {
            for option in command.options {
                var text = "--\(option.long)"
                if let value = option.valueName { text += " \(value)" }
                parts.append("[\(text)]\(option.repeatable ? "..." : "")")
            }
        }
        if command.takesTrailingCommand { parts.append("[-- CMD [ARG...]]") }
        return parts.joined(separator: " ")
    }

    static func optionLines(_ options: [OptionSpec]) -> [String] {
        let width = options.map(\.synopsis.count).max() ?? 0
        return options.map { "  \($0.synopsis.padding(width))  \($0.help)" }
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += line.isEmpty ? String(word) : " " + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
