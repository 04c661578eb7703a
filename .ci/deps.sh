#!/usr/bin/env bash
# Installs what building and testing posdisplay needs on Debian 12 / Ubuntu
# 24.04: the C libraries Fyne links, Xvfb for a real window, Chromium for
# browser tests, iproute2 for network namespaces, redis-server for the Redis
# feed tests, NSS tools (certutil) to make a browser trust a test CA, and the Go
# modules.
# Idempotent and quiet: it only calls apt when something is missing, and
# prints apt's full reason when that fails (packaging/apt.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(gcc make pkg-config git ca-certificates
  libgl1-mesa-dev libgles-dev libegl-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
  xvfb xauth imagemagick fonts-dejavu-core locales
  chromium libnss3-tools
  iproute2 procps curl
  redis-server)
. packaging/apt.sh
apt_ensure "${pkgs[@]}" || { echo "deps: could not install the build and test packages (apt's reason above)" >&2; exit 1; }
# Fyne wants a real UTF-8 locale (C.UTF-8 makes it log a locale error).
if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  $sudo locale-gen >/dev/null
fi

if ! command -v go >/dev/null; then
  echo "deps: Go is not on PATH (expected /usr/local/go/bin/go, Go >= 1.26)" >&2
  exit 1
fi
go mod download
