import pytest

from gateway.services.paging import InvalidPageTokenError, PageTokens


@pytest.fixture
def pages():
    return PageTokens(lambda: b"k" * 32)


def test_round_trip(pages):
    token = pages.encode("cognito-position", "listUsers:")
    assert "cognito-position" not in token
    assert pages.decode(token, "listUsers:") == "cognito-position"


def test_none_stays_none(pages):
    assert pages.encode(None, "s") is None
    assert pages.decode(None, "s") is None
    assert pages.decode("", "s") is None


@pytest.mark.parametrize("token", ["garbage", "a.b", "....", "eyJ9.AAAA"])
def test_garbage_is_refused(pages, token):
    with pytest.raises(InvalidPageTokenError):
        pages.decode(token, "s")


def test_another_listing_or_key_refuses_the_token(pages):
    token = pages.encode("p", "listUsers:")
    with pytest.raises(InvalidPageTokenError):
        pages.decode(token, "listGroups:")
    with pytest.raises(InvalidPageTokenError):
        PageTokens(lambda: b"x" * 32).decode(token, "listUsers:")


def test_an_edited_payload_is_refused(pages):
    import base64
    import json

    token = pages.encode("p", "s")
    _, signature = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"p": "other", "s": "s"}).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidPageTokenError):
        pages.decode(f"{forged}.{signature}", "s")
