import FuzzHarness

/// libFuzzer's entry for target (f), `TransferTarget`.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzDriver.stopOnFailure { () throws(FuzzFailure) in try TransferTarget.run(UnsafeRawBufferPointer(start: data, count: size)) }
    return 0
}

@main enum Main {
    static func main() { FuzzDriver.main(testOneInput) }
}
