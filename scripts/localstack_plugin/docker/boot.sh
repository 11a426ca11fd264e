#!/bin/sh
# LocalStack init hook (boot.d: runs in the container before LocalStack starts; see localstack-compose.yml):
# installs the project's plugin into LocalStack's own environment so its entry points are found at start.
set -eu
python=/opt/code/localstack/.venv/bin/python
[ -x "$python" ] || python=python3
if "$python" -c "import gateway_localstack" 2>/dev/null; then exit 0; fi  # a restarted container has it
rm -rf /tmp/gateway-localstack && cp -r /opt/gateway-localstack /tmp/gateway-localstack  # the mount is read-only
"$python" -m pip install --quiet --disable-pip-version-check --no-deps /tmp/gateway-localstack
