@testable import DNSServer
import Testing

/// The serial a reloaded zone starts with (`ServicePublication.startingSerial`): never behind the
/// one served, in RFC 1982 arithmetic.
@Suite struct StartingSerialTests {
    @Test func theFileWinsWhenAhead() {
        #expect(ServicePublication.startingSerial(file: 11, served: 10, unchanged: false) == 11)
        #expect(ServicePublication.startingSerial(file: 11, served: 10, unchanged: true) == 11)
        // Across the wrap: 5 is ahead of 0xFFFF_FFF0.
        #expect(ServicePublication.startingSerial(file: 5, served: 0xFFFF_FFF0, unchanged: false) == 5)
    }

    @Test func otherwiseTheServedSerialRaisedWhenTheContentChanged() {
        #expect(ServicePublication.startingSerial(file: 10, served: 12, unchanged: true) == 12)
        #expect(ServicePublication.startingSerial(file: 10, served: 12, unchanged: false) == 13)
        #expect(ServicePublication.startingSerial(file: 12, served: 12, unchanged: false) == 13)
        #expect(ServicePublication.startingSerial(file: 12, served: 12, unchanged: true) == 12)
        #expect(ServicePublication.startingSerial(file: 1, served: 0xFFFF_FFFF, unchanged: false) == 1)
        #expect(ServicePublication.startingSerial(file: 0xFFFF_FFF0, served: 5, unchanged: false) == 6)
        #expect(ServicePublication.startingSerial(file: 3, served: 0xFFFF_FFFF, unchanged: false) == 3)
    }
}
