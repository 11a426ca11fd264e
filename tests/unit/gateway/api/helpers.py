PASSWORD = "Correct-horse-9"


# moto in-process neither sends nor checks confirmation codes (test_auth.py stubs Cognito where a code's check
# matters; the local emulator's mailbox checks them end to end).
ANY_CODE = "123456"


def register(api, email="ada@example.com", password=PASSWORD, fullname="Ada Lovelace"):
    """Sign up and confirm: the confirmation's body (user, groups, first API key)."""
    response = api.post("/register", json={"email": email, "password": password, "fullname": fullname})
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "confirmation_required"}
    confirmed = api.post("/register/confirm", json={"email": email, "code": ANY_CODE})
    assert confirmed.status_code == 201, confirmed.text
    return confirmed.json()


def login(api, email="ada@example.com", password=PASSWORD):
    response = api.post("/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def signed_up(api, email="ada@example.com"):
    """Register and log in: the headers a client sends, plus the registration."""
    registration = register(api, email=email)
    tokens = login(api, email=email)
    headers = {"authorization": f"Bearer {tokens['id_token']}", "x-api-key": registration["api_key"]}
    return headers, registration, tokens


def member_of(api, stack, email, *groups):
    """Sign up, join `groups`, and sign in again so the token carries them."""
    import boto3

    from tests.support.aws import REGION

    headers, registration, _ = signed_up(api, email=email)
    idp = boto3.client("cognito-idp", region_name=REGION)
    for group in groups:
        idp.admin_add_user_to_group(
            UserPoolId=stack.user_pool_id, Username=registration["user_id"], GroupName=group
        )
    tokens = login(api, email=email)
    return {**headers, "authorization": f"Bearer {tokens['id_token']}"}, registration
