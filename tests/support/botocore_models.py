"""One botocore data loader for every session of the test process.

botocore reads a service's model (and endpoint rules, paginators...) from JSON once per session; the app
makes a new session whenever a test resets its clients, and moto gives boto3 a new default session each time a
mock starts: every test read and decoded the same files again (about a fifth of a unit test's time). The files
are the installed botocore's and boto3's, the same for every session: one loader, which keeps what it read,
changes nothing but the time.
"""

import functools
import os

import boto3
import botocore.loaders
import botocore.session

BOTO3_DATA_PATH = os.path.join(os.path.dirname(boto3.__file__), "data")


class _SearchPaths(list):
    """Each boto3 session appends boto3's data folder to its loader's paths: on a shared loader, once."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(search_path_string: str | None) -> botocore.loaders.Loader:
    loader = botocore.loaders.create_loader(search_path_string)
    # With boto3's folder from the start, what the loader keeps does not depend on which session asked first.
    loader._search_paths = _SearchPaths([*loader.search_paths, BOTO3_DATA_PATH])
    return loader


def share() -> None:
    """From now on, every botocore session (boto3's too) uses the one loader for its data path."""
    botocore.session.create_loader = _shared_loader


def unshare() -> None:
    botocore.session.create_loader = botocore.loaders.create_loader
