#!/usr/bin/env sh
# Debian's Chromium for the browser tests (tests/test_browser.py), installed once; never a
# browser download. Also a CJK font, so that screenshots of Chinese text are readable.
# Without apt-get or root it does nothing: the browser tests then skip and say why.
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: apt-get not found; browser tests will be skipped (install Chromium at /usr/bin/chromium)"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install_browser: not root; browser tests will be skipped (run: sudo apt-get install chromium fonts-noto-cjk)"
    exit 0
fi
echo "install_browser: installing Debian's chromium and fonts-noto-cjk"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null \
    || echo "install_browser: apt-get install failed; browser tests will be skipped"
