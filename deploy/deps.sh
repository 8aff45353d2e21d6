#!/bin/sh
# Installs the Debian packages eport-federation needs, only those missing.
# Idempotent and quiet when everything is present.
set -e
PKGS="build-essential pkg-config clang libzmq3-dev libmsgpack-dev libssl-dev libsodium-dev openssl \
libhiredis-dev libyaml-dev libjansson-dev libxml2-dev libmicrohttpd-dev libcurl4-openssl-dev \
libcmocka-dev redis-server redis-sentinel python3 python3-zmq python3-msgpack wrk \
chromium chromium-driver python3-selenium"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
