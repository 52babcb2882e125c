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
python3-cryptography python3-dnspython
prosody lua-unbound ejabberd
"
# prosody, lua-unbound, ejabberd: the federation end-to-end tests run them as our own processes
# (tests/e2e/federation.py) on random loopback ports; lua-unbound lets Prosody query the tests'
# DNS server on its random port. bench/compare.sh uses prosody and ejabberd too.

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
# The prosody and ejabberd packages start their system services from their maintainer scripts
# (through invoke-rc.d), which fails in a container without an init and would leave services on
# 5222/5269/5280 elsewhere. Nothing of ours uses them, so forbid service starts for the time of
# the install (policy-rc.d exit 101), unless the machine already has a policy of its own.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
fi
rc=0
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
if [ "$rc" -eq 0 ]; then
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing || rc=$?
fi
if [ "$made_policy" = 1 ]; then
    $SUDO rm -f /usr/sbin/policy-rc.d
fi
# Nor should they start at the next boot and take the XMPP ports from Starling: the services of
# the packages installed here are disabled (only where systemd runs; elsewhere nothing starts
# them).
if [ "$rc" -eq 0 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    for svc in prosody ejabberd; do
        case " $missing " in
            *" $svc "*) $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true ;;
        esac
    done
fi
exit "$rc"
