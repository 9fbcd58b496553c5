import Discovery
import Dispatch
import Synchronization

/// Builds a balancer's ``SharedTable`` when the endpoints change, off the pick path.
///
/// The first pick that sees a new set asks for a table. If its stripe has none yet (the very
/// first set), the table is built there and then, as there is nothing else to pick from.
/// Otherwise the build runs on a background queue and the stripes keep picking from the table
/// they have until the new one is published; each stripe adopts it on its next pick. At most
/// one build runs at a time; a set that changes during a build is built next.
@usableFromInline
final class TableBuilder<Source: Endpointer>: Sendable {
    @usableFromInline typealias Table = SharedTable<Source.Endpoint>
    typealias Build = @Sendable (_ addresses: [String], _ preferences: [EndpointPreference]) -> [UInt32]

    private struct State {
        var current: Table?
        var building = false
    }

    private let state = Mutex(State())
    private let build: Build

    init(build: @escaping Build) {
        self.build = build
    }

    /// Gives `stripe` the table for its generation if one is published, and otherwise starts a
    /// build of it. A stripe with no table at all builds one there and then, even while another
    /// build runs (it has nothing else to pick from); one with a table keeps it meanwhile.
    @usableFromInline @inline(never)
    func adopt(into stripe: inout PickStripes<Source>.State) {
        let generation = stripe.generation
        let (published, start) = state.withLock { state -> (Table?, Bool) in
            if let current = state.current, current.generation == generation { return (current, false) }
            guard !state.building else { return (nil, false) }
            state.building = true
            return (nil, true)
        }
        if let published {
            stripe.table = published
            return
        }
        let endpoints = stripe.endpoints
        let addresses = stripe.addresses
        let preferences = stripe.preferences
        if stripe.table == nil {
            let table = Table(
                generation: generation, endpoints: endpoints, addresses: addresses,
                entries: build(addresses, preferences))
            stripe.table = table
            state.withLock { state in
                if start { state.building = false }
                if state.current?.generation != generation { state.current = table }
            }
        } else if start {
            DispatchQueue.global().async {
                self.publish(generation, endpoints, addresses, preferences)
            }
        }
    }

    /// Builds the table for the stripe's set now, unless it is already published.
    func prepare(_ stripe: inout PickStripes<Source>.State) {
        if let current = state.withLock({ $0.current }), current.generation == stripe.generation {
            stripe.table = current
            return
        }
        stripe.table = Table(
            generation: stripe.generation, endpoints: stripe.endpoints, addresses: stripe.addresses,
            entries: build(stripe.addresses, stripe.preferences))
        let table = stripe.table
        state.withLock { $0.current = table }
    }

    private func publish(
        _ generation: UInt64, _ endpoints: [Source.Endpoint], _ addresses: [String],
        _ preferences: [EndpointPreference]
    ) {
        let table = Table(
            generation: generation, endpoints: endpoints, addresses: addresses,
            entries: build(addresses, preferences))
        state.withLock { state in
            state.current = table
            state.building = false
        }
    }
}
