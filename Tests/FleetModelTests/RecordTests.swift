@testable import FleetModel
import Foundation
import HealthModel
import Testing

let web1 = AddressKey(datacenter: "fra", ip: "192.0.2.1", check: "web")
let web2 = AddressKey(datacenter: "ams", ip: "2001:db8::2", check: "web", target: "https://ams.example/health")

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct KeyTests {
    @Test func layout() throws {
        let keys = try FleetKeys(fleet: "prod")
        #expect(keys.prefix == "/prod/")
        #expect(keys.member("a1") == "/prod/members/a1")
        #expect(keys.verdicts("a1") == "/prod/verdicts/a1")
        #expect(keys.drain("fra") == "/prod/drains/fra")
        #expect(keys.config == "/prod/config")
        #expect(keys.parse(keys.member("a1")) == .member("a1"))
        #expect(keys.parse(keys.verdicts("b.2")) == .verdicts("b.2"))
        #expect(keys.parse(keys.drain("fra")) == .drain("fra"))
        #expect(keys.parse(keys.config) == .config)
    }

    @Test func keysOutsideTheLayoutParseAsNothing() throws {
        let keys = try FleetKeys(fleet: "prod")
        for key in ["/other/members/a", "/prod/members/", "/prod/members/a/b", "/prod/members/..", "/prod/elsewhere/a",
                    "/prod/config/x", "/prod/", "/prod", "/prod/members/\u{FFFD}", "/prod/verdicts/" + String(repeating: "x", count: 64)] {
            #expect(keys.parse(key) == nil, "\(key)")
        }
    }

    @Test func names() {
        for good in ["a", "prod-eu", "host_1.example", String(repeating: "x", count: 63)] { #expect(FleetKeys.isValidName(good), "\(good)") }
        for bad in ["", ".", "..", "a/b", "a b", "é", "a\nb", String(repeating: "x", count: 64)] { #expect(!FleetKeys.isValidName(bad), "\(bad)") }
        #expect(throws: FleetModelError.invalidName("a/b")) { try FleetKeys(fleet: "a/b") }
    }
}

@Suite struct CodecTests {
    @Test func memberRoundTrip() throws {
        let member = MemberRecord(instance: "a1", version: "1.4.0", configDigest: "sha256:abcd",
                                  zones: [ZoneStatus(name: "example.com.", serial: 2_026_120_101, lastReload: 1_764_600_000.5)],
                                  started: 1_764_590_000)
        #expect(try MemberRecord.decode(member.encoded()) == member)
        // A configuration that did not load here, and a record written before the field existed.
        var behind = member
        behind.configProblem = "revision 7: m.yaml:3: zones.file: cannot read other.zone"
        #expect(try MemberRecord.decode(behind.encoded()) == behind)
        let older = #"{"format":1,"record":{"instance":"a1","version":"1","configDigest":"d","zones":[],"started":1}}"#
        #expect(try MemberRecord.decode(Array(older.utf8)).configProblem == nil)
        let long = #"{"format":1,"record":{"instance":"a1","version":"1","configDigest":"d","zones":[],"started":1,"configProblem":""#
            + String(repeating: "x", count: 600) + #""}}"#
        #expect(throws: FleetModelError.self) { try MemberRecord.decode(Array(long.utf8)) }
        behind.configProblem = String(repeating: "y", count: 600)
        #expect(try MemberRecord.decode(behind.encoded()).configProblem?.utf8.count == fleetMaxTextBytes, "clipped on write")
    }

    @Test func largestTTLs() throws {
        var member = MemberRecord(instance: "a1", version: "1", configDigest: "d", zones: [], started: 1,
                                  largestTTLs: ["fra": 300, "ams": 30])
        #expect(try MemberRecord.decode(member.encoded()) == member)
        for bad in [#""largestTTLs":{"fra":2147483648}"#, #""largestTTLs":{"fra":-1}"#, #""largestTTLs":{"a/b":30}"#] {
            let text = #"{"format":1,"record":{"instance":"a1","version":"1","configDigest":"d","zones":[],"started":1,"# + bad + "}}"
            #expect(throws: FleetModelError.self, "\(bad)") { try MemberRecord.decode(Array(text.utf8)) }
        }
        // A drain is safe after the largest TTL any live instance serves for the data center.
        let keys = try FleetKeys(fleet: "prod")
        var snapshot = FleetSnapshot(keys: keys, revision: 1)
        snapshot.put(key: keys.member("a1"), value: member.encoded(), modRevision: 1)
        member.instance = "a2"
        member.largestTTLs = ["fra": 3600]
        snapshot.put(key: keys.member("a2"), value: member.encoded(), modRevision: 2)
        #expect(snapshot.largestTTL(for: "fra") == 3600 && snapshot.largestTTL(for: "ams") == 30 && snapshot.largestTTL(for: "lhr") == 0)
    }

    @Test func drainRoundTrip() throws {
        let drain = DrainRecord(datacenter: "fra", who: "alice@ops1", when: 1_764_600_000, why: "power work", safeAfter: 1_764_600_300)
        #expect(try DrainRecord.decode(drain.encoded()) == drain)
        let open = DrainRecord(datacenter: "fra", who: "bob", when: 1, why: "")
        #expect(try DrainRecord.decode(open.encoded()) == open)
    }

    @Test func verdictSetRoundTripIsStableBytes() throws {
        let set = VerdictSet(instance: "a1", published: 1_764_600_000, verdicts: [
            web1: Verdict(state: .up, since: 10, reason: "HTTP 200"),
            web2: Verdict(state: .down, since: 20, reason: "connection refused"),
        ])
        let (decoded, skipped) = try VerdictSet.decode(set.encoded())
        #expect(decoded == set)
        #expect(skipped.isEmpty)
        // The same set built in another order encodes to the same bytes.
        var other = VerdictSet(instance: "a1", published: 1_764_600_000, verdicts: [:])
        other.verdicts[web2] = set.verdicts[web2]
        other.verdicts[web1] = set.verdicts[web1]
        #expect(other.encoded() == set.encoded())
    }

    @Test func longTextIsCutOnWriteAndRefusedOnRead() throws {
        let long = String(repeating: "é", count: fleetMaxTextBytes)  // two bytes each
        let set = VerdictSet(instance: "a1", published: 1, verdicts: [web1: Verdict(state: .down, since: 1, reason: long)])
        let (decoded, skipped) = try VerdictSet.decode(set.encoded())
        let reason = try #require(decoded.verdicts[web1]?.reason)
        #expect(reason.utf8.count == fleetMaxTextBytes)
        #expect(long.hasPrefix(reason))
        #expect(skipped.isEmpty)
        let written = #"{"format":1,"instance":"a1","published":1,"verdicts":[{"datacenter":"fra","ip":"192.0.2.1","check":"web","state":"down","since":1,"reason":"\#(long)"}]}"#
        let (hostile, problems) = try VerdictSet.decode(bytes(written))
        #expect(hostile.verdicts.isEmpty)
        #expect(problems.count == 1 && problems[0].contains("longer than"))
    }
}

@Suite struct HostileRecordTests {
    @Test func recordsThatAreNotRecordsThrow() {
        let cases = [
            "", "not json", "[]", "null", "{}", #"{"format":2,"record":{}}"#, #"{"format":"1"}"#,
            #"{"format":1}"#, #"{"format":1,"record":{"instance":"a1"}}"#,
            #"{"format":1,"record":{"instance":"a/1","version":"1","configDigest":"d","zones":[],"started":1}}"#,
            #"{"format":1,"record":{"instance":"a1","version":1,"configDigest":"d","zones":[],"started":1}}"#,
            #"{"format":1,"record":{"instance":"a1","version":"1","configDigest":"d","zones":[],"started":-5}}"#,
            #"{"format":1,"record":{"instance":"a1","version":"1","configDigest":"d","zones":[{"name":"x.","serial":-1,"lastReload":1}],"started":1}}"#,
            #"{"format":1,"record":{"instance":"a1","version":"1","configDigest":"d","zones":[{"name":"x.","serial":4294967296,"lastReload":1}],"started":1}}"#,
            #"{"format":1,"record":{"instance":"a1","version":"1","configDigest":"d","zones":[{"name":"a b.","serial":1,"lastReload":1}],"started":1}}"#,
            #"{"format":1,"record":{"instance":"a1","version":"1","configDigest":"d","zones":[],"started":1e400}}"#,
            String(repeating: "[", count: 100_000),
        ]
        for text in cases {
            #expect(throws: FleetModelError.self, "\(text.prefix(80))") { try MemberRecord.decode(bytes(text)) }
        }
        #expect(throws: FleetModelError.self) { try DrainRecord.decode(bytes(#"{"format":1,"record":{"datacenter":"fra","who":"a","when":"now","why":""}}"#)) }
        #expect(throws: FleetModelError.self) { try DrainRecord.decode(bytes(#"{"format":1,"record":{"datacenter":"","who":"a","when":1,"why":""}}"#)) }
        #expect(throws: FleetModelError.self) { try VerdictSet.decode(bytes(#"{"format":1,"instance":"a1","published":1,"verdicts":{}}"#)) }
        #expect(throws: FleetModelError.self) { try VerdictSet.decode(bytes(#"{"format":1,"instance":"","published":1,"verdicts":[]}"#)) }
    }

    @Test func badVerdictsAreSkippedOneByOne() throws {
        let text = #"""
        {"format":1,"instance":"a1","published":1,"verdicts":[
          {"datacenter":"fra","ip":"192.0.2.1","check":"web","state":"up","since":5,"reason":"ok"},
          {"datacenter":"fra","ip":"192.0.2.2","check":"web","state":"drain","since":5,"reason":"x"},
          {"datacenter":"fra","ip":"192.0.2.3","check":"web","state":"sideways","since":5,"reason":"x"},
          {"datacenter":"fra","ip":"192.0.2.4","check":"web","state":"up","since":"yesterday","reason":"x"},
          {"datacenter":"f/ra","ip":"192.0.2.5","check":"web","state":"up","since":5,"reason":"x"},
          {"datacenter":"fra","ip":"","check":"web","state":"up","since":5,"reason":"x"},
          {"datacenter":"fra","ip":"192.0.2.1","check":"web","state":"down","since":6,"reason":"again"},
          42,
          {"datacenter":"ams","ip":"2001:db8::2","check":"web","target":"https://ams.example/health","state":"down","since":7,"reason":"timeout"}
        ]}
        """#
        let (set, skipped) = try VerdictSet.decode(bytes(text))
        #expect(set.verdicts == [web1: Verdict(state: .up, since: 5, reason: "ok"), web2: Verdict(state: .down, since: 7, reason: "timeout")])
        #expect(skipped.count == 7)
        #expect(skipped.contains { $0.hasPrefix("verdict 1:") && $0.contains("not up or down") })
        #expect(skipped.contains { $0.hasPrefix("verdict 6:") && $0.contains("second verdict") })
    }

    @Test func randomBytesNeverCrashAndAreReported() throws {
        let keys = try FleetKeys(fleet: "f")
        var generator = SystemRandomNumberGenerator()
        let good = MemberRecord(instance: "a", version: "1", configDigest: "d", zones: [], started: 1).encoded()
        var entries: [(key: String, value: [UInt8], modRevision: Int64)] = []
        for i in 0..<300 {
            // Half mutations of a good record, half noise.
            var value = i % 2 == 0 ? good : (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if i % 2 == 0, !value.isEmpty {
                for _ in 0..<3 { value[Int.random(in: 0..<value.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            }
            let key = [keys.member("a"), keys.verdicts("a"), keys.drain("a")][i % 3]
            entries.append((key, value, Int64(i + 1)))
            var snapshot = FleetSnapshot(keys: keys, revision: 0)
            snapshot.put(key: key, value: value, modRevision: Int64(i + 1))
            // Each write is either held as a record or reported, not both (but a verdict set held
            // with some entries skipped), never neither.
            let held = !snapshot.members.isEmpty || !snapshot.verdicts.isEmpty || !snapshot.drains.isEmpty
            let reported = snapshot.problems[key] != nil
            #expect(held || reported, "\(value)")
            if snapshot.verdicts.isEmpty { #expect(held != reported, "\(value)") }
        }
        _ = FleetSnapshot(keys: keys, entries: entries, revision: 300)
    }
}

@Suite struct SnapshotTests {
    let keys = try! FleetKeys(fleet: "f")

    func member(_ name: String) -> [UInt8] { MemberRecord(instance: name, version: "1", configDigest: "d", zones: [], started: 1).encoded() }

    @Test func recordsUnderTheWrongKeyOrOutsideTheLayoutAreReported() {
        let snapshot = FleetSnapshot(keys: keys, entries: [
            (keys.member("a"), member("a"), 2),
            (keys.member("b"), member("c"), 3),
            ("/f/unknown/x", bytes("{}"), 4),
            (keys.drain("fra"), DrainRecord(datacenter: "ams", who: "x", when: 1, why: "").encoded(), 5),
            (keys.verdicts("a"), VerdictSet(instance: "z", published: 1, verdicts: [:]).encoded(), 6),
            (keys.config, bytes("listen: []\n"), 7),
        ], revision: 9)
        #expect(snapshot.liveMembers == ["a"])
        #expect(snapshot.drains.isEmpty && snapshot.verdicts.isEmpty)
        #expect(Set(snapshot.problems.keys) == [keys.member("b"), "/f/unknown/x", keys.drain("fra"), keys.verdicts("a")])
        #expect(snapshot.problems[keys.member("b")]?.contains("instance c under the key of b") == true)
        #expect(snapshot.config == StoredConfig(text: bytes("listen: []\n"), modRevision: 7))
        #expect(snapshot.revision == 9)
    }

    @Test func putsAndDeletesKeepTheSnapshotCurrent() {
        var snapshot = FleetSnapshot(keys: keys, revision: 1)
        snapshot.put(key: keys.member("a"), value: member("a"), modRevision: 2)
        snapshot.put(key: keys.member("b"), value: member("b"), modRevision: 3)
        #expect(snapshot.liveMembers == ["a", "b"] && snapshot.revision == 3)
        // A bad rewrite drops what the key held: etcd no longer holds the good record.
        snapshot.put(key: keys.member("b"), value: bytes("garbage"), modRevision: 4)
        #expect(snapshot.liveMembers == ["a"])
        #expect(snapshot.problems[keys.member("b")] != nil)
        // Deleting the key clears its problem.
        snapshot.delete(key: keys.member("b"), modRevision: 5)
        #expect(snapshot.problems.isEmpty && snapshot.revision == 5)
        snapshot.delete(key: keys.member("a"), modRevision: 6)
        #expect(snapshot.liveMembers.isEmpty)
    }
}
