PASSWORD = "Correct-horse-9"


def register(api, email="ada@example.com", password=PASSWORD, fullname="Ada Lovelace"):
    response = api.post("/register", json={"email": email, "password": password, "fullname": fullname})
    assert response.status_code == 201, response.text
    return response.json()


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
