#!/bin/sh
# exec health check of the routing end-to-end tests: up (exit 0) when the file DIR/exec-DATACENTER
# says "up", down (exit 2, Nagios CRITICAL) otherwise. Contacts nothing.
state="$(cat "$1/exec-$2" 2>/dev/null)"
if [ "$state" = up ]; then echo "OK: $2 up"; exit 0; fi
echo "CRITICAL: $2 is '$state'"
exit 2
