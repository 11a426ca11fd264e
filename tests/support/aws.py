"""Builds, inside moto, the AWS resources that Terraform creates, and the matching app settings."""

import json
from dataclasses import dataclass

import boto3

# The one Bedrock Knowledge Base the test stack allows (Terraform's knowledge_base_ids).
KNOWLEDGE_BASE_ID = "ABCDEFGH12"
REGION = "us-east-1"
PASSWORD_POLICY = {
    "MinimumLength": 12,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": False,
}
# As terraform/modules/identity makes them by default (precedence from 1: the AWS provider drops 0).
GROUPS = {
    "Admin": (1, "arn:aws:iam::123456789012:role/gateway-admin"),
    "PublishAllowed": (2, "arn:aws:iam::123456789012:role/gateway-publish"),
    "CreatingBotAllowed": (3, "arn:aws:iam::123456789012:role/gateway-creating-bot"),
}
# What terraform/modules/stack gives the function for those groups when no group_policies are set
# (app_group_policies): each group's precedence, every model, no limits.
GROUP_POLICIES = {
    name: {"precedence": precedence, "allowed_models": ["*"], "limits": {}, "guardrail": None}
    for name, (precedence, _) in GROUPS.items()
}
TABLES = ("api_keys", "usage", "audit", "conversations", "bots")
# As terraform/modules/data ranks them: users by cost, bots in the store by rank.
RANKED_INDEXES = {"usage": "cost_micros", "bots": "store_rank"}
STAGE = "test"
USAGE_PLAN_NAME = "gateway-test-default"


@dataclass(frozen=True)
class Stack:
    user_pool_id: str
    client_id: str
    usage_plan_id: str
    rest_api_id: str
    identity_pool_id: str

    def environment(self) -> dict[str, str]:
        env = {
            "GATEWAY_ENVIRONMENT": "test",
            "GATEWAY_REGION": REGION,
            "GATEWAY_USER_POOL_ID": self.user_pool_id,
            "GATEWAY_USER_POOL_CLIENT_ID": self.client_id,
            "GATEWAY_USAGE_PLAN_NAME": USAGE_PLAN_NAME,
            "GATEWAY_IDENTITY_POOL_ID": self.identity_pool_id,
            "GATEWAY_AUTO_JOIN_GROUPS": json.dumps(["CreatingBotAllowed"]),
            # Open sign-up ([] would close it); the domain rule's own tests set their lists.
            "GATEWAY_ALLOWED_EMAIL_DOMAINS": json.dumps(["*"]),
            "GATEWAY_KNOWLEDGE_BASE_IDS": json.dumps([KNOWLEDGE_BASE_ID]),
            "GATEWAY_GROUP_POLICIES": json.dumps(GROUP_POLICIES),
        }
        env.update({f"GATEWAY_TABLE_{name.upper()}": f"gateway-test-{name}" for name in TABLES})
        return env


def create_table(dynamodb, name: str, ranked_index: str | None = None) -> None:
    """As terraform/modules/data makes them: pk/sk, gsi1, and gsi2 on (gsi2pk, ranked_index) when asked."""
    attributes = [{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk", "gsi1sk")]
    indexes = [_index("gsi1", "gsi1pk", "gsi1sk")]
    if ranked_index:
        attributes += [
            {"AttributeName": "gsi2pk", "AttributeType": "S"},
            {"AttributeName": ranked_index, "AttributeType": "N"},
        ]
        indexes.append(_index("gsi2", "gsi2pk", ranked_index))
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=attributes,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=indexes,
    )


def _index(name: str, hash_key: str, range_key: str) -> dict:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def build_stack() -> Stack:
    """Call inside `mock_aws()`."""
    idp = boto3.client("cognito-idp", region_name=REGION)
    pool_id = idp.create_user_pool(
        PoolName="gateway-test",
        Policies={"PasswordPolicy": PASSWORD_POLICY},
        UsernameAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="gateway-test",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    for name, (precedence, role_arn) in GROUPS.items():
        idp.create_group(UserPoolId=pool_id, GroupName=name, Precedence=precedence, RoleArn=role_arn)

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for name in TABLES:
        create_table(dynamodb, f"gateway-test-{name}", RANKED_INDEXES.get(name))

    apigw = boto3.client("apigateway", region_name=REGION)
    api_id = apigw.create_rest_api(name="gateway-test")["id"]
    plan_id = apigw.create_usage_plan(
        name=USAGE_PLAN_NAME,
        throttle={"rateLimit": 1.0, "burstLimit": 2},
        quota={"limit": 25, "period": "DAY"},
        apiStages=[{"apiId": api_id, "stage": STAGE}],
    )["id"]
    identity_pool_id = boto3.client("cognito-identity", region_name=REGION).create_identity_pool(
        IdentityPoolName="gateway_test",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[
            {"ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{pool_id}", "ClientId": client_id}
        ],
    )["IdentityPoolId"]
    return Stack(
        user_pool_id=pool_id,
        client_id=client_id,
        usage_plan_id=plan_id,
        rest_api_id=api_id,
        identity_pool_id=identity_pool_id,
    )
