#!/usr/bin/env bash
# Installs what building (`build`) or testing (`test`) sts needs, skipping what is present.
# Debian/Ubuntu: apt-get (via sudo when not root); Python and npm packages for the test peers.
set -euo pipefail
mode=${1:-build}
cd "$(dirname "$0")/.."

build_pkgs=(pkg-config libxml2-dev libxmlsec1-dev libxmlsec1-openssl libssl-dev libclang-dev)
# postgresql: the throwaway servers of the store tests (store::testpg runs its initdb and pg_ctl).
# slapd, ldap-utils: the throwaway directories of the LDAP tests (identity::testldap).
# zsh, fish, groff-base, systemd, binutils: tests/it/packaging.rs checks the generated completions
# (zsh -n, fish --no-execute), man pages (groff), the systemd unit (systemd-analyze) and the
# libraries the binary links (objdump).
test_pkgs=(xmlsec1 python3 python3-pip nodejs npm postgresql slapd ldap-utils zsh fish groff-base systemd binutils)
# chromium, chromium-driver: the admin console's browser tests (tests/it/console.rs, selenium).
test_pkgs+=(chromium chromium-driver)

missing=()
want=("${build_pkgs[@]}")
[ "$mode" = test ] && want+=("${test_pkgs[@]}")
[ "$mode" = bench ] && want+=(wrk postgresql slapd ldap-utils)  # bench/pg.sh: its own PostgreSQL; benches/ldap.rs: its own slapd
for p in "${want[@]}"; do
  # A tool already on PATH (e.g. python3 from pyenv, node from nvm) counts as installed.
  case "$p" in
    python3|nodejs|npm|xmlsec1|wrk) command -v "${p/nodejs/node}" >/dev/null 2>&1 && continue ;;
    python3-pip) python3 -m pip --version >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  if [[ " ${missing[*]} " == *" slapd "* ]]; then
    # The tests run their own slapd: the package must neither create a directory nor start a
    # system server (no_configuration; the sentinel file stops its init script).
    echo "slapd slapd/no_configuration boolean true" | $sudo debconf-set-selections
    $sudo mkdir -p /etc/ldap && $sudo touch /etc/ldap/noslapd
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "$mode" = test ]; then
  if ! python3 -c "import zeep, signxml, jwt" 2>/dev/null; then
    echo "deps: installing python zeep, signxml and PyJWT"
    python3 -m pip install --quiet zeep==4.3.* signxml "pyjwt[crypto]==2.*" 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages zeep==4.3.* signxml "pyjwt[crypto]==2.*"
  fi
  # The metrics tests (tests/it/metrics.rs): /metrics read by the official client's parser.
  if ! python3 -c "import prometheus_client.parser" 2>/dev/null; then
    echo "deps: installing python prometheus_client"
    python3 -m pip install --quiet "prometheus_client==0.*" 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages "prometheus_client==0.*"
  fi
  # The AD FS tests (tests/it/adfs.rs): the Microsoft client libraries, as applications use them.
  if ! python3 -c "import msal, adal" 2>/dev/null; then
    echo "deps: installing python msal and adal"
    python3 -m pip install --quiet "msal==1.*" "adal==1.2.*" 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages "msal==1.*" "adal==1.2.*"
  fi
  # SAML 1.1 signatures verified by pysaml2 too (tests/peers/pysaml2_verify_saml1.py): its
  # XMLSecurity backend (pyXMLSecurity), whose ID attribute names can include AssertionID.
  if ! python3 -c "import saml2.sigver, xmlsec, pyconfig" 2>/dev/null; then
    echo "deps: installing python pysaml2 and pyXMLSecurity"
    python3 -m pip install --quiet "pysaml2==7.5.*" "pyXMLSecurity==1.0.*" 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages "pysaml2==7.5.*" "pyXMLSecurity==1.0.*"
  fi
  # The admin console's browser tests (tests/peers/console.py) drive Debian's chromium.
  if ! python3 -c "import selenium" 2>/dev/null; then
    echo "deps: installing python selenium"
    python3 -m pip install --quiet "selenium==4.*" 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages "selenium==4.*"
  fi
  # The fuzz smoke run of `make test` (scripts/fuzz.sh): nightly Rust and cargo-fuzz.
  if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "deps: installing the nightly Rust toolchain"
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "deps: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
  fi
  # `cargo deny` of `make test` (scripts/deny.sh).
  if ! cargo deny --version >/dev/null 2>&1; then
    echo "deps: installing cargo-deny"
    cargo install cargo-deny --locked
  fi
  if [ ! -d tests/peers/node_modules/soap ]; then
    echo "deps: installing npm soap for the peer tests"
    (cd tests/peers && npm ci --no-audit --no-fund --silent)
  fi
fi
