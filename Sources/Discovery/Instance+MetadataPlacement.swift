extension Instance {
    /// For layouts whose only room for an instance's details is a string map (Curator's payload,
    /// etcd's gRPC naming metadata): the metadata with the zone as `zone` and the weight as
    /// `weight`, the entries such layouts' own clients (Spring Cloud's zone-aware balancer) use.
    package var metadataWithPlacement: [String: String] {
        var metadata = self.metadata
        if let zone { metadata["zone"] = zone }
        if let weight { metadata["weight"] = "\(weight)" }
        return metadata
    }

    /// An instance read from such a map: the zone from its `zone` entry, the weight from its
    /// `weight` entry when that is a whole number; the map stays the metadata as it is.
    package init(address: String, id: String, metadataWithPlacement metadata: [String: String]) {
        self.init(
            address: address, id: id, metadata: metadata, weight: metadata["weight"].flatMap { Int($0) },
            zone: metadata["zone"])
    }
}
