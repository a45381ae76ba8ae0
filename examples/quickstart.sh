#!/usr/bin/env bash
# zoo-vcs end to end, offline: track a model's weights, clone the repository elsewhere,
# restore the weights with `zoo-vcs checkout`, and prove they are byte-exact.
# The "weights host" is a loopback HTTP server started here (127.0.0.1 only).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(dirname "$here")
work=${ZOO_QUICKSTART_DIR:-$(mktemp -d)}
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; true; }
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A lab's download server, on loopback, holding the trained weights"
python "$here/tiny_net/make_weights.py" "$work/host/tiny_net.caffemodel" >/dev/null
python "$repo_root/tests/servers/http.py" --root "$work/host" > "$work/server.url" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/server.url" ] && break; sleep 0.05; done
url="$(cat "$work/server.url")/tiny_net.caffemodel"
echo "weights served at $url"

step "2. A model directory in a git repository"
git init -q "$work/zoo"
mkdir -p "$work/zoo/models"
cp -r "$here/tiny_net" "$work/zoo/models/tiny_net"
cp "$work/host/tiny_net.caffemodel" "$work/zoo/models/tiny_net/"
cd "$work/zoo"
zoo-vcs init models/tiny_net

step "3. Track the weights: pointer file, cache, .gitignore, readme sha1"
zoo-vcs add models/tiny_net/tiny_net.caffemodel --url "$url"
cat models/tiny_net/tiny_net.caffemodel.zoo
grep -E '^(caffemodel|caffemodel_url|sha1):' models/tiny_net/readme.md
git add -A && git -c user.name=quickstart -c user.email=quickstart@example.invalid commit -q -m "Tiny Net with tracked weights"
git ls-files models/tiny_net

step "4. Clone it elsewhere: the weights are not in git"
git clone -q "$work/zoo" "$work/clone"
cd "$work/clone"
zoo-vcs status || true

step "5. zoo-vcs checkout: download, SHA1-verify while streaming, place atomically"
zoo-vcs checkout
zoo-vcs status
zoo-vcs verify

step "6. The same from Python: zoo_vcs.fetch_model (no network: already verified)"
python "$here/fetch_model.py" "$work/clone/models/tiny_net"

step "7. Byte-exact?"
a=$(sha1sum < "$work/host/tiny_net.caffemodel" | cut -d' ' -f1)
b=$(sha1sum < "$work/clone/models/tiny_net/tiny_net.caffemodel" | cut -d' ' -f1)
echo "host:  $a"
echo "clone: $b"
[ "$a" = "$b" ] && echo "OK: the clone's weights are byte-exact"
