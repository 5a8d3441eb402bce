#!/usr/bin/env bash
# Installs what the print-file tests decode QR codes with: Debian's zbar-tools (/usr/bin/zbarimg), so a printed PNG
# is read back by an independent decoder, not by the library that drew it. No-op when present.
# Fails when it cannot install it, as the tests would: WXFUNNEL_SKIP_QR_DECODER=1 skips both instead.
set -euo pipefail

if command -v zbarimg >/dev/null 2>&1; then
    exit 0
fi

cannot_install() {
    if [[ ${WXFUNNEL_SKIP_QR_DECODER:-} == 1 ]]; then
        echo "install-qr-decoder: $1; the decoding tests are skipped (WXFUNNEL_SKIP_QR_DECODER=1)" >&2
        exit 0
    fi
    echo "install-qr-decoder: $1. Install zbar-tools, or set WXFUNNEL_SKIP_QR_DECODER=1 to skip the decoding tests." >&2
    exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
    cannot_install "zbarimg is missing and apt-get is not available"
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        cannot_install "zbarimg is missing; run as root: apt-get install -y zbar-tools"
    fi
fi

echo "install-qr-decoder: installing zbar-tools"
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends zbar-tools; }; then
    cannot_install "could not install zbar-tools"
fi
