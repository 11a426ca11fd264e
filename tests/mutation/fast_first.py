"""pytest plugin for mutation runs (scripts/mutation.py): a mutant's tests run fastest first.

mutmut runs a mutant's covering tests with -x, so the run stops at the first failure; it passes them in no
particular order. Sorted by the durations mutmut measured on the unmutated code (mutmut-stats.json, in the
directory the tests run from), a mutant that a quick service test kills no longer waits for slow API tests.
Without the file (mutmut's first, measuring run) the order is left alone.
"""

import json
from pathlib import Path

import pytest

STATS = Path("mutmut-stats.json")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not STATS.exists():
        return
    durations = json.loads(STATS.read_text()).get("duration_by_test", {})
    slowest = max(durations.values(), default=0.0)
    items.sort(key=lambda item: durations.get(item.nodeid, slowest))
