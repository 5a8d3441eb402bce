#!/usr/bin/env bash
# Installs what the browser tests drive: Debian's chromium and chromium-driver (/usr/bin/chromium,
# /usr/bin/chromedriver) and a CJK font so the Chinese labels render in screenshots. No-op when present.
# Fails when it cannot install them, as the browser tests would: WXFUNNEL_SKIP_BROWSER=1 skips both instead.
set -euo pipefail

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

cannot_install() {
    if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
        echo "install-browser: $1; the screenshots may show boxes for Chinese text" >&2
        exit 0  # only the font is missing: the tests still run
    fi
    if [[ ${WXFUNNEL_SKIP_BROWSER:-} == 1 ]]; then
        echo "install-browser: $1; the browser tests are skipped (WXFUNNEL_SKIP_BROWSER=1)" >&2
        exit 0
    fi
    echo "install-browser: $1. Install them, or set WXFUNNEL_SKIP_BROWSER=1 to skip the browser tests." >&2
    exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
    cannot_install "${missing[*]} missing and apt-get is not available"
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        cannot_install "${missing[*]} missing; run as root: apt-get install -y ${missing[*]}"
    fi
fi

echo "install-browser: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq "${missing[@]}"; }; then
    cannot_install "could not install ${missing[*]}"
fi
