#!/usr/bin/env bash
# Packs the module as a host application would receive it (npm pack), installs the tarball into
# examples/host-app, and runs that application's e2e test against the Gupshup simulator and a real
# PostgreSQL (DATABASE_URL's server when set, an embedded one otherwise). Extra arguments go to jest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
example="$root/examples/host-app"
pack_dir="$(mktemp -d)"
trap 'rm -rf "$pack_dir"' EXIT

cd "$root"
# prepack builds dist/ when the sources changed since the last build.
tarball="$(npm pack --pack-destination "$pack_dir" --json | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>process.stdout.write(JSON.parse(s)[0].filename))')"
echo "packed $tarball"

cd "$example"
rm -rf node_modules/whatsapp-notify
npm install --no-audit --no-fund --no-save --no-package-lock "$pack_dir/$tarball"

cd "$root"
exec npx jest --config "$example/jest.config.js" "$@"
