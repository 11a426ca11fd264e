import re

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from gateway.aws import client
from gateway.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    UpstreamError,
    UpstreamTimeoutError,
)
from gateway.providers.knowledge_bases import BedrockKnowledgeBases
from gateway.services.knowledge import Passage
from gateway.settings import KNOWLEDGE_BASE_ID_PATTERN

KB_ID = "ABCDEFGH12"


def _request(query="How many vacation days?", limit=3):
    return {
        "knowledgeBaseId": KB_ID,
        "retrievalQuery": {"text": query},
        "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": limit}},
    }


@pytest.fixture
def agent_runtime():
    """The gateway's own cached bedrock-agent-runtime client, behind Stubber."""
    with Stubber(client("bedrock-agent-runtime")) as stub:
        yield stub
        stub.assert_no_pending_responses()


def test_retrieve_returns_passages_with_their_sources(agent_runtime):
    agent_runtime.add_response(
        "retrieve",
        {
            "retrievalResults": [
                {
                    "content": {"text": "Staff get 25 vacation days.", "type": "TEXT"},
                    "location": {"type": "S3", "s3Location": {"uri": "s3://docs/handbook.pdf"}},
                    "score": 0.91,
                },
                {
                    "content": {"text": "Ask HR for more."},
                    "location": {"type": "WEB", "webLocation": {"url": "https://intranet.example/hr"}},
                    "score": 0.5,
                },
                {
                    "content": {"text": "From metadata only."},
                    "metadata": {"x-amz-bedrock-kb-source-uri": "s3://docs/meta.txt"},
                },
                {"content": {"text": "Nowhere in particular."}},
                {"content": {"text": "   "}, "location": {"type": "S3", "s3Location": {"uri": "s3://x"}}},
            ]
        },
        _request(),
    )
    passages = BedrockKnowledgeBases().retrieve(KB_ID, "How many vacation days?", 3)
    assert passages == [
        Passage("s3://docs/handbook.pdf", "Staff get 25 vacation days.", 0.91),
        Passage("https://intranet.example/hr", "Ask HR for more.", 0.5),
        Passage("s3://docs/meta.txt", "From metadata only.", 0.0),
    ]


def test_other_location_kinds_and_the_fallback(agent_runtime):
    agent_runtime.add_response(
        "retrieve",
        {
            "retrievalResults": [
                {
                    "content": {"text": "a"},
                    "location": {"type": "CONFLUENCE", "confluenceLocation": {"url": "https://wiki/a"}},
                },
                {
                    "content": {"text": "b"},
                    "location": {"type": "CUSTOM", "customDocumentLocation": {"id": "doc-7"}},
                },
                {"content": {"text": "c"}},
                {
                    "content": {
                        "type": "ROW",
                        "row": [{"columnName": "days", "columnValue": "25", "type": "LONG"}],
                    },
                    "location": {"type": "SQL", "sqlLocation": {"query": "SELECT days FROM leave"}},
                },
            ]
        },
        _request(limit=10),
    )
    passages = BedrockKnowledgeBases().retrieve(KB_ID, "How many vacation days?", 10)
    assert [(p.source, p.text) for p in passages] == [
        ("https://wiki/a", "a"),
        ("doc-7", "b"),
        ("knowledge base", "c"),
        ("SELECT days FROM leave", "days: 25"),
    ]


def test_the_limit_is_kept_within_retrieves_bounds(agent_runtime):
    agent_runtime.add_response("retrieve", {"retrievalResults": []}, _request(limit=100))
    assert BedrockKnowledgeBases().retrieve(KB_ID, "How many vacation days?", 500) == []


def test_nothing_is_asked_for_a_blank_query_or_no_results(agent_runtime):
    kb = BedrockKnowledgeBases()
    assert kb.retrieve(KB_ID, "   ", 3) == []
    assert kb.retrieve(KB_ID, "question", 0) == []


@pytest.mark.parametrize("bad_id", ["", "short", "ABCDEFGH12X", "ABCDEFGH1!", "../etc/pas"])
def test_a_malformed_id_is_refused_before_calling_aws(agent_runtime, bad_id):
    with pytest.raises(BadRequestError) as raised:
        BedrockKnowledgeBases().retrieve(bad_id, "question", 3)
    assert raised.value.code == "knowledge_base_invalid"


def test_the_id_pattern():
    assert re.match(KNOWLEDGE_BASE_ID_PATTERN, KB_ID)
    assert not re.match(KNOWLEDGE_BASE_ID_PATTERN, "ABCDEFGH1")
    assert not re.match(KNOWLEDGE_BASE_ID_PATTERN, "ABCDEFGH123")


@pytest.mark.parametrize(
    ("aws_code", "status", "error_type", "code"),
    [
        ("ResourceNotFoundException", 404, NotFoundError, "knowledge_base_not_found"),
        ("AccessDeniedException", 403, ForbiddenError, "knowledge_base_access_denied"),
        ("ValidationException", 400, BadRequestError, "knowledge_base_invalid"),
        ("ThrottlingException", 429, TooManyRequestsError, "knowledge_base_throttled"),
        ("InternalServerException", 500, UpstreamError, "knowledge_base_error"),
        ("DependencyFailedException", 424, UpstreamError, "knowledge_base_error"),
        ("ServiceQuotaExceededException", 400, UpstreamError, "knowledge_base_error"),
    ],
)
def test_bedrock_errors_become_domain_errors(agent_runtime, aws_code, status, error_type, code):
    agent_runtime.add_client_error(
        "retrieve",
        service_error_code=aws_code,
        service_message="Bedrock says no",
        http_status_code=status,
        expected_params=_request(),
    )
    with pytest.raises(error_type) as raised:
        BedrockKnowledgeBases().retrieve(KB_ID, "How many vacation days?", 3)
    assert type(raised.value) is error_type
    assert raised.value.code == code
    assert raised.value.details["bedrock_error"] == aws_code
    assert raised.value.details["knowledge_base_id"] == KB_ID


def test_a_validation_error_keeps_bedrocks_message(agent_runtime):
    agent_runtime.add_client_error(
        "retrieve", service_error_code="ValidationException", service_message="numberOfResults too large"
    )
    with pytest.raises(BadRequestError) as raised:
        BedrockKnowledgeBases().retrieve(KB_ID, "question", 3)
    assert "numberOfResults too large" in raised.value.message
    assert raised.value.status_code == 400


@pytest.mark.parametrize(
    ("exc", "error_type", "code"),
    [
        (
            EndpointConnectionError(endpoint_url="https://bedrock-agent-runtime"),
            UpstreamError,
            "knowledge_base_error",
        ),
        (
            ReadTimeoutError(endpoint_url="https://bedrock-agent-runtime"),
            UpstreamTimeoutError,
            "knowledge_base_timeout",
        ),
        (
            ConnectTimeoutError(endpoint_url="https://bedrock-agent-runtime"),
            UpstreamTimeoutError,
            "knowledge_base_timeout",
        ),
    ],
)
def test_transport_failures_become_upstream_errors(monkeypatch, exc, error_type, code):
    def fail(**_):
        raise exc

    monkeypatch.setattr(client("bedrock-agent-runtime"), "retrieve", fail)
    with pytest.raises(error_type) as raised:
        BedrockKnowledgeBases().retrieve(KB_ID, "question", 3)
    assert raised.value.code == code
    assert raised.value.status_code in (502, 504)
