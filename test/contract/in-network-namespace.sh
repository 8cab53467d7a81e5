#!/usr/bin/env bash
# Runs a command in a network namespace of its own, where only the loopback interface exists (up): whatever it sends
# elsewhere fails at once (ENETUNREACH). The contract test's fuzzer creates webhooks with URLs of its choosing and
# pings them; here those deliveries reach no address but 127.0.0.1 and ::1. Needs util-linux's unshare (an
# unprivileged user namespace maps the caller to root inside it) and iproute2's ip.
set -euo pipefail
command -v unshare >/dev/null 2>&1 || { echo 'in-network-namespace: unshare (util-linux) is missing' >&2; exit 2; }
command -v ip >/dev/null 2>&1 || { echo 'in-network-namespace: ip (iproute2) is missing' >&2; exit 2; }
exec unshare --net --map-root-user -- bash -c 'ip link set lo up && exec "$@"' in-network-namespace "$@"
