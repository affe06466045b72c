#!/usr/bin/env bash
# A local base image with this machine's own node (what `make images` builds on when no image
# can be pulled): buildah from scratch, then node and the libraries it links, npm and corepack,
# busybox (with /usr/bin/env and /bin/sh), a minimal passwd/group and /tmp.
# Usage: node-base.sh <image name>   (podman's CONTAINERS_CONF / CONTAINERS_STORAGE_CONF from the caller)
set -euo pipefail
name=${1:?usage: node-base.sh <image name>}
node_bin=$(readlink -f "$(command -v node)")
busybox=$(command -v busybox || echo /bin/busybox)
[ -x "$busybox" ] || { echo "busybox-static is missing (apt-get install busybox-static)" >&2; exit 1; }

ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
root=$(buildah mount "$ctr")

mkdir -p "$root"/{usr/bin,usr/lib,bin,etc,tmp}
chmod 1777 "$root/tmp"
cp -a "$node_bin" "$root/usr/bin/node"
# The dynamic loader and each library node links, at their own paths.
for lib in $(ldd "$node_bin" | grep -oE '/[^ ]+'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -aL "$lib" "$root$lib"
done
[ -d /usr/lib/node_modules ] && cp -a /usr/lib/node_modules "$root/usr/lib/"
[ -e /usr/lib/node_modules/npm/bin/npm-cli.js ] && ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -s ../../bin/busybox "$root/usr/bin/env"
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
node:x:1000:
nogroup:x:65534:
GROUP
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"

buildah config --env PATH=/usr/local/bin:/usr/bin:/bin --env "NODE_VERSION=$("$node_bin" -p process.versions.node)" --cmd '["node"]' "$ctr"
buildah umount "$ctr" >/dev/null
buildah commit --quiet --rm "$ctr" "$name" >/dev/null
trap - EXIT
echo "$name"
