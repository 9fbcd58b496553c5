import Discovery
import DiscoveryHTTP
import NIOHTTP1

extension EurekaClient {
    /// `GET <base>/apps/<APP>`: every instance the server lists, whatever its status; an app the
    /// server does not know (404) has none. An instance that does not decode is skipped (logged
    /// at debug), never the whole answer. The answer is decoded as it arrives, instance by
    /// instance; more than ``Configuration/maximumInstances`` is an error
    /// (`InstanceLimitExceeded`). `{"application": {"instance": [..]}}`, where old servers
    /// send one instance as an object, not a list.
    public func instances(of app: String) async throws(DiscoveryError) -> [EurekaInstanceRecord] {
        try await instances(of: app) { $0 }.values
    }

    /// An app's instances as `transform` makes them, one by one as the answer arrives: the
    /// instancer keeps instances only, never every record at once. `decoded` counts the records
    /// that decoded, `transform`'s `nil`s included.
    func instances<Value: Sendable>(
        of app: String, transform: @escaping @Sendable (EurekaInstanceRecord) -> Value?
    ) async throws(DiscoveryError) -> (values: [Value], decoded: Int) {
        let what = "instances of \(app.uppercased())"
        do {
            let answer = try await transport.sendForElements(
                path(app), what: what, elements: what, of: EurekaInstanceRecord.self,
                at: ["application", "instance"], limit: configuration.maximumInstances, transform: transform)
            return (answer.values, answer.decoded)
        } catch {
            guard error.code == .notFound else { throw error }
            return ([], 0)
        }
    }

    /// `GET <base>/apps/<APP>/<id>`: one instance, read from the registry itself (real servers
    /// do not serve it from the response cache that delays `GET <base>/apps`); `nil` when the
    /// server does not have it.
    public func instance(app: String, instanceID: String) async throws(DiscoveryError)
        -> EurekaInstanceRecord?
    {
        let what = "instance '\(instanceID)' of \(app.uppercased())"
        do {
            let response = try await send(.GET, path(app, instanceID), what: what)
            return try transport.decode(EurekaInstanceBody.self, response.body, what: what).instance
        } catch {
            guard error.code == .notFound else { throw error }
            return nil
        }
    }

    /// Whether `GET <base>/apps` answers: a server that knows no app at all still does, so a 404
    /// here means the base path is wrong rather than the app unknown.
    public func registryAnswers() async throws(DiscoveryError) -> Bool {
        do {
            _ = try await send(.GET, configuration.basePath + "/apps", what: "the registry")
            return true
        } catch {
            guard error.code == .notFound else { throw error }
            return false
        }
    }

    /// `POST <base>/apps/<APP>`: registers (or replaces) the instance.
    public func register(_ registration: EurekaRegistration) async throws(DiscoveryError) {
        _ = try await send(
            .POST, path(registration.app), body: registration.body(),
            what: "register '\(registration.instanceID)'")
    }

    /// `PUT <base>/apps/<APP>/<id>`: renews the lease. An unknown lease is
    /// `DiscoveryError/Code/notFound`: the server forgot it, and the instance must register again.
    public func renew(app: String, instanceID: String) async throws(DiscoveryError) {
        _ = try await send(.PUT, path(app, instanceID), what: "renew '\(instanceID)'")
    }

    /// `PUT <base>/apps/<APP>/<id>/status?value=`: overrides the status (OUT_OF_SERVICE to drain).
    public func overrideStatus(app: String, instanceID: String, _ status: EurekaStatus)
        async throws(DiscoveryError)
    {
        _ = try await send(
            .PUT, path(app, instanceID, "status"), query: [("value", status.rawValue)],
            what: "set '\(instanceID)' \(status.rawValue)")
    }

    /// `DELETE <base>/apps/<APP>/<id>`: cancels the lease; an unknown one is
    /// `DiscoveryError/Code/notFound`.
    public func cancel(app: String, instanceID: String) async throws(DiscoveryError) {
        _ = try await send(.DELETE, path(app, instanceID), what: "cancel '\(instanceID)'")
    }
}
