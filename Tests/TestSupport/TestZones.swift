/// The zone the DNS tests serve (`example.test`), shared by the library and sdctl tests: SRV
/// records, and DNS-SD service types (`_http._tcp`, `_ipp._tcp`) with PTR, SRV and TXT records.
public enum TestZones {
    /// The number of SRV records of `_big._tcp.example.test`: too many for a UDP reply of 1232
    /// bytes, so the client must ask again over TCP.
    public static let bigCount = 70

    public static let example: String = {
        var zone = """
            $ORIGIN example.test.
            $TTL 60
            @ SOA ns admin 1 3600 600 86400 2
            @ NS ns
            ns A 127.0.0.1
            a A 127.0.0.1
            b AAAA ::1
            _x._tcp SRV 10 60 8080 a
            _x._tcp SRV 10 20 8081 b
            _x._tcp SRV 20 0 8082 c.other.test.
            _zero._tcp SRV 10 10 0 a
            _zero._tcp SRV 10 10 9000 b
            _none._tcp SRV 0 0 0 .
            _y._tcp.web SRV 1 1 7000 a
            _w._tcp 3 SRV 1 1 6000 a
            _http._tcp PTR web\\032one._http._tcp
            _http._tcp PTR second._http._tcp
            _http._tcp PTR nosrv._http._tcp
            web\\032one._http._tcp SRV 0 5 8080 a
            web\\032one._http._tcp TXT "path=/api" "Secure" "PATH=/ignored" "ttl=7"
            second._http._tcp SRV 0 0 8081 b
            second._http._tcp TXT ""
            nosrv._http._tcp TXT "x=1"
            _ipp._tcp 1 PTR printer._ipp._tcp
            printer._ipp._tcp 1 SRV 0 0 631 a
            printer._ipp._tcp 1 TXT "rp=queue"

            """
        for index in 0..<bigCount {
            zone += "_big._tcp SRV 1 1 \(9000 + index) instance-\(index)-with-a-rather-long-name\n"
        }
        return zone
    }()

    /// The instance addresses of `_big._tcp.example.test`.
    public static var bigAddresses: [String] {
        (0..<bigCount).map { "instance-\($0)-with-a-rather-long-name.example.test:\(9000 + $0)" }
    }
}
