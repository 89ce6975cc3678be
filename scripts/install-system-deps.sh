#!/usr/bin/env bash
# Installs the Debian packages mccs uses outside node_modules. Safe to run again: it only calls apt
# when a package is missing.
#   janus       media server (audio/video calls); without it chat still works
#   janus-tools janus-pp-rec, turns recorded video (.mjr) into playable files
#   sip-tester  SIPp, drives the SIP bridge in tests
#   chromium    headless browser for end-to-end tests (puppeteer-core)
#   ffmpeg, sox, espeak-ng  generate and check test audio
#   iproute2    `ss`, to see which ports are in use
set -euo pipefail

PACKAGES=(janus janus-tools sip-tester chromium ffmpeg sox espeak-ng iproute2 kamailio)

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "error: not root and sudo is not installed; run this script as root" >&2
  exit 1
fi

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system packages already installed: ${PACKAGES[*]}"
  exit 0
fi

echo "installing: ${missing[*]}"
# Wait for another apt run to finish instead of failing on its lock.
APT=(apt-get -o DPkg::Lock::Timeout=600 -y --no-install-recommends)
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install "${missing[@]}"

for pkg in "${missing[@]}"; do
  installed "$pkg" || { echo "error: $pkg did not install" >&2; exit 1; }
done
echo "installed: ${missing[*]}"
