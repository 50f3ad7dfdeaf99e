# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# apt-trixie.sh — a private apt setup for Debian 13 (trixie), sourced by
# scripts/build-qemu.sh (QEMU 10.0's source, meson) and
# scripts/fetch-kernel.sh (the 6.12 guest kernel and its build root).
#
# The system's apt configuration is left alone: $VSSD_CACHE/apt-trixie/
# holds its own sources.list ("deb" and "deb-src" lines for trixie on the
# machine's mirror, signed by the debian-archive-keyring that Debian 12
# already has), its own lists and its own archive cache, passed to apt with
# -o Dir::Etc::... options.
#
#   apt_trixie ARGS...      apt-get with the private setup
#   apt_trixie_cache ARGS...  apt-cache with it
#   apt_trixie_update       (re)write sources.list, apt-get update
#   apt_trixie_ready        apt_trixie_update unless the lists exist
#   debian_mirror           the mirror: $DEBIAN_MIRROR, else the first URI
#                           of the system's Debian 12 sources
#
# Needs VSSD_CACHE set.

APT_TRIXIE=$VSSD_CACHE/apt-trixie

debian_mirror() {
	local uri
	if [ -n "${DEBIAN_MIRROR:-}" ]; then
		echo "$DEBIAN_MIRROR"
		return
	fi
	uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
		/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
	[ -n "$uri" ] || uri=$(sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\)[[:space:]]\{1,\}bookworm[[:space:]].*/\2/p' \
		/etc/apt/sources.list 2>/dev/null | head -n 1)
	echo "${uri:-http://deb.debian.org/debian}"
}

# The options shared by apt-get and apt-cache. Dir::State::status points at
# an empty file: the host's installed (Debian 12) packages must not take
# part in what trixie's apt resolves or shows.
apt_trixie_opts() {
	printf '%s\n' \
		-o "Dir::Etc::SourceList=$APT_TRIXIE/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o "Dir::State::Lists=$APT_TRIXIE/lists" \
		-o "Dir::State::status=$APT_TRIXIE/status" \
		-o "Dir::Cache=$APT_TRIXIE/cache" \
		-o APT::Sandbox::User=root
}

apt_trixie() {
	local opts
	mapfile -t opts < <(apt_trixie_opts)
	apt-get -q "${opts[@]}" "$@"
}

apt_trixie_cache() {
	local opts
	mapfile -t opts < <(apt_trixie_opts)
	apt-cache "${opts[@]}" "$@"
}

apt_trixie_update() {
	local mirror
	mirror=$(debian_mirror)
	mkdir -p "$APT_TRIXIE/lists/partial" "$APT_TRIXIE/cache/archives/partial"
	[ -f "$APT_TRIXIE/status" ] || : > "$APT_TRIXIE/status"
	cat > "$APT_TRIXIE/sources.list" <<-EOF
	deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main
	deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main
	EOF
	echo "apt-trixie: apt-get update for Debian 13 (trixie, $mirror) in $APT_TRIXIE"
	apt_trixie update >/dev/null
}

apt_trixie_ready() {
	mkdir -p "$APT_TRIXIE"
	[ -f "$APT_TRIXIE/status" ] || : > "$APT_TRIXIE/status"
	if [ ! -f "$APT_TRIXIE/sources.list" ] ||
		! ls "$APT_TRIXIE"/lists/*trixie*Packages* >/dev/null 2>&1; then
		apt_trixie_update
	fi
}
