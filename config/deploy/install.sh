#!/usr/bin/env bash
# Installs shopfloor-agent as a systemd service from files on this box (no network needed):
# the single-file binary, the hardened unit, a config and the credential files it references.
#
#   sudo ./install.sh --binary ./shopfloor-agent-linux-arm64 [--config ./agent.yaml]
#   sudo ./install.sh --upgrade --binary ./shopfloor-agent-linux-arm64     # see upgrade.sh
#   ./install.sh --destdir /tmp/root --binary ./x --no-systemctl           # staging (packages, tests)
#
# Layout (PREFIX defaults to /usr/local):
#   PREFIX/bin/shopfloor-agent                        the binary (0755)
#   /etc/systemd/system/shopfloor-agent.service       the unit (0644), ExecStart pointing at the binary
#   /etc/shopfloor-agent/agent.yaml                   the config (0644; kept when it exists)
#   /etc/shopfloor-agent/credentials/<name>           one secret each (0600, root; systemd passes them)
#   PREFIX/share/doc/shopfloor-agent/README.md        config/deploy/README.md
# The buffer lives in /var/lib/shopfloor-agent (systemd's StateDirectory): never touched here.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINARY=""
CONFIG=""
UPGRADE=0
SYSTEMCTL=auto
VERIFY=1
UNIT_DIR=/etc/systemd/system
CONF_DIR=/etc/shopfloor-agent
CREDENTIALS=(opcua-password mqtt-password upstream-password http-token)

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  echo "options: --binary FILE  --config FILE  --prefix DIR  --destdir DIR  --upgrade  --no-systemctl  --no-verify"
  echo "upgrade: --health-url URL  --health-timeout SECONDS  --accept-degraded  (see upgrade.sh)"
}

upgrade_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BINARY=$2; shift 2 ;;
    --config) CONFIG=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --destdir) DESTDIR=$2; shift 2 ;;
    --upgrade) UPGRADE=1; shift ;;
    --no-systemctl) SYSTEMCTL=no; shift ;;
    --no-verify) VERIFY=0; shift ;;
    --health-url|--health-timeout) upgrade_args+=("$1" "$2"); shift 2 ;;
    --accept-degraded) upgrade_args+=("$1"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

die() { echo "install.sh: $*" >&2; exit 1; }
[ -n "$BINARY" ] || die "--binary FILE is required (dist/shopfloor-agent-linux-x64 or -arm64)"
[ -f "$BINARY" ] || die "no such file: $BINARY"
case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path" ;; esac

if [ "$UPGRADE" = 1 ]; then
  exec "$here/upgrade.sh" --binary "$BINARY" --prefix "$PREFIX" ${DESTDIR:+--destdir "$DESTDIR"} ${upgrade_args[@]+"${upgrade_args[@]}"}
fi

# the binaries link against glibc 2.34 or newer (Debian 12 / Raspberry Pi OS Bookworm, Ubuntu 22.04+)
if [ -z "$DESTDIR" ] && command -v getconf >/dev/null 2>&1; then
  glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  if [ -n "$glibc" ] && [ "$(printf '%s\n2.34\n' "$glibc" | sort -V | head -1)" != "2.34" ]; then
    die "glibc $glibc is too old: shopfloor-agent needs 2.34 or newer (Debian 12, Ubuntu 22.04 or later)"
  fi
fi
# a binary for another architecture, or a truncated copy, is refused before anything is replaced
if [ "$VERIFY" = 1 ]; then
  "$BINARY" --version >/dev/null 2>&1 || die "$BINARY does not run here (wrong architecture or damaged copy?); --no-verify skips this check"
fi

root="$DESTDIR"
bin="$root$PREFIX/bin/shopfloor-agent"
install -d -m 0755 "$root$PREFIX/bin" "$root$UNIT_DIR" "$root$CONF_DIR" "$root$PREFIX/share/doc/shopfloor-agent"
install -d -m 0700 "$root$CONF_DIR/credentials"

# the binary: copied next to its place, then renamed over it (a reader sees the old or the new file)
install -m 0755 "$BINARY" "$bin.new"
mv -f "$bin.new" "$bin"

# the unit, pointing at the binary under PREFIX
sed -e "s#/usr/local/bin/shopfloor-agent#$PREFIX/bin/shopfloor-agent#g" \
    -e "s#/usr/local/share/doc/shopfloor-agent#$PREFIX/share/doc/shopfloor-agent#g" \
    "$here/shopfloor-agent.service" > "$root$UNIT_DIR/shopfloor-agent.service.new"
chmod 0644 "$root$UNIT_DIR/shopfloor-agent.service.new"
mv -f "$root$UNIT_DIR/shopfloor-agent.service.new" "$root$UNIT_DIR/shopfloor-agent.service"

# the config: an existing one is the plant's own and stays; a new one is put beside it
conf="$root$CONF_DIR/agent.yaml"
src_conf=${CONFIG:-$here/agent.yaml}
if [ -f "$conf" ]; then
  if [ -n "$CONFIG" ] && ! cmp -s "$CONFIG" "$conf"; then
    install -m 0644 "$CONFIG" "$conf.new"
    echo "kept $CONF_DIR/agent.yaml; the given config is in agent.yaml.new"
  fi
else
  install -m 0644 "$src_conf" "$conf"
fi

# LoadCredential= needs each file to exist: empty ones until the plant's secrets are written in
for c in "${CREDENTIALS[@]}"; do
  [ -e "$root$CONF_DIR/credentials/$c" ] || install -m 0600 /dev/null "$root$CONF_DIR/credentials/$c"
done

install -m 0644 "$here/README.md" "$root$PREFIX/share/doc/shopfloor-agent/README.md"

if [ "$SYSTEMCTL" = auto ] && [ -z "$DESTDIR" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now shopfloor-agent.service
  echo "shopfloor-agent installed and started: journalctl -u shopfloor-agent -f"
else
  echo "shopfloor-agent installed into ${DESTDIR:-/} (service not started)"
fi
