"""The paging key and other secrets the app makes for itself: created once, shared by every process."""

import boto3

from gateway import deps
from gateway.repositories import app_secrets
from gateway.repositories.app_secrets import AppSecretRepository
from gateway.settings import get_settings
from tests.support.aws import REGION


def stored(name: str) -> bytes | None:
    item = (
        boto3.resource("dynamodb", region_name=REGION)
        .Table(get_settings().table_api_keys)
        .get_item(Key={"pk": f"APP#{name}", "sk": "SECRET"}, ConsistentRead=True)
        .get("Item")
    )
    return None if item is None else bytes(item["value"])


def test_the_first_use_creates_the_secret_and_later_ones_read_it(stack):
    repository = AppSecretRepository(get_settings().table_api_keys)
    assert stored("paging-token-key") is None
    first = repository.get_or_create("paging-token-key")
    assert len(first) == 32
    assert stored("paging-token-key") == first
    assert AppSecretRepository(get_settings().table_api_keys).get_or_create("paging-token-key") == first
    assert repository.get_or_create("another-secret", size=16) not in (first, None)
    assert len(stored("another-secret")) == 16


def test_two_processes_creating_it_at_once_share_the_one_stored_first(stack, monkeypatch):
    """The other process writes between this one's read (nothing yet) and its conditional put."""
    here, other = (AppSecretRepository(get_settings().table_api_keys) for _ in range(2))
    made_by_other: list[bytes] = []
    token_bytes = app_secrets.secrets.token_bytes

    def other_process_first(size):
        monkeypatch.setattr(app_secrets.secrets, "token_bytes", token_bytes)  # the other one's own draw
        made_by_other.append(other.get_or_create("paging-token-key"))
        return token_bytes(size)

    monkeypatch.setattr(app_secrets.secrets, "token_bytes", other_process_first)
    assert here.get_or_create("paging-token-key") == made_by_other[0] == stored("paging-token-key")


def test_page_tokens_of_one_process_are_read_by_another(stack):
    token = deps.page_tokens.get().encode("position-1", "listUsers:")
    deps.reset()  # a new process: it reads the stored key instead of making its own
    assert deps.page_tokens.get().decode(token, "listUsers:") == "position-1"
