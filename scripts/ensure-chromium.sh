#!/usr/bin/env bash
# The dashboard test drives real headless Chromium through Playwright. Install Debian's chromium
# where it is missing. Where that is impossible, say so loudly; the test then skips with the same message.
set -u
if [ -x /usr/bin/chromium ]; then echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"; exit 0; fi
loud() { echo "!!! chromium: $* — the dashboard browser test will be SKIPPED" >&2; exit 0; }
command -v apt-get >/dev/null || loud "not installed, and no apt-get to install it"
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "chromium: installing Debian's chromium package"
${SUDO:-} apt-get update -qq >/dev/null 2>&1
DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq chromium >/dev/null 2>&1 || loud "apt-get install chromium failed"
[ -x /usr/bin/chromium ] || loud "installed, but /usr/bin/chromium is missing"
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
