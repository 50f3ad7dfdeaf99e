#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkdeb.sh OUTDIR — the Debian packages (`make deb`): vssd-host (vssdctl),
# vssd-guest-tools (scmctl, scm-demo, the OCI hook), libscm1, libscm-dev and
# virtio-vssd-dkms, built with dpkg-buildpackage from a copy of the source
# (the packaging is debian/), then checked with lintian. The .deb files and
# lintian's report (lintian.txt) end up in OUTDIR.
set -euo pipefail

out=${1:?usage: mkdeb.sh OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src=$out/vssd-$version

for t in dpkg-buildpackage dh lintian; do
	command -v "$t" >/dev/null || { echo "mkdeb: $t missing (sh scripts/deps.sh)" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$src"
# the source without build outputs: what git tracks (or, outside git, the
# tree without build/)
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$top" ls-files -z --cached --others --exclude-standard |
		(cd "$top" && xargs -0 cp -a --parents -t "$src" 2>/dev/null || true)
else
	tar -C "$top" --exclude=./build -cf - . | tar -C "$src" -xf -
fi
(cd "$src" && dpkg-buildpackage -b -us -uc -j2) > "$out/build.log" 2>&1 ||
	{ tail -n 40 "$out/build.log" >&2; echo "mkdeb: dpkg-buildpackage failed (log: $out/build.log)" >&2; exit 1; }
changes=$(ls "$out"/vssd_"$version"_*.changes)
# --fail-on warning: anything lintian warns about fails the build
lintian --fail-on error,warning --no-tag-display-limit "$changes" > "$out/lintian.txt" 2>&1 || {
	cat "$out/lintian.txt" >&2
	echo "mkdeb: lintian found problems" >&2
	exit 1
}
cat "$out/lintian.txt"
ls -1 "$out"/*.deb
