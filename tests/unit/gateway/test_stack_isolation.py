"""The `stack` fixture builds the Terraform-made resources once per process and gives each test a copy of
moto's state as built (tests/support/moto_state.py): what one test writes, in any service, the next
never sees.

The two tests run in this order, in one process (pytest keeps a file's order, and `make unit` gives each file
to one process): the first writes into every resource of the stack and into a service outside it, and checks
that holdings() sees each write; the second, on the next copy, finds what was built and nothing else."""

import boto3

from tests.support import aws

WRITTEN: dict[str, str] = {}
EMAIL = "isolation@example.com"
BUCKET = "written-by-a-test"


def holdings(stack: aws.Stack) -> dict[str, object]:
    """What moto holds in the stack's services (and S3), in a form two tests can compare."""
    idp = boto3.client("cognito-idp", region_name=aws.REGION)
    dynamodb = boto3.client("dynamodb", region_name=aws.REGION)
    apigateway = boto3.client("apigateway", region_name=aws.REGION)
    identity = boto3.client("cognito-identity", region_name=aws.REGION)

    def members(group: str) -> list[str]:
        found = idp.list_users_in_group(UserPoolId=stack.user_pool_id, GroupName=group)["Users"]
        return [user["Username"] for user in found]

    identities = identity.list_identities(IdentityPoolId=stack.identity_pool_id, MaxResults=60)["Identities"]
    return {
        "users": [user["Username"] for user in idp.list_users(UserPoolId=stack.user_pool_id)["Users"]],
        "groups": {
            group["GroupName"]: members(group["GroupName"])
            for group in idp.list_groups(UserPoolId=stack.user_pool_id)["Groups"]
        },
        "items": {
            name: dynamodb.scan(TableName=name, Select="COUNT")["Count"]
            for name in dynamodb.list_tables()["TableNames"]
        },
        "api keys": [key["name"] for key in apigateway.get_api_keys()["items"]],
        "usage plan keys": [
            key["name"] for key in apigateway.get_usage_plan_keys(usagePlanId=stack.usage_plan_id)["items"]
        ],
        "identities": [found["IdentityId"] for found in identities],
        "buckets": [bucket["Name"] for bucket in boto3.client("s3").list_buckets()["Buckets"]],
    }


AS_BUILT = {
    "users": [],
    "groups": {name: [] for name in aws.GROUPS},
    "items": {f"gateway-test-{name}": 0 for name in aws.TABLES},
    "api keys": [],
    "usage plan keys": [],
    "identities": [],
    "buckets": [],
}


def test_a_test_writes_into_every_service_of_the_stack_and_beyond(stack):
    assert holdings(stack) == AS_BUILT  # as every test finds it
    idp = boto3.client("cognito-idp", region_name=aws.REGION)
    username = idp.admin_create_user(UserPoolId=stack.user_pool_id, Username=EMAIL)["User"]["Username"]
    idp.admin_add_user_to_group(UserPoolId=stack.user_pool_id, Username=username, GroupName="Admin")
    dynamodb = boto3.client("dynamodb", region_name=aws.REGION)
    for name in aws.TABLES:
        item = {"pk": {"S": "written"}, "sk": {"S": "here"}}
        dynamodb.put_item(TableName=f"gateway-test-{name}", Item=item)
    aws.create_table(dynamodb, "made-by-a-test")
    apigateway = boto3.client("apigateway", region_name=aws.REGION)
    key = apigateway.create_api_key(name="written", enabled=True)
    apigateway.create_usage_plan_key(usagePlanId=stack.usage_plan_id, keyId=key["id"], keyType="API_KEY")
    identity_pool = boto3.client("cognito-identity", region_name=aws.REGION)
    identity_id = identity_pool.get_id(IdentityPoolId=stack.identity_pool_id)["IdentityId"]
    boto3.client("s3").create_bucket(Bucket=BUCKET)

    assert holdings(stack) == {
        "users": [username],
        "groups": {**AS_BUILT["groups"], "Admin": [username]},
        "items": {**{f"gateway-test-{name}": 1 for name in aws.TABLES}, "made-by-a-test": 0},
        "api keys": ["written"],
        "usage plan keys": ["written"],
        "identities": [identity_id],
        "buckets": [BUCKET],
    }
    WRITTEN.update(user=username, identity=identity_id)


def test_the_next_test_finds_the_stack_as_built(stack):
    assert WRITTEN, "runs right after the test above, in the same process: run the whole file"
    assert holdings(stack) == AS_BUILT
