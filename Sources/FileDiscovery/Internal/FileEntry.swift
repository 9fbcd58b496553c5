import Discovery

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What one registration file holds: the instance plus who registered it.
struct FileEntry: Codable, Sendable, Equatable {
    var address: String
    var id: String
    var tags: [String]
    var metadata: [String: String]
    var weight: Int?
    var priority: Int?
    var zone: String?
    var pid: Int32
    var registeredAt: String

    enum CodingKeys: String, CodingKey {
        case address, id, tags, metadata, weight, priority, zone, pid
        case registeredAt = "registered_at"
    }

    init(instance: Instance, id: String, pid: Int32, registeredAt: String) {
        address = instance.address
        self.id = id
        tags = instance.tags
        metadata = instance.metadata
        weight = instance.weight
        priority = instance.priority
        zone = instance.zone
        self.pid = pid
        self.registeredAt = registeredAt
    }

    var instance: Instance {
        Instance(
            address: address, id: id, tags: tags, metadata: metadata, weight: weight, priority: priority,
            zone: zone)
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self)) + [0x0A]
    }

    static func decode(_ bytes: [UInt8], file: String) throws(DiscoveryError) -> FileEntry {
        let entry: FileEntry
        do {
            entry = try JSONDecoder().decode(FileEntry.self, from: Data(bytes))
        } catch {
            throw DiscoveryError(.invalidResponse, "\(file): not a registration entry (\(error))")
        }
        do {
            _ = try HostPort(parsing: entry.address)
        } catch {
            throw DiscoveryError(.invalidResponse, "\(file): \(error.message)")
        }
        return entry
    }
}
