#!/bin/sh
# The image's entry point: run one `riposte` command (worker, serve, emulator, doctor, ...).
#
# When the tenant's CA bundle is a file that another container writes (the demo's emulator
# writes its CA when it starts), wait up to a minute for it, since the SDK clients read it once.
set -eu
if [ -n "${RIPOSTE_TENANT__CA_BUNDLE:-}" ]; then
    waited=0
    while [ ! -s "$RIPOSTE_TENANT__CA_BUNDLE" ] && [ "$waited" -lt 60 ]; do
        [ "$waited" -eq 0 ] && echo "waiting for the tenant CA bundle $RIPOSTE_TENANT__CA_BUNDLE" >&2
        sleep 1
        waited=$((waited + 1))
    done
fi
exec riposte "$@"
