// swift-tools-version:6.1
import Foundation
import PackageDescription

// The in-process query-path harness (Benchmarks/README.md, "Instructions per query (callgrind)"):
// a package of its own, so the main package and CI's build of it are unchanged. It depends on the
// repository's package by path; SwiftPM names a path dependency after its directory, so the
// package name used below is that directory's name (wt-bench, main, …), whatever the checkout is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL
let meridian = root.lastPathComponent.lowercased()

let package = Package(
    name: "QueryPath",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        // CALLGRIND_START/STOP_INSTRUMENTATION around the measured passes (no-ops outside valgrind).
        .target(name: "CCallgrind"),
        .executableTarget(
            name: "querybench",
            dependencies: ["CCallgrind", .product(name: "MeridianQueryPath", package: meridian)]),
    ]
)
