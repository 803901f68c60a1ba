@testable import DNSServer
import ServerConfig
import Testing

/// The serial a zone is served with after what was served before (`ZoneVersion.servedSerial`):
/// never behind the one served, in RFC 1982 arithmetic, and one serial for one content.
@Suite struct StartingSerialTests {
    private func serial(file: UInt32, served: UInt32?, raised: Bool = false, same: Bool, _ policy: SerialPolicy = .keep) -> UInt32 {
        ZoneVersion.servedSerial(
            file: file, before: served.map { .init(serial: $0, raised: raised) }, sameContent: { same }, policy: policy,
            now: 1_800_000_000)
    }

    @Test func nothingServedBeforeIsTheFilesSerial() {
        #expect(serial(file: 7, served: nil, same: false) == 7)
        #expect(serial(file: 7, served: nil, same: false, .increment) == 7)
    }

    @Test func theFileWinsWhenAhead() {
        #expect(serial(file: 11, served: 10, same: false) == 11)
        #expect(serial(file: 11, served: 10, same: true) == 11)
        #expect(serial(file: 11, served: 10, raised: true, same: false, .increment) == 11)
        // Across the wrap: 5 is ahead of 0xFFFF_FFF0.
        #expect(serial(file: 5, served: 0xFFFF_FFF0, same: false) == 5)
    }

    @Test func theSameContentKeepsTheServedSerial() {
        #expect(serial(file: 10, served: 12, raised: true, same: true) == 12)
        #expect(serial(file: 12, served: 12, same: true) == 12)
        #expect(serial(file: 10, served: 12, raised: true, same: true, .unixtime) == 12)
    }

    @Test func keepServesTheFilesSerialForAnEditWithoutANewOneWhenNoRaiseOfOursIsServed() {
        // The edit is warned about at load (`ZoneVersion.check`); secondaries do not see it.
        #expect(serial(file: 12, served: 12, same: false) == 12)
    }

    @Test func otherwiseTheServedSerialIsRaised() {
        // A health raise of ours is served (12 over the file's 10): only a higher serial reaches secondaries.
        #expect(serial(file: 10, served: 12, raised: true, same: false) == 13)
        #expect(serial(file: 12, served: 12, raised: true, same: false) == 13)
        #expect(serial(file: 0xFFFF_FFF0, served: 5, raised: true, same: false) == 6)
        #expect(serial(file: 3, served: 0xFFFF_FFFF, raised: true, same: false) == 3)
        // The other policies raise their own way.
        #expect(serial(file: 12, served: 12, same: false, .increment) == 13)
        #expect(serial(file: 12, served: 12, same: false, .unixtime) == 1_800_000_000)
        #expect(serial(file: 12, served: 12, same: false, .dateserial) == 2027_01_15_00)
        // unixtime behind the served serial: one more than it (RFC 1982 never backwards).
        #expect(serial(file: 12, served: 1_900_000_000, same: false, .unixtime) == 1_900_000_001)
    }
}
