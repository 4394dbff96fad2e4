#!/usr/bin/env bash
# Upgrades the installed binary in place, offline, and rolls back when the new version is not
# healthy: the new file is copied beside the old one and renamed over it (atomic: the path always
# holds one whole binary), the old one is kept as shopfloor-agent.previous, the service restarts,
# and /healthz must answer "status":"ok" within the timeout (60 s) or the previous binary is
# renamed back and the service restarted on it. The buffer (/var/lib/shopfloor-agent) and the
# config are not touched: samples not yet forwarded are sent by whichever version runs.
#
#   sudo ./upgrade.sh --binary ./shopfloor-agent-linux-arm64 [--health-url URL] [--health-timeout S]
#
# --accept-degraded counts an answering agent whose status is "degraded" (a machine switched off
# during the upgrade) as healthy. SFA_RESTART_CMD replaces `systemctl restart shopfloor-agent`.
set -euo pipefail

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINARY=""
HEALTH_URL=${SFA_HEALTH_URL:-http://127.0.0.1:8080/healthz}
HEALTH_TIMEOUT=${SFA_HEALTH_TIMEOUT:-60}
ACCEPT_DEGRADED=0
VERIFY=1
RESTART_CMD=${SFA_RESTART_CMD:-systemctl restart shopfloor-agent.service}

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BINARY=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --destdir) DESTDIR=$2; shift 2 ;;
    --health-url) HEALTH_URL=$2; shift 2 ;;
    --health-timeout) HEALTH_TIMEOUT=$2; shift 2 ;;
    --accept-degraded) ACCEPT_DEGRADED=1; shift ;;
    --no-verify) VERIFY=0; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "upgrade.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

die() { echo "upgrade.sh: $*" >&2; exit 1; }
log() { echo "upgrade.sh: $*"; }
[ -n "$BINARY" ] && [ -f "$BINARY" ] || die "--binary FILE is required and must exist"
bin="$DESTDIR$PREFIX/bin/shopfloor-agent"
[ -f "$bin" ] || die "nothing installed at $bin: run install.sh first"
if [ "$VERIFY" = 1 ]; then
  new_version=$("$BINARY" --version 2>/dev/null) || die "$BINARY does not run here (wrong architecture or damaged copy?)"
  log "new version $new_version"
fi

# GET the health URL; prints the body. curl when there is one, else bash's /dev/tcp (offline boxes
# often have neither curl nor wget).
fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 5 "$1"
    return
  fi
  local rest=${1#http://} hostport path host port
  hostport=${rest%%/*}
  path=/${rest#*/}
  host=${hostport%:*}
  port=${hostport##*:}
  [ "$port" = "$hostport" ] && port=80
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3
  local response
  response=$(timeout 5 cat <&3) || true
  exec 3<&-
  case "$response" in HTTP/1.?\ 200*) printf '%s' "${response#*$'\r\n\r\n'}" ;; *) return 1 ;; esac
}

healthy_within() {
  local deadline=$((SECONDS + $1)) body
  while [ $SECONDS -lt "$deadline" ]; do
    if body=$(fetch "$HEALTH_URL" 2>/dev/null); then
      case "$body" in
        *'"status":"ok"'*) return 0 ;;
        *'"status":"degraded"'*) [ "$ACCEPT_DEGRADED" = 1 ] && return 0 ;;
      esac
    fi
    sleep 1
  done
  return 1
}

# keep the running binary as .previous (a hard link: no copy, same file), then swap by rename
ln -f "$bin" "$bin.previous"
install -m 0755 "$BINARY" "$bin.new"
mv -f "$bin.new" "$bin"
log "binary replaced; restarting"
$RESTART_CMD || log "restart command failed"

if healthy_within "$HEALTH_TIMEOUT"; then
  log "healthy: upgrade done (the previous binary stays as $bin.previous)"
  exit 0
fi

log "not healthy within ${HEALTH_TIMEOUT}s at $HEALTH_URL: rolling back"
mv -f "$bin.previous" "$bin"
$RESTART_CMD || log "restart command failed"
if healthy_within "$HEALTH_TIMEOUT"; then
  log "rolled back: the previous version runs again"
else
  log "rolled back, but the previous version is not healthy either: see journalctl -u shopfloor-agent"
fi
exit 1
