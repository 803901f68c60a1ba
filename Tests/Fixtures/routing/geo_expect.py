#!/usr/bin/python3
"""What GeoLite2 says about ECS prefixes, for Tests/EndToEndTests/RoutingGeoTests.swift.

Reads the database with the python3-maxminddb module (Debian package), independently of meridian's
own libmaxminddb code, and computes the expected geo-nearest answer by haversine distance.

    geo_expect.py DB lookup DCS ADDR...        -> one JSON object per address
    geo_expect.py DB sound DCS UNLOC ADDR/LEN  -> whether every client in ADDR/LEN gets the same answer

DCS is a JSON object {"iad": [lat, lon], ...}; UNLOC the data center that clients without a
location get (the first of the unlocated order).
"""
import ipaddress
import json
import math
import random
import sys

import maxminddb


def haversine_km(a, b):
    r = 6371.0088
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def nearest(dcs, loc):
    d = sorted(((haversine_km(loc, c), name) for name, c in dcs.items()))
    return d[0][1], d


def answer(reader, dcs, unlocated, ip):
    rec, plen = reader.get_with_prefix_len(ip)
    loc = (rec or {}).get("location") or {}
    if "latitude" in loc and "longitude" in loc:
        return nearest(dcs, (loc["latitude"], loc["longitude"]))[0], plen, rec
    return unlocated, plen, rec


def lookup(reader, dcs, addrs):
    for a in addrs:
        rec, plen = reader.get_with_prefix_len(a)
        rec = rec or {}
        loc = rec.get("location") or {}
        out = {"address": a, "prefix": plen,
               "city": (rec.get("city") or {}).get("names", {}).get("en"),
               "country": (rec.get("country") or {}).get("iso_code"),
               "continent": (rec.get("continent") or {}).get("code")}
        if "latitude" in loc:
            out["location"] = [loc["latitude"], loc["longitude"]]
            best, ranked = nearest(dcs, out["location"])
            out["nearest"] = best
            out["distances_km"] = {n: round(d, 1) for d, n in ranked}
        print(json.dumps(out))


def sound(reader, dcs, unlocated, prefix, max_lookups=400000):
    """Walks the database networks covering `prefix` in address order; every one must give the same
    answer as the first. Falls back to 20000 random addresses when the walk would be too long."""
    net = ipaddress.ip_network(prefix, strict=False)
    bits = net.max_prefixlen
    first = int(net.network_address)
    last = int(net.broadcast_address)
    want, _, _ = answer(reader, dcs, unlocated, str(net.network_address))
    cur, n = first, 0
    make = ipaddress.IPv4Address if bits == 32 else ipaddress.IPv6Address
    while cur <= last and n < max_lookups:
        ip = str(make(cur))
        got, plen, _ = answer(reader, dcs, unlocated, ip)
        if got != want:
            print(json.dumps({"sound": False, "prefix": prefix, "want": want, "differs": ip, "got": got,
                              "network_prefix": plen, "walked": n}))
            return
        cur = (cur >> (bits - plen) << (bits - plen)) + (1 << (bits - plen))
        n += 1
    if cur <= last:  # too many networks: sample the rest
        rng = random.Random(7)
        for _ in range(20000):
            ip = str(make(rng.randint(cur, last)))
            got, plen, _ = answer(reader, dcs, unlocated, ip)
            if got != want:
                print(json.dumps({"sound": False, "prefix": prefix, "want": want, "differs": ip, "got": got,
                                  "network_prefix": plen, "walked": n, "sampled": True}))
                return
        print(json.dumps({"sound": True, "prefix": prefix, "answer": want, "walked": n, "sampled": True}))
        return
    print(json.dumps({"sound": True, "prefix": prefix, "answer": want, "walked": n, "sampled": False}))


def main():
    db, mode, dcs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    reader = maxminddb.open_database(db)
    if mode == "lookup":
        lookup(reader, dcs, sys.argv[4:])
    elif mode == "sound":
        sound(reader, dcs, sys.argv[4], sys.argv[5])
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
