import Foundation

/// The `main` of every fuzz executable. Built for fuzzing (`scripts/fuzz` passes `-DFUZZING` with
/// `--sanitize fuzzer`), it hands the command line to libFuzzer's driver; otherwise it replays the
/// files and directories named on the command line through the target once each, so a crash
/// reproducer can be run in a normal build.
public enum FuzzDriver {
    /// libFuzzer's entry: one input, 0 to go on.
    public typealias Entry = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// Runs `body`, stopping the process on a broken invariant so libFuzzer keeps the input.
    @inline(__always)
    public static func stopOnFailure(_ body: () throws(FuzzFailure) -> Void) {
        do { try body() } catch { fatalError("\(error)") }
    }

    public static func main(_ entry: Entry) -> Never {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, entry))
        #else
        let paths = CommandLine.arguments.dropFirst()
        guard !paths.isEmpty else {
            FileHandle.standardError.write(Data("usage: \(CommandLine.arguments[0]) FILE|DIRECTORY...\n(a build without -DFUZZING replays inputs; see docs/FUZZING.md)\n".utf8))
            exit(2)
        }
        var count = 0
        for input in paths.flatMap(inputFiles) {
            guard let data = FileManager.default.contents(atPath: input) else {
                FileHandle.standardError.write(Data("cannot read \(input)\n".utf8))
                exit(1)
            }
            _ = data.withUnsafeBytes { entry($0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count) }
            count += 1
        }
        print("replayed \(count) inputs")
        exit(0)
        #endif
    }

    /// `path` itself when it is a file, else the regular files directly in it, sorted.
    public static func inputFiles(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
    }
}

#if FUZZING
/// libFuzzer's driver (compiler-rt `FuzzerInterface.h`), linked in by `-sanitize=fuzzer`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: FuzzDriver.Entry
) -> CInt
#endif
