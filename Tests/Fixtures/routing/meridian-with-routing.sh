#!/bin/sh
# Stands in for the meridian binary in the differential test (RoutingCheckTests): for
# `serve --config FILE` it appends a routing section (services at names that are in none of
# Knot's zones, no health checks, nothing probed) to the config, checks it with `meridian check`,
# records the final config in $ROUTING_DIFF_RECORD, and serves it. Differential.py itself is unchanged.
# MERIDIAN is the real binary.
set -eu
if [ "${1:-}" = serve ] && [ "${2:-}" = --config ]; then
    conf="$3"
    cat >>"$conf" <<'YAML'
datacenters:
  iad: { location: [38.95, -77.45], addresses: [192.0.2.1, "2001:db8:1::1"] }
  dub: { location: [53.35, -6.26], addresses: [198.51.100.2] }
services:
  routed-rr.example.org.: { policy: round-robin, datacenters: [iad, dub], ttl: 30 }
  routed-geo.example.net.: { policy: geo-nearest, datacenters: [iad, dub], ttl: 30 }
  routed-w.example.org.: { policy: weighted, datacenters: { iad: 2, dub: 1 } }
YAML
    "$MERIDIAN" check --config "$conf" >&2
    if [ -n "${ROUTING_DIFF_RECORD:-}" ]; then cp "$conf" "$ROUTING_DIFF_RECORD"; fi
fi
exec "$MERIDIAN" "$@"
