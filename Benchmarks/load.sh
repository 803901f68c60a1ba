#!/bin/sh
# Load time and resident memory for a generated 1,000,000-record zone in
# meridian, knotd and nsd. See load.py --help for what is measured.
# Options are passed through, e.g.: Benchmarks/load.sh --records 200000 --repeat 3
exec python3 "$(dirname "$0")/load.py" "$@"
