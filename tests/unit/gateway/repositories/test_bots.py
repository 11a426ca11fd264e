from dataclasses import replace

import pytest

from gateway.repositories.bots import BotChangedError, BotItem, BotRepository

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
