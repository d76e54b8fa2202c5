#!/usr/bin/env bash
# The Debian packages some tests drive besides Node.js: nginx (the scaled deployment's reverse
# proxy), chromium (the dashboard's browser tests) and postgresql's programs (a streaming replica). Installs the missing ones when it can
# (root with apt-get); otherwise says what to install and leaves the tests to say what they lack.
set -euo pipefail

missing=()
if ! [ -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null 2>&1; then missing+=(nginx); fi
if ! [ -x /usr/bin/chromium ]; then missing+=(chromium); fi
# pg_basebackup, for a streaming replica (the embedded PostgreSQL package has none).
if ! ls /usr/lib/postgresql/*/bin/pg_basebackup >/dev/null 2>&1; then missing+=(postgresql); fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (Debian packages the tests use)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "warning: the tests need these Debian packages, which are not installed: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
fi
