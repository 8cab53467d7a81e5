#!/usr/bin/env bash
# Synthesizes the CDK app offline into cdk.out and lints every stack template it lists with two independent tools:
#   cfn-lint  (.tools/venv,      settings test/aws/.cfnlintrc.yaml): CloudFormation schema and semantics
#   checkov   (.tools/venv-lint, settings test/aws/.checkov.yaml):   security and compliance policies
# Exits non-zero on any finding of either. Suppressions live only in those two files, one reason per check.
# Needs `npm run emulators:install` first (installs both tools under .tools/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RIG="$ROOT/test/aws"
TOOLS="$ROOT/.tools"
OUT="cdk.out"
cd "$ROOT"

log() { printf '[lint:template] %s\n' "$*" >&2; }

for tool in "$TOOLS/venv/bin/cfn-lint" "$TOOLS/venv-lint/bin/checkov"; do
  if [[ ! -x "$tool" ]]; then
    log "ERROR: ${tool#"$ROOT"/} is missing: run npm run emulators:install"
    exit 1
  fi
done

# Offline and account-free: no credentials or profile reach the CDK CLI (so it asks no AWS account who it is and the
# stacks stay environment-agnostic), no instance-metadata probe, no telemetry, no notices download, no context lookups.
log "synthesizing into $OUT (offline)"
env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  -u CDK_DEFAULT_ACCOUNT -u CDK_DEFAULT_REGION \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
  CDK_DISABLE_CLI_TELEMETRY=true \
  npx --no-install cdk synth --quiet --no-notices --no-lookups --output "$OUT" >&2

# The stack templates of this synthesis, from the cloud assembly's manifest (nested assemblies of CDK stages
# included): cdk.out also keeps templates of stacks an earlier synth had, and asset folders of bundled code.
mapfile -t templates < <(
  node -e '
    const { readFileSync } = require("node:fs");
    const { join } = require("node:path");
    const walk = (dir) => {
      const { artifacts = {} } = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      return Object.values(artifacts).flatMap((artifact) => {
        if (artifact.type === "aws:cloudformation:stack") return [join(dir, artifact.properties.templateFile)];
        if (artifact.type === "cdk:cloud-assembly") return walk(join(dir, artifact.properties.directoryName));
        return [];
      });
    };
    console.log(walk(process.argv[1]).join("\n"));
  ' "$OUT"
)
if ((${#templates[@]} == 0)); then
  log "ERROR: $OUT/manifest.json lists no stack template"
  exit 1
fi
log "templates: ${templates[*]}"

status=0

log "cfn-lint $("$TOOLS/venv/bin/cfn-lint" --version 2>&1 | awk '{print $NF}')"
if "$TOOLS/venv/bin/cfn-lint" --config-file "$RIG/.cfnlintrc.yaml" -- "${templates[@]}"; then
  log "cfn-lint: no findings"
else
  log "cfn-lint: FINDINGS (exit $?)"
  status=1
fi

# One file at a time would repeat checkov's start-up; -f with the list scans only the templates, never the asset
# folders of bundled JavaScript next to them.
log "checkov $("$TOOLS/venv-lint/bin/checkov" --version 2>&1 | tail -n1)"
if "$TOOLS/venv-lint/bin/checkov" --config-file "$RIG/.checkov.yaml" -f "${templates[@]}"; then
  log "checkov: no failed checks"
else
  log "checkov: FAILED CHECKS (exit $?)"
  status=1
fi

exit "$status"
