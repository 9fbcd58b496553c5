/// A system call's errno, as the `Discovery/DiscoveryError/cause` of a file-backend failure.
public struct SystemError: Error, Sendable, Hashable {
    public let errno: Int32
}
