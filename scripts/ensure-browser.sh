#!/usr/bin/env bash
# Install Debian's Chromium for the console's browser tests, unless present.
# Playwright drives this build; it never downloads a browser of its own.
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
    apt-get update -q
    apt-get install -y -q chromium
fi
