#!/bin/sh
# Installs every Debian 12 package that Starling's build, tests and tools need.
# Idempotent: packages already installed are skipped. Used by the README's commands and by CI.
set -eu

PACKAGES="
build-essential cmake ninja-build pkg-config git ccache
libboost1.81-dev libssl-dev libexpat1-dev libgsasl-dev libicu-dev libidn2-dev zlib1g-dev
libc-ares-dev libsqlite3-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev
nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
clang libclang-rt-14-dev
python3 python3-pytest python3-slixmpp python3-aioxmpp python3-openssl openssl
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "install-deps: installing:$missing" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
