"""Tests of scripts/localstack_plugin that need no LocalStack: its decision modules and the Lambda worker.
They import the plugin from its source tree and must pass under plain CPython 3.12."""

import sys
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parents[4] / "scripts" / "localstack_plugin"
if str(PLUGIN_DIR) not in sys.path:
    sys.path.insert(0, str(PLUGIN_DIR))
