#!/bin/sh
# Creates Riposte's namespace and registers the search attributes its responses carry
# (ResponseStatus and IncidentId, Keywords, and ResponseTargets, a KeywordList:
# riposte/temporal_server.py SEARCH_ATTRIBUTES; tests/test_docker.py keeps the two the same).
# Safe to run again.
set -eu
namespace="${TEMPORAL_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do sleep 2; done
temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$namespace" \
    || temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$namespace" \
        --retention "${TEMPORAL_RETENTION:-720h}"
for attribute in ResponseStatus=Keyword ResponseTargets=KeywordList IncidentId=Keyword; do
    name="${attribute%%=*}"
    if ! temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" \
        --namespace "$namespace" | grep -q "$name"; then
        temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" \
            --namespace "$namespace" --name "$name" --type "${attribute#*=}"
    fi
done
