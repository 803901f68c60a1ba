import IPNet
import CMaxMindDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The open libmaxminddb database: the only owner of C memory in this module. Closed on deinit.
///
/// `@unchecked Sendable`: after `MMDB_open` the `MMDB_s` is only read; libmaxminddb lookups on a
/// shared handle are thread-safe.
final class MaxMindHandle: @unchecked Sendable {
    let path: String
    let mmdb: UnsafeMutablePointer<MMDB_s>
    /// NULL-terminated `MMDB_aget_value` paths, built once (see `Field`).
    private let fieldPaths: [UnsafeMutablePointer<UnsafePointer<CChar>?>]

    /// The record fields a `GeoLocation` is read from (GeoLite2-City layout).
    enum Field: Int, CaseIterable {
        case latitude, longitude, country, continent, city

        var path: [String] {
            switch self {
            case .latitude: ["location", "latitude"]
            case .longitude: ["location", "longitude"]
            case .country: ["country", "iso_code"]
            case .continent: ["continent", "code"]
            case .city: ["city", "names", "en"]
            }
        }
    }

    init(path: String) throws(GeoIPError) {
        let mmdb = UnsafeMutablePointer<MMDB_s>.allocate(capacity: 1)
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), mmdb)
        guard status == MMDB_SUCCESS else {
            let ioReason = status == MMDB_IO_ERROR ? " (\(String(cString: strerror(errno))))" : ""
            mmdb.deallocate()
            throw GeoIPError(.open, "\(path): \(String(cString: MMDB_strerror(status)))\(ioReason)")
        }
        self.path = path
        self.mmdb = mmdb
        fieldPaths = Field.allCases.map { field in
            let components = field.path
            let array = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: components.count + 1)
            for (i, c) in components.enumerated() { array[i] = UnsafePointer(strdup(c)) }
            array[components.count] = nil
            return array
        }
    }

    deinit {
        for (field, array) in zip(Field.allCases, fieldPaths) {
            for i in field.path.indices { free(UnsafeMutableRawPointer(mutating: array[i])) }
            array.deallocate()
        }
        MMDB_close(mmdb)
        mmdb.deallocate()
    }

    /// Decodes the location fields of the data record at `entry`.
    func location(at entry: MMDB_entry_s) throws(GeoIPError) -> GeoLocation {
        var location = GeoLocation()
        location.latitude = try double(entry, .latitude)
        location.longitude = try double(entry, .longitude)
        location.countryCode = try string(entry, .country)?.uppercased()
        location.continentCode = try string(entry, .continent)?.uppercased()
        location.city = try string(entry, .city)
        if location.latitude == nil || location.longitude == nil {
            location.latitude = nil
            location.longitude = nil
        }
        return location
    }

    private func value(_ entry: MMDB_entry_s, _ field: Field) throws(GeoIPError) -> MMDB_entry_data_s? {
        var start = entry
        var data = MMDB_entry_data_s()
        let status = MMDB_aget_value(&start, &data, fieldPaths[field.rawValue])
        switch status {
        case MMDB_SUCCESS:
            return data.has_data ? data : nil
        case MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR, MMDB_INVALID_LOOKUP_PATH_ERROR:
            return nil  // e.g. `location` is not a map in this database's layout: no such field
        default:
            throw GeoIPError(
                .corrupt,
                "\(path): data record at offset \(entry.offset): \(field.path.joined(separator: ".")): "
                    + String(cString: MMDB_strerror(status)))
        }
    }

    private func double(_ entry: MMDB_entry_s, _ field: Field) throws(GeoIPError) -> Double? {
        guard let data = try value(entry, field) else { return nil }
        switch Int32(data.type) {
        case MMDB_DATA_TYPE_DOUBLE: return data.double_value
        case MMDB_DATA_TYPE_FLOAT: return Double(data.float_value)
        default: return nil
        }
    }

    /// libmaxminddb strings point into the mapped file and are not NUL-terminated.
    private func string(_ entry: MMDB_entry_s, _ field: Field) throws(GeoIPError) -> String? {
        guard let data = try value(entry, field), Int32(data.type) == MMDB_DATA_TYPE_UTF8_STRING,
            let base = data.utf8_string
        else { return nil }
        let bytes = UnsafeRawBufferPointer(start: base, count: Int(data.data_size))
        return String(decoding: bytes, as: UTF8.self)
    }
}
