#!/usr/bin/env bash
# Installs what backprop-studio needs on a fresh Debian machine: the system libraries Qt 6 loads
# (and Xvfb, for running the window without a display), then the Python packages.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")"

QT_LIBS="libegl1 libgl1 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0
  libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0 libx11-xcb1 fonts-dejavu-core xvfb xauth"

if command -v apt-get >/dev/null 2>&1; then
  missing=$(for p in $QT_LIBS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    echo "install.sh: installing system libraries for Qt:" $missing
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

python -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "Running pip as the 'root' user" || true
python -c "import numpy, scipy, skimage, PyQt6.QtWidgets, pyqtgraph, HersheyFonts" \
  || { echo "install.sh: a dependency failed to import" >&2; exit 1; }
