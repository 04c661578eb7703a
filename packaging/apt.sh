# apt.sh: one way to install host packages for every posdisplay script
# (.ci/deps.sh, packaging/build-debs.sh, packaging/test-debs.sh). Source it.
#
#   apt_ensure PKG...      install the ones that are missing (host architecture only)
#   apt_update [APT-OPTS]  apt-get update, retried once after a pause when the
#                          mirror answers with a hash or size mismatch (mid-sync)
#
# apt's own output is kept in a log and printed in full when a step fails:
# never -qq, which hides the reason ("held broken packages" with no why).
# APT_NO_INSTALL=1 turns a missing package into an error instead.
# Foreign architectures are never installed here: cross builds use a sysroot
# (packaging/sysroot.sh), so the host's package set never ties a build to one
# architecture's index.

apt_note() { printf 'apt: %s\n' "$*" >&2; }

# apt_installed PKG: is the host package installed?
apt_installed() {
	dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null | grep -qx installed
}

# apt_run LOG CMD...: run CMD, its output into LOG; on failure print LOG.
apt_run() {
	local log=$1
	shift
	if "$@" >"$log" 2>&1; then return 0; fi
	apt_note "failed: $*"
	sed 's/^/  | /' "$log" >&2
	return 1
}

# apt_update [OPTS...]: apt-get update with OPTS. A mirror caught mid-sync
# answers some indexes with the wrong size or hash; apt-get update then
# exits 0 or 100 depending on the version and keeps the old or no index.
# Retry once after a pause; report what is still wrong, and go on with the
# indexes that did arrive (the install step says what is then missing).
apt_update() {
	local log try
	log=$(mktemp)
	for try in 1 2; do
		if apt-get "$@" update >"$log" 2>&1 && ! grep -qE '^(E:|W: Failed to fetch)' "$log"; then
			rm -f "$log"
			return 0
		fi
		if [ "$try" = 1 ] && grep -qiE 'hash sum mismatch|unexpected size|mirror sync in progress|Failed to fetch' "$log"; then
			apt_note "apt-get update: the mirror answered a mismatch (mid-sync?); retrying in ${APT_RETRY_PAUSE:-20} s"
			grep -E '^(E|W):' "$log" | sed 's/^/  | /' >&2
			sleep "${APT_RETRY_PAUSE:-20}"
			continue
		fi
		break
	done
	apt_note "apt-get update reported errors; going on with the indexes it got:"
	sed 's/^/  | /' "$log" >&2
	rm -f "$log"
	return 0
}

# apt_ensure PKG...: install the missing host packages.
apt_ensure() {
	local missing=() p sudo="" log
	for p in "$@"; do apt_installed "$p" || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ -n "${APT_NO_INSTALL:-}" ]; then
		apt_note "missing packages: ${missing[*]} (install them: apt-get install ${missing[*]})"
		return 1
	fi
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { apt_note "missing packages: ${missing[*]}; run as root or install sudo"; return 1; }
		sudo=sudo
	fi
	apt_note "installing ${missing[*]}"
	log=$(mktemp)
	# The lists may be absent (a fresh image) or older than a day: refresh.
	if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ] ||
		! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
		$sudo bash -c "$(declare -f apt_note apt_update); apt_update"
	fi
	if ! apt_run "$log" $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; then
		# A stale index can name files the mirror no longer has: refresh once.
		$sudo bash -c "$(declare -f apt_note apt_update); apt_update"
		if ! apt_run "$log" $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; then
			rm -f "$log"
			apt_note "could not install: ${missing[*]}"
			return 1
		fi
	fi
	rm -f "$log"
}

# host_uri PATTERN: the first URI in the host's apt sources matching PATTERN.
host_uri() {
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE '(https?|file)://[^ ]+' | grep -E "$1" | head -1
}

# debian_mirrors sets mirror and sec_mirror: PD_DEBIAN_MIRROR and
# PD_DEBIAN_SECURITY_MIRROR, else the host's own Debian mirrors, else
# deb.debian.org.
debian_mirrors() {
	mirror=${PD_DEBIAN_MIRROR:-$(host_uri '/debian/?$' || true)}
	mirror=${mirror:-http://deb.debian.org/debian}
	sec_mirror=${PD_DEBIAN_SECURITY_MIRROR:-$(host_uri '/debian-security/?$' || true)}
	sec_mirror=${sec_mirror:-http://deb.debian.org/debian-security}
}
