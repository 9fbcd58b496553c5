/// A target as a command with several of them names it in its output: by the text it was
/// given as.
struct LabelledTarget: Sendable {
    var label: String
    var target: Target
}
