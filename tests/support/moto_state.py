"""moto's in-memory AWS, kept and given back: the unit tests build the Terraform-made stack once per process
and start each test from a copy of it, instead of building it again (about a second a test: a user pool,
its groups, five tables, an API, a usage plan and an identity pool, each call through botocore and moto).

moto keeps every service's state in its backends (a BackendDict per service: account -> region -> backend).
kept() deep-copies all of them; given_back() first resets every backend, as starting mock_aws does, then puts
copies of the kept ones in place: whatever a test made, in any service, is gone, and the stack is as built.
"""

import copy
from dataclasses import dataclass

from moto.core.base_backend import BackendDict


@dataclass(frozen=True)
class MotoState:
    # (service's BackendDict, account, region, a copy of that region's backend)
    backends: tuple[tuple[BackendDict, str, str, object], ...]


def kept() -> MotoState:
    """A copy of every backend moto holds now (call inside mock_aws, after building what is to be kept)."""
    return MotoState(
        tuple(
            (service, account, region, copy.deepcopy(backend))
            for service in BackendDict._instances
            for account, region, backend in service.iter_backends()
        )
    )


def given_back(state: MotoState) -> None:
    """moto holds exactly `state` again (copies of it: the next call gives back the same)."""
    BackendDict.reset()
    for service, account, region, backend in state.backends:
        # service[account] registers the service as in use again (BackendDict.reset clears it); the region's
        # backend is set directly, so moto does not build a fresh one first.
        dict.__setitem__(service[account], region, copy.deepcopy(backend))
