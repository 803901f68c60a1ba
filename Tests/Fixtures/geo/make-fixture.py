#!/usr/bin/env python3
"""Writes test-city.mmdb: a small GeoLite2-City-shaped MaxMind DB for the GeoIP tests.

Made with the PyPI package mmdb-writer (`pip install mmdb-writer`), an IPv6 tree with IPv4
networks under ::/96 as GeoLite2 has them. Run from anywhere:

    python3 Tests/Fixtures/geo/make-fixture.py

Tests/GeoIPTests/FixtureData.swift lists the same networks; change both together.
"""
import os

from mmdb_writer import MMDBWriter, MmdbF64
from netaddr import IPSet


def city(name, lat, lon, country, continent):
    return {
        "city": {"names": {"en": name}},
        "location": {"latitude": MmdbF64(lat), "longitude": MmdbF64(lon)},
        "country": {"iso_code": country},
        "continent": {"code": continent},
    }


TOKYO = city("Tokyo", 35.6895, 139.6917, "JP", "AS")
DUBLIN = city("Dublin", 53.3331, -6.2489, "IE", "EU")
SAO_PAULO = city("São Paulo", -23.5475, -46.6361, "BR", "SA")
FRANKFURT = city("Frankfurt am Main", 50.1155, 8.6842, "DE", "EU")
ASHBURN = city("Ashburn", 39.0437, -77.4875, "US", "NA")
# A record with a country and continent but no coordinates or city, as GeoLite2 has many.
EUROPE_ONLY = {"country": {"iso_code": "EU"}, "continent": {"code": "EU"}}

NETWORKS = [
    # Documentation prefixes (RFC 5737, RFC 3849).
    ("192.0.2.0/24", TOKYO),
    ("198.51.100.0/25", DUBLIN),
    ("198.51.100.128/25", DUBLIN),
    ("203.0.113.0/24", SAO_PAULO),
    ("198.18.0.0/15", EUROPE_ONLY),
    ("2001:db8::/32", FRANKFURT),
    ("2001:db8:1::/48", TOKYO),  # inside the /32: the writer splits the /32 around it
    # Real public prefixes of cloud regions in those cities.
    ("13.112.0.0/14", TOKYO),
    ("34.240.0.0/13", DUBLIN),
    ("177.71.128.0/17", SAO_PAULO),
    ("3.120.0.0/14", FRANKFURT),
    ("3.80.0.0/12", ASHBURN),
    ("2406:da14::/32", TOKYO),
    ("2a05:d018::/33", DUBLIN),
    ("2600:1f1e::/36", SAO_PAULO),
    ("2a05:d014::/35", FRANKFURT),
    ("2600:1f18::/33", ASHBURN),
]


def main():
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="Meridian-Test-City",
        languages=["en"],
        description={"en": "Meridian GeoIP test fixture"},
    )
    for prefix, record in NETWORKS:
        writer.insert_network(IPSet([prefix]), record)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-city.mmdb")
    writer.to_db_file(out)
    print(out)


if __name__ == "__main__":
    main()
