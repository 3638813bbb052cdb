#!/bin/sh
# Runs {{user}}'s app on this machine with nginx (Debian: apt-get install
# nginx-light; macOS: brew install nginx), next to `chaosctl up`, until
# Ctrl-C. Then: chaosctl run --target http://127.0.0.1:{{port}}
set -e
cd "$(dirname "$0")"
mkdir -p tmp
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "run-local.sh: nginx is not installed" >&2; exit 1; }
echo "{{user}}'s app on http://127.0.0.1:{{port}} (url-anvil at {{anvil}}); Ctrl-C stops it"
exec "$NGINX" -e tmp/error.log -p "$PWD/" -c nginx.local.conf
