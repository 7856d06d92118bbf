#!/usr/bin/env bash
# Refresh the pricing snapshots; safe to run from cron.
#
#   # every night at 03:15, logging to a file:
#   15 3 * * * /srv/gpucost/scripts/refresh_snapshots.sh >> /var/log/gpucost-refresh.log 2>&1
#
# Environment:
#   GPUCOST_BIN        the gpucost command (default: gpucost on PATH)
#   GPUCOST_OUT        snapshot folder (default: pricing_snapshots/ of this checkout),
#                      or a bucket the whole team reads: s3://bucket/prefix or
#                      gs://bucket/prefix (needs `pip install 'gpucost[remote]'`); planners
#                      then set GPUCOST_SNAPSHOTS to the same address
#   GPUCOST_PROVIDERS  e.g. "aws,gcp,azure" (default: all registered providers)
#   GPUCOST_COMMIT=1   commit the new snapshot files in this checkout (local GPUCOST_OUT)
# Credentials come from the usual places: AWS_PROFILE / AWS_* variables or an instance
# role for AWS (and for s3:// buckets); GOOGLE_APPLICATION_CREDENTIALS and
# GOOGLE_CLOUD_PROJECT for GCP (and gs:// buckets); LAMBDA_API_KEY for Lambda. Azure
# prices need none (AZURE_SUBSCRIPTION_ID + `gpucost[azure]` add hardware from the API).
#
#   # publish to a team bucket every night:
#   15 3 * * * GPUCOST_OUT=s3://acme-ml/gpucost /srv/gpucost/scripts/refresh_snapshots.sh
#
# Exit status: gpucost refresh's own (1 when a provider or region failed; what did
# succeed is still written, and failed parts keep their previous rows, marked stale).
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${GPUCOST_OUT:-$repo/pricing_snapshots}
bin=${GPUCOST_BIN:-gpucost}
args=(refresh --out "$out")
[ -n "${GPUCOST_PROVIDERS:-}" ] && args+=(--provider "$GPUCOST_PROVIDERS")

# One refresh at a time: a slow run must not overlap the next cron tick.
exec 9>"${TMPDIR:-/tmp}/gpucost-refresh.lock"
if ! flock -n 9; then
  echo "$(date -u +%FT%TZ) another refresh is running; skipping" >&2
  exit 0
fi

echo "$(date -u +%FT%TZ) gpucost ${args[*]}"
"$bin" "${args[@]}"
status=$?

case "$out" in s3://*|gs://*) exit "$status" ;; esac  # published to the bucket: no commit
if [ "${GPUCOST_COMMIT:-0}" = 1 ] && [ -n "$(git -C "$repo" status --porcelain -- "$out")" ]; then
  git -C "$repo" add -- "$out"
  git -C "$repo" commit -q -m "pricing snapshots: refresh $(date -u +%F)" -- "$out"
fi
exit "$status"
