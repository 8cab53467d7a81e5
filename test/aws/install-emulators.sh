#!/usr/bin/env bash
# Installs the AWS fidelity rig under .tools/ (git-ignored), from the package registries only:
#   .tools/dynamodb-local/lib     DynamoDB Local and its dependencies (Maven Central, via dynamodb-local/pom.xml)
#   .tools/dynamodb-local/native  the sqlite4java native library for this OS/arch (-Djava.library.path)
#   .tools/m2                     the Maven repository those came from
#   .tools/venv                   moto server + cfn-lint (requirements.txt)
#   .tools/venv-lint              checkov (requirements-lint.txt)
#   .tools/venv-ministack         MiniStack, for the deployed-stack test (requirements-ministack.txt)
#   .tools/venv-schemathesis      schemathesis, for the contract test (test/contract/requirements-schemathesis.txt)
# Idempotent: each part carries a stamp (hash of its inputs); a rerun with unchanged inputs only checks them.
# Needs Java 17+, Maven 3, Python 3.11+ with venv, and unshare and ip (the contract test's network namespace): says
# which is missing and exits 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RIG="$ROOT/test/aws"
TOOLS="$ROOT/.tools"
DDB="$TOOLS/dynamodb-local"

log() { printf '[emulators:install] %s\n' "$*" >&2; }
die() { printf '[emulators:install] ERROR: %s\n' "$*" >&2; exit 1; }

# --- prerequisites ----------------------------------------------------------------------------------------------
missing=()
if ! command -v java >/dev/null 2>&1; then
  missing+=("Java 17+ (java): DynamoDB Local 3.x runs on the JVM (Debian: apt-get install openjdk-17-jre-headless)")
else
  java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)"
  java_major="${java_major#1.}"
  if [[ -z "$java_major" || "$java_major" -lt 17 ]]; then
    missing+=("Java 17+ (found java.specification.version=${java_major:-unknown}): DynamoDB Local 3.x is built for Java 17")
  fi
fi
command -v mvn >/dev/null 2>&1 ||
  missing+=("Maven 3 (mvn): fetches DynamoDB Local from Maven Central (Debian: apt-get install maven)")
if ! command -v python3 >/dev/null 2>&1; then
  missing+=("Python 3.11+ (python3): runs moto, cfn-lint, checkov and schemathesis (Debian: apt-get install python3 python3-venv)")
elif ! python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
  missing+=("Python 3.11+ (schemathesis needs 3.11) with the venv and ensurepip modules (found $(python3 --version 2>&1); Debian: apt-get install python3-venv)")
fi
for tool in unshare ip; do
  command -v "$tool" >/dev/null 2>&1 ||
    missing+=("$tool: the contract test runs local mode in a network namespace of its own (Debian: apt-get install util-linux iproute2)")
done
if ((${#missing[@]})); then
  for item in "${missing[@]}"; do printf '[emulators:install] ERROR: missing %s\n' "$item" >&2; done
  die "install the above, then rerun: npm run emulators:install"
fi

mkdir -p "$TOOLS"
# One install at a time per work tree (npm test in two shells, an editor's test runner).
exec 9>"$TOOLS/.install.lock"
flock 9

# A part is current when its stamp holds the hash of its inputs and the files it must produce exist.
is_current() {
  local stamp="$1" want="$2"
  shift 2
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] || return 1
  local path
  for path in "$@"; do [[ -e "$path" ]] || return 1; done
}

# --- DynamoDB Local -----------------------------------------------------------------------------------------------
# Bump DDB_LAYOUT when the layout made below changes: the stamp covers it and the pom.
DDB_LAYOUT=1
ddb_hash="$(printf 'layout %s\n' "$DDB_LAYOUT" | cat - "$RIG/dynamodb-local/pom.xml" | sha256sum | cut -d' ' -f1)"
ddb_native="$DDB/native/libsqlite4java.so"
if is_current "$DDB/.stamp" "$ddb_hash" "$ddb_native" "$DDB"/lib/DynamoDBLocal-*.jar; then
  log "DynamoDB Local: cached ($(basename "$DDB"/lib/DynamoDBLocal-*.jar))"
else
  log "DynamoDB Local: fetching from Maven Central into .tools/dynamodb-local/lib (Maven repo .tools/m2)"
  started=$SECONDS
  rm -rf "$DDB"
  mkdir -p "$DDB/lib" "$DDB/native"
  # (Maven 3.8 prints colour resets even in batch mode: stripped; pipefail keeps mvn's exit status.)
  mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$TOOLS/m2" -f "$RIG/dynamodb-local/pom.xml" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$DDB/lib" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g' >&2
  # DynamoDB Local 3.x loads libsqlite4java.so from -Dorg.sqlite.lib.path / -Djava.library.path before it would
  # extract its bundled copy into the system temp dir. Maven's com.almworks.sqlite4java artifacts carry the same
  # binaries for linux-amd64/i386; other architectures take the copy bundled in the DynamoDB Local jar.
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) maven_native="linux-amd64" bundled="Linux/x86_64/libsqlite4java.so" ;;
    Linux-i?86) maven_native="linux-i386" bundled="Linux/x86/libsqlite4java.so" ;;
    Linux-aarch64 | Linux-arm64) maven_native="" bundled="Linux/aarch64/libsqlite4java.so" ;;
    *) die "no sqlite4java native library known for $(uname -s)-$(uname -m)" ;;
  esac
  native_from="$(compgen -G "$DDB/lib/libsqlite4java-${maven_native:-none}-*.so" | head -n1 || true)"
  if [[ -n "$native_from" ]]; then
    cp "$native_from" "$ddb_native"
  else
    python3 - "$DDB"/lib/DynamoDBLocal-*.jar "$bundled" "$ddb_native" <<'PY'
