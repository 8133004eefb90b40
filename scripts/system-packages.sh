#!/usr/bin/env bash
# Make sure the Debian/Ubuntu packages the kiosk needs are installed.
#   scripts/system-packages.sh run    what running the kiosk needs
#   scripts/system-packages.sh test   that plus what the test suite needs
# As root on Debian/Ubuntu, missing packages are installed; otherwise the exact
# apt-get line is printed and the script stops with status 1.
set -euo pipefail

run_packages=(
  libportaudio2     # sounddevice: the microphone
  libegl1           # Qt's OpenGL/EGL for the kiosk window
  libxcb-cursor0    # Qt's xcb platform plugin needs it since Qt 6.5
  libxcb-icccm4     # ... and these, or the window fails to open on X (seen under Xvfb)
  libxcb-keysyms1
  libxcb-image0
  libxcb-render-util0
  libxcb-randr0
  libxcb-shape0
  libxcb-xinerama0
  libxcb-xkb1
  libxkbcommon-x11-0
  libgl1
  libglib2.0-0
  libfontconfig1
  libdbus-1-3
  fonts-noto-core   # Devanagari (Hindi) and Latin text on the candidate screens
  espeak-ng         # the demo's scripted candidate speaks its sample answers
)
test_packages=(
  xvfb              # a real X server for the window tests
  sox
  chromium          # the HQ dashboard's browser tests (driven by Playwright)
  xdotool           # real clicks and typing in the window soak under Xvfb (bench/window_soak.py)
  x11-utils         # xwininfo: the window tests find the kiosk window on the X server
)

case "${1:-run}" in
  run) wanted=("${run_packages[@]}") ;;
  test) wanted=("${run_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-packages: not a Debian/Ubuntu system; install the equivalents of:" >&2
  echo "  ${wanted[*]}" >&2
  echo "then run this command again with SKIP_SYSTEM_PACKAGES=1." >&2
  [ "${SKIP_SYSTEM_PACKAGES:-}" = 1 ] && exit 0
  exit 1
fi

missing=()
for package in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "system-packages: the kiosk needs these system packages:" >&2
echo "  sudo $line" >&2
echo "Run that line, then this command again." >&2
exit 1
