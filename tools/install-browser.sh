#!/usr/bin/env bash
# Installs what the browser tests drive: Debian's chromium and chromium-driver (/usr/bin/chromium,
# /usr/bin/chromedriver) and a CJK font so the Chinese labels render in screenshots. No-op when present.
set -euo pipefail

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: ${missing[*]} missing and apt-get is not available; the browser tests will be skipped" >&2
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "install-browser: ${missing[*]} missing; run as root: apt-get install -y ${missing[*]}" \
             "(the browser tests are skipped until then)" >&2
        exit 0
    fi
fi

echo "install-browser: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq "${missing[@]}"; }; then
    echo "install-browser: could not install ${missing[*]}; the browser tests will be skipped" >&2
fi
