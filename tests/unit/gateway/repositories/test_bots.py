from dataclasses import replace

import pytest

from gateway.repositories.bots import (
    BotChangedError,
    BotItem,
    BotLimitReachedError,
    BotRepository,
    SharedUser,
)

TABLE = "gateway-test-bots"


def _bot(number: int, **fields) -> BotItem:
    values = {
        "bot_id": f"{number:028x}",
        "owner_id": "owner",
        "title": f"Bot {number}",
        "description": "",
        "instruction": "",
        "model_id": "m",
        "inference_parameters": {"temperature": 0.5},
        "shared_scope": "all",
        "allowed_users": (),
        "allowed_groups": (),
        "documents": (),
        "knowledge_version": "v1",
        "knowledge_base_id": None,
        "visibility": "visible",
        "essential": False,
        "use_count": 0,
        "created_at": "2026-11-22T00:00:00.000Z",
        "updated_at": "2026-11-22T00:00:00.000Z",
    }
    values.update(fields)
    return BotItem(**values)


@pytest.fixture
def repository(stack):
    return BotRepository(TABLE)


def test_a_saved_bot_reads_back_as_it_was(repository):
    bot = _bot(1, inference_parameters={"temperature": 0.2, "stop_sequences": ["END"]})
    repository.save(bot, [("a.md", "alpha"), ("b.md", "beta")])
    assert repository.get(bot.bot_id) == bot
    assert repository.documents(bot.bot_id, "v1") == [("a.md", "alpha"), ("b.md", "beta")]


def test_a_stale_update_is_refused_and_leaves_no_orphan_documents(repository):
    bot = _bot(1)
    repository.save(bot, [("a.md", "alpha")])
    first = replace(bot, title="First", updated_at="2026-11-22T00:00:01.000Z")
    repository.save(first, None, previous=bot)
    late = replace(bot, title="Late", knowledge_version="v2", updated_at="2026-11-22T00:00:02.000Z")
    with pytest.raises(BotChangedError):
        repository.save(late, [("c.md", "gamma")], previous=bot)  # read before `first` was saved
    assert repository.get(bot.bot_id).title == "First"
    assert repository.documents(bot.bot_id, "v2") == []
    assert repository.documents(bot.bot_id, "v1") == [("a.md", "alpha")]


def test_the_store_pages_through_a_filter_without_skipping_or_repeating(repository):
    # 30 bots, every third one matches; pages of 4 must give the 10 matches in rank order.
    for number in range(30):
        title = f"{'Translator' if number % 3 == 0 else 'Poet'} {number}"
        repository.save(_bot(number, title=title, use_count=number), None)
    seen, position = [], None
    for _ in range(10):
        page, position = repository.store_page("translator", 4, position)
        seen.extend(bot.bot_id for bot in page)
        if position is None:
            break
    expected = [f"{n:028x}" for n in sorted(range(0, 30, 3), reverse=True)]
    assert seen == expected


def test_use_moves_a_bot_up_the_store_and_private_bots_stay_out(repository):
    repository.save(_bot(1, use_count=5), None)
    repository.save(_bot(2, use_count=4), None)
    repository.save(_bot(3, shared_scope="private", use_count=100), None)
    repository.save(_bot(4, visibility="hidden", use_count=100), None)
    for _ in range(2):
        repository.record_use(f"{2:028x}")
    page, _ = repository.store_page(None, 10, None)
    assert [(bot.bot_id[-1], bot.use_count) for bot in page] == [("2", 6), ("1", 5)]
    repository.record_use("0" * 28)  # an unknown bot: nothing is created
    assert repository.get("0" * 28) is None


def test_creations_past_the_owners_cap_are_refused_and_a_deletion_makes_room(repository):
    for number in range(3):
        repository.save(_bot(number), None, max_owned=3)
    with pytest.raises(BotLimitReachedError) as refused:
        repository.save(_bot(3), [("a.md", "alpha")], max_owned=3)
    assert refused.value.status_code == 409
    assert repository.get(f"{3:028x}") is None
    assert repository.documents(f"{3:028x}", "v1") == []  # no orphans of the refused bot
    assert repository.owned_count("owner") == 3
    repository.save(_bot(4, owner_id="someone else"), None, max_owned=3)  # counted per owner
    repository.delete(repository.get(f"{0:028x}"))
    assert repository.owned_count("owner") == 2
    repository.save(_bot(3), None, max_owned=3)
    assert repository.owned_count("owner") == 3


def test_deleting_a_bot_twice_counts_it_once(repository):
    bot = _bot(1)
    repository.save(bot, None, max_owned=5)
    repository.delete(bot)
    repository.delete(bot)
    assert repository.owned_count("owner") == 0


def test_a_store_search_reads_a_bounded_number_of_items_and_says_where_to_go_on(repository):
    for number in range(25):
        repository.save(_bot(number, use_count=number), None)
    repository.save(_bot(99, title="The needle", use_count=0), None)  # ranked last
    page, position = repository.store_page("needle", 5, None, max_items_read=10)
    assert page == []
    assert position is not None
    pages = 1
    while position is not None and not page:
        page, position = repository.store_page("needle", 5, position, max_items_read=10)
        pages += 1
    assert [bot.title for bot in page] == ["The needle"]
    assert pages == 3  # 26 items read 10 at a time


def test_owned_and_shared_pages_are_bounded_and_resume(repository):
    for number in range(5):
        repository.save(_bot(number), None)
    first, position = repository.owned_page("owner", 3, None)
    second, end = repository.owned_page("owner", 3, position)
    assert [b.bot_id for b in first + second] == [f"{n:028x}" for n in range(4, -1, -1)]
    assert end is None
    shared = [
        _bot(10 + n, owner_id="other", shared_scope="partial", allowed_users=(SharedUser("friend", None),))
        for n in range(3)
    ]
    for bot in shared:
        repository.save(bot, None)
    ids, position = repository.shared_page("SHARE#USER#friend", 2, None)
    rest, _ = repository.shared_page("SHARE#USER#friend", 2, position)
    assert ids + rest == [bot.bot_id for bot in reversed(shared)]
