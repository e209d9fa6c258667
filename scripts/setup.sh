# Sourced by ./dev: installs what is missing, idempotently and quietly when nothing is.
# System: PostgreSQL server + PostGIS (Debian/Ubuntu packages), python3-venv,
#         Chromium + a CJK font (the browser tests drive Debian's chromium; no browser download).
# Python: a .venv with the project and its dev extras, at the versions of requirements.lock.
# Web:    nothing: the built MapLibre GL JS is committed in jurisgrid/web/static/vendor/ (so a plain
#         `pip install` serves a working map). `update_web` (./dev web) rebuilds it from npm.

_sudo() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root (or sudo) to install: $*" >&2; return 1; fi; }

_apt_updated=""
_apt_install() {
  command -v apt-get >/dev/null || { echo "no apt-get: install $* yourself" >&2; return 1; }
  [ -n "$_apt_updated" ] || { _sudo apt-get update -qq; _apt_updated=1; }
  echo "installing system packages: $*" >&2
  _sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

_pg_version() {  # newest installed PostgreSQL server major version, or empty
  # (no folder yet on a fresh machine: under `set -e -o pipefail` the failing ls must not end setup)
  { ls /usr/lib/postgresql 2>/dev/null || true; } | sort -n | tail -n 1
}

setup_system() {
  local v
  v="$(_pg_version)"
  if [ -z "$v" ] || [ ! -x "/usr/lib/postgresql/$v/bin/initdb" ]; then
    _apt_install postgresql postgresql-contrib
    v="$(_pg_version)"
  fi
  if [ ! -f "/usr/share/postgresql/$v/extension/postgis.control" ]; then
    _apt_install "postgresql-$v-postgis-3"
  fi
  command -v python3 >/dev/null || _apt_install python3
  if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "jurisgrid needs Python 3.11 or newer (python3 is $(python3 -V 2>&1))" >&2; return 1
  fi
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    _apt_install python3-venv
  fi
  if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] \
     || ! /sbin/ldconfig -p | grep 'libatomic\.so\.1' > /dev/null; then
    # only the browser tests need these (libatomic1: Playwright's bundled node driver; Ubuntu
    # ships chromium as a snap): without chromium they are skipped, each saying why
    _apt_install chromium fonts-wqy-zenhei libatomic1 \
      || echo "chromium could not be installed: the browser tests will be skipped" >&2
  fi
}

setup_python() {
  local stamp
  stamp=".venv/.installed-$(cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)"
  [ -f "$stamp" ] && return 0
  [ -x .venv/bin/python ] || python3 -m venv .venv
  echo "installing Python packages into .venv (versions of requirements.lock)" >&2
  .venv/bin/python -m pip install -q --upgrade pip >&2
  # the lock as constraints: the same versions on every machine (regenerate: ./dev lock)
  .venv/bin/python -m pip install -q -c requirements.lock -e ".[dev]" >&2
  rm -f .venv/.installed-*; touch "$stamp"
}

update_web() {  # rebuild the committed MapLibre GL JS from npm (web/package-lock.json); commit the result
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    _apt_install nodejs npm
  fi
  (cd web && npm ci --no-audit --no-fund --loglevel=error >&2 && npm run --silent build >&2)
}

setup() { setup_system; setup_python; }
