#!/bin/sh
# Install the bot into a virtual environment, from the hashed lock at the repository's root when there is one.
# The Dockerfile's build stage, the VPS install (README, "Deploying with systemd") and tests/test_deploy.py all
# run this same script, so that what CI checks is what gets deployed.
#
#   deploy/install.sh VENV_DIR        e.g. deploy/install.sh /opt/chatbot/venv
#
# PYTHON chooses the interpreter that creates the venv (default: python3, 3.11 or newer); an existing venv is
# reused. CHATBOT_LOCK names the lock file (default: the first of requirements.lock, requirements.txt found at
# the root). With a lock, every dependency is installed with --require-hashes, then the bot itself without
# dependencies; without one, from pyproject.toml's ranges.
set -eu

venv="${1:?usage: deploy/install.sh VENV_DIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"

"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
pip() {
    "$venv/bin/python" -m pip --disable-pip-version-check --no-input "$@"
}

lock="${CHATBOT_LOCK:-}"
if [ -z "$lock" ]; then
    for candidate in requirements.lock requirements.txt; do
        if [ -f "$root/$candidate" ]; then
            lock="$root/$candidate"
            break
        fi
    done
fi

if [ -n "$lock" ]; then
    echo "install.sh: dependencies from $lock (hashes required)"
    pip install --quiet --require-hashes -r "$lock"
    pip install --quiet --no-deps "$root"
else
    echo "install.sh: no lock file at $root: dependencies from pyproject.toml's ranges"
    pip install --quiet "$root"
fi
pip check
"$venv/bin/chatbot" --help >/dev/null
echo "install.sh: chatbot installed in $venv"
