#!/usr/bin/env bash
# Installs what ovnkube-trace needs on Debian (bookworm): OVS/OVN from Debian's packages (the real
# engines the lab runs and the tool drives), kubectl (Debian's kubernetes-client: the tests check that
# the test Kubernetes API server serves a real kubectl), zsh and fish (the completion scripts are run in
# them), chromium (the HTML reports are opened in it, headless, by puppeteer-core) and the npm dependencies.
# Starts no service.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(openvswitch-switch openvswitch-common ovn-central ovn-host ovn-common python3-openvswitch python3-netaddr iproute2
  kubernetes-client zsh fish chromium)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
  # kubernetes-client ships /usr/bin/kubectl: a kubectl that is already there (e.g. the Google Cloud SDK's
  # "kubectl" package, which owns that same path) does as well, and dpkg would refuse to overwrite it.
  [[ $p == kubernetes-client ]] && command -v kubectl >/dev/null && continue
  missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  # policy-rc.d / no systemd: the packages' services are not started, and the lab never uses them.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
npm ci --no-audit --no-fund --loglevel=error
