import DNSWire
import DNSZone
import Foundation
import FuzzHarness
import FuzzHarnessTCP
import Testing
import ZoneFile

/// Every fuzz corpus and crash reproducer (Fuzz/corpus/<target>/, Fuzz/regressions/<target>/)
/// replayed through its target in the normal build: the same code libFuzzer runs
/// (Fuzz/Sources/FuzzHarness), with the same invariant checks on every response. docs/FUZZING.md
/// says how the inputs are made.
@Suite struct FuzzRegressionTests {
    typealias Run = (UnsafeRawBufferPointer) throws(FuzzFailure) -> Void

    static var targets: [(name: String, run: Run)] {
        [
            (QueryTarget.name, QueryTarget.run),
            (ZoneTarget.name, ZoneTarget.run),
            (ZoneFileTarget.name, ZoneFileTarget.run),
            (ConfigTarget.name, ConfigTarget.run),
            (TCPFramingTarget.name, TCPFramingTarget.run),
            (TransferTarget.name, TransferTarget.run),
            (FleetTarget.name, FleetTarget.run),
        ]
    }

    static func inputs(_ target: String, in kind: String) -> [String] {
        let directory = FuzzFixture.root + "/Fuzz/\(kind)/\(target)"
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return FuzzDriver.inputFiles(directory)
    }

    @Test(arguments: targets.map(\.name))
    func corpusAndRegressionsReplayCleanly(_ target: String) throws {
        let run = try #require(Self.targets.first { $0.name == target }?.run)
        let corpus = Self.inputs(target, in: "corpus")
        let regressions = Self.inputs(target, in: "regressions")
        // The seeds are committed (Fuzz/make-seeds.py); an empty corpus means a broken checkout or path.
        #expect(corpus.count > 0, "no corpus for \(target)")
        var failures: [String] = []
        for path in corpus + regressions {
            let data = try #require(FileManager.default.contents(atPath: path), "cannot read \(path)")
            let result = data.withUnsafeBytes { bytes in Result { () throws(FuzzFailure) in try run(bytes) } }
            if case .failure(let failure) = result { failures.append("\(path): \(failure)") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(corpus.count + regressions.count) inputs broke an invariant:\n\(failures.prefix(5).joined(separator: "\n"))")
    }

    /// The checks themselves can fail: a response cut short, one with another ID, and one over the
    /// UDP limit are each reported.
    @Test func responseChecksRejectBrokenResponses() throws {
        let query = Message.query(id: 0x4242, name: try DNSName("www.example.org."), type: .a)
        let good = try ResponseCheck.answer(FuzzFixture.engines[0], query, target: "t")
        let n = good.count
        #expect(n > Header.size)
        #expect(throws: FuzzFailure.self) { try ResponseCheck.verify(response: Array(good.prefix(n - 1)), to: query, limit: 512, target: "t") }
        var otherID = good
        otherID[1] ^= 1
        #expect(throws: FuzzFailure.self) { try ResponseCheck.verify(response: otherID, to: query, limit: 512, target: "t") }
        #expect(throws: FuzzFailure.self) { try ResponseCheck.verify(response: good, to: query, limit: n - 1, target: "t") }
        try ResponseCheck.verify(response: good, to: query, limit: 512, target: "t")
    }

    /// Finding F1 (docs/FUZZING.md): RDATA in RFC 3597 form that is not the names of its type made
    /// the query path read past it. The zone reader refuses each such record, with its line.
    @Test func f1MalformedNamesInRFC3597RDataAreRefused() throws {
        let path = FuzzFixture.root + "/Fuzz/regressions/zonefile/f1-malformed-names.zone"
        let error = try #require(throws: ZoneFileErrors.self) { try ZoneFile.load(origin: try DNSName("example."), path: path) }
        #expect(error.errors.map(\.code) == Array(repeating: .badRData, count: 6), "\(error)")
        #expect(error.errors.compactMap(\.location?.line) == Array(10...15), "\(error)")
    }
}
