/// Where an address is, as far as a GeoIP record or a configured network says.
public struct GeoLocation: Hashable, Sendable {
    /// Degrees north, −90…90; nil when the record has no coordinates.
    public var latitude: Double?
    /// Degrees east, −180…180; nil when the record has no coordinates.
    public var longitude: Double?
    /// ISO 3166-1 alpha-2 country code, upper case (`"JP"`).
    public var countryCode: String?
    /// Continent code, upper case (`"EU"`, `"NA"`, …).
    public var continentCode: String?
    /// City name in English.
    public var city: String?

    public init(
        latitude: Double? = nil, longitude: Double? = nil,
        countryCode: String? = nil, continentCode: String? = nil, city: String? = nil
    ) {
        self.latitude = latitude
        self.longitude = longitude
        self.countryCode = countryCode?.uppercased()
        self.continentCode = continentCode?.uppercased()
        self.city = city
    }
}
