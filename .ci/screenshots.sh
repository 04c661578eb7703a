#!/usr/bin/env bash
# make screenshots: renders every screen and state at 800x480, 1024x600,
# 1920x1080 and one portrait size (600x1024) with Fyne's test driver into
# screenshots/ (for review and the README).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(pwd)/screenshots"
mkdir -p "$out"
LANG=en_US.UTF-8 go test -count=1 -run '^TestScreenshots$' ./display -screenshots="$out"
echo "screenshots in $out:"
ls "$out" | head -50
