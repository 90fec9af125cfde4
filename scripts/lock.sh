#!/usr/bin/env bash
# Regenerate requirements.lock from pyproject.toml: pinned versions with the sha256 of every
# file of each release, for the Docker image (linux/amd64 and linux/arm64, CPython 3.11).
#
#   scripts/lock.sh                          # keep the current pins where they still fit
#   scripts/lock.sh --upgrade                # move everything to the newest allowed
#   scripts/lock.sh --upgrade-package NAME   # move one package
#
# Run it on Linux with CPython 3.11, the image's platform: pip-compile evaluates environment
# markers for the interpreter it runs on. The hashes it records cover every file of each
# pinned release, so one lock verifies the wheels of both architectures (tests/test_lock.py
# downloads the aarch64 and x86_64 ones against it). pip-tools runs from a throw-away venv,
# and pip's configuration files are ignored, so a local mirror or extra index never ends up
# in the lock.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
"$python" - <<'EOF'
import platform
import sys

if sys.version_info[:2] != (3, 11) or sys.platform != "linux":
    sys.exit(
        f"scripts/lock.sh: run with CPython 3.11 on Linux (the image's platform), not "
        f"{platform.python_implementation()} {platform.python_version()} on {sys.platform}; "
        "set PYTHON=/path/to/python3.11"
    )
EOF

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
export PIP_CONFIG_FILE=/dev/null
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_CONSTRAINT
"$python" -m venv "$tools"
"$tools/bin/pip" install --quiet --disable-pip-version-check 'pip-tools==7.6.2'

header="$tools/header"
cat >"$header" <<'EOF'
# requirements.lock: what the Docker image installs, with
#   pip install --require-hashes --no-deps -r requirements.lock
# pyproject.toml's [project].dependencies and build-system.requires (setuptools, which
# builds the project's wheel in the image), every package pinned with the sha256 of every
# file of its release. For Linux x86_64 and aarch64, CPython 3.11 (the image's platform).
#
# Do not edit by hand. After changing pyproject.toml's dependencies, regenerate on Linux
# with CPython 3.11:
#   scripts/lock.sh                          # keep the current pins where they still fit
#   scripts/lock.sh --upgrade                # move everything to the newest allowed
#   scripts/lock.sh --upgrade-package NAME   # move one package
# It runs, from a throw-away venv with pip-tools 7.6.2,
#   pip-compile --generate-hashes --allow-unsafe --all-build-deps --no-strip-extras \
#       --output-file=requirements.lock pyproject.toml
# tests/test_lock.py fails while this file and pyproject.toml disagree.
EOF

# pip-compile reads the current lock to keep its pins, then writes it anew.
CUSTOM_COMPILE_COMMAND="scripts/lock.sh" "$tools/bin/pip-compile" --quiet \
    --generate-hashes --allow-unsafe --all-build-deps --no-strip-extras \
    --output-file=requirements.lock "$@" pyproject.toml
cat "$header" requirements.lock >"$tools/lock"
mv "$tools/lock" requirements.lock
