#!/usr/bin/env bash
# tests/nat/run.sh [pytest args...] — the NAT scenario matrix (docs/nat.md): every
# tests/nat/test_*.py, each a two-stream SIPREC call from SIPp with rtprec's media
# behind a lab of network namespaces, against RTPREC_BIN (default build/app/rtprec, as
# in tests/integration). Prints each scenario's line
#   Nx <name>: recorded A/B packets via <path>
# at the end; exits with pytest's status (non-zero when a scenario failed). Needs root,
# coturn, nftables, SIPp (sip-tester) and tshark; extra arguments go to pytest.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
REPORT=$(mktemp /tmp/rtprec-nat-matrix.XXXXXX)
trap 'rm -f "$REPORT"' EXIT

rc=0
RTPREC_NAT_REPORT=$REPORT /usr/bin/python3 -m pytest -p no:cacheprovider -ra tests/nat "$@" || rc=$?

echo "=== NAT matrix ($(grep -c . "$REPORT" || true) scenarios reported, pytest exit $rc)"
cat "$REPORT"
exit "$rc"
