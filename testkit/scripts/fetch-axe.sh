#!/usr/bin/env bash
# Brings axe-core (the accessibility rules the browser tests run) from the
# npm registry into a cache outside the repository, checks it against the
# registry's published digest, and prints the path of axe.min.js.
# Nothing of it is committed: the tests read it from CHAOS_AXE_JS or from
# this cache.
set -euo pipefail
version=4.14.1
integrity=sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==
dir="${XDG_CACHE_HOME:-$HOME/.cache}/chaos-tests/axe-core-$version"
js="$dir/package/axe.min.js"
if [ ! -s "$js" ]; then
    mkdir -p "$dir"
    tgz="$dir/axe-core-$version.tgz"
    curl -fsSL --retry 3 -o "$tgz" "https://registry.npmjs.org/axe-core/-/axe-core-$version.tgz"
    got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    if [ "$got" != "$integrity" ]; then
        echo "fetch-axe: axe-core-$version.tgz does not match the registry's digest" >&2
        rm -f "$tgz"
        exit 1
    fi
    tar -xzf "$tgz" -C "$dir" package/axe.min.js package/LICENSE
    rm -f "$tgz"
fi
echo "$js"