import shutil, sys, zipfile
jar, entry, target = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(jar) as archive, archive.open(
    "software/amazon/dynamodb/services/local/shared/access/sqlite/native/" + entry
) as source, open(target, "wb") as out:
    shutil.copyfileobj(source, out)
PY
  fi
  ls "$DDB"/lib/DynamoDBLocal-*.jar >/dev/null 2>&1 || die "copy-dependencies brought no DynamoDBLocal jar"
  echo "$ddb_hash" >"$DDB/.stamp"
  log "DynamoDB Local: $(basename "$DDB"/lib/DynamoDBLocal-*.jar) in $((SECONDS - started)) s"
fi

# --- Python venvs -------------------------------------------------------------------------------------------------
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_CACHE_DIR="$TOOLS/pip-cache"
python_id="$(python3 -c 'import sys; print(sys.version)')"

install_venv() {
  local venv="$1" requirements="$2" probe="$3"
  local want
  want="$(printf '%s\n' "$python_id" | cat - "$requirements" | sha256sum | cut -d' ' -f1)"
  if is_current "$venv/.stamp" "$want" "$venv/bin/$probe"; then
    log "$(basename "$venv"): cached"
    return
  fi
  log "$(basename "$venv"): installing $(basename "$requirements")"
  local started=$SECONDS
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q -r "$requirements"
  "$venv/bin/python" -m pip check >/dev/null || log "$(basename "$venv"): pip check reports conflicts (see: $venv/bin/pip check)"
  [[ -x "$venv/bin/$probe" ]] || die "$(basename "$venv"): $probe missing after install"
  echo "$want" >"$venv/.stamp"
  log "$(basename "$venv"): done in $((SECONDS - started)) s"
}

install_venv "$TOOLS/venv" "$RIG/requirements.txt" moto_server
install_venv "$TOOLS/venv-lint" "$RIG/requirements-lint.txt" checkov
install_venv "$TOOLS/venv-ministack" "$RIG/requirements-ministack.txt" ministack
install_venv "$TOOLS/venv-schemathesis" "$ROOT/test/contract/requirements-schemathesis.txt" schemathesis

log "ready: DynamoDB Local $(basename "$DDB"/lib/DynamoDBLocal-*.jar .jar | sed 's/^DynamoDBLocal-//'), $(
  "$TOOLS/venv/bin/python" -c 'from importlib.metadata import version as v; print("moto", v("moto") + ", cfn-lint", v("cfn-lint"))'
), checkov $("$TOOLS/venv-lint/bin/python" -c 'from importlib.metadata import version; print(version("checkov"))'), MiniStack $(
  "$TOOLS/venv-ministack/bin/python" -c 'from importlib.metadata import version; print(version("ministack"))'
), schemathesis $("$TOOLS/venv-schemathesis/bin/python" -c 'from importlib.metadata import version; print(version("schemathesis"))')"

