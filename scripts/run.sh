#!/bin/sh
# Builds Starling (release) and starts it in the foreground. With no arguments it runs on the
# built-in defaults: serves `localhost` on 127.0.0.1:5222 (STARTTLS) and :5223 (direct TLS),
# servers on 127.0.0.1:5269 and :5270, with a self-signed certificate and a SQLite database in ./data. Arguments go to `starling`
# (e.g. --config starling.toml).
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTARLING_TESTS=OFF >/dev/null
ninja -C build starling starlingctl
exec ./build/src/app/starling "$@"
