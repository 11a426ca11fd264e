import http.server
import importlib
import json
import logging
import socket
import stat
import threading

import boto3
import httpx
import pytest
from moto import mock_aws

from scripts import make_admin

REGION = "us-east-1"
API_URL = "https://api.example.test/v1"
API_KEY = "k" * 40
OWN_PASSWORD = "Own-password-1234567890-abcdefgh"  # meets the pool's 30 characters


@pytest.fixture
def pool(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool_id = idp.create_user_pool(
            PoolName="p",
            UsernameAttributes=["email"],
            Policies={"PasswordPolicy": {"MinimumLength": 30, "RequireSymbols": True}},
        )["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        idp.create_group(UserPoolId=pool_id, GroupName="Admin", Precedence=1)
        yield idp, pool_id, client_id


def _groups(idp, pool_id, username):
    return [
        g["GroupName"]
        for g in idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)["Groups"]
    ]


def _user(idp, pool_id, username):
    user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    return user["UserStatus"], {a["Name"]: a["Value"] for a in user["UserAttributes"]}


def _signs_in(idp, client_id, email, password) -> bool:
    try:
        answer = idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
    except idp.exceptions.NotAuthorizedException:
        return False
    return "AuthenticationResult" in answer and "ChallengeName" not in answer


def _signed_up(idp, pool_id, client_id, email, confirmed=True):
    idp.sign_up(ClientId=client_id, Username=email, Password=OWN_PASSWORD)
    if confirmed:
        idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=email)


def test_a_new_user_is_created_verified_with_a_permanent_password_and_signs_in_at_once(pool):
    idp, pool_id, client_id = pool
    account = make_admin.ensure_admin(idp, pool_id, " Grace@Example.com ", "Grace Hopper")
    assert account.created
    assert account.email == "grace@example.com"
    status, attributes = _user(idp, pool_id, account.username)
    assert status == "CONFIRMED"
    assert attributes["email_verified"] == "true"
    assert attributes["name"] == "Grace Hopper"
    assert _groups(idp, pool_id, account.username) == ["Admin"]
    assert _signs_in(idp, client_id, "grace@example.com", account.password)


def test_a_confirmed_user_is_promoted_and_keeps_their_password(pool):
    idp, pool_id, client_id = pool
    _signed_up(idp, pool_id, client_id, "ada@example.com")
    account = make_admin.ensure_admin(idp, pool_id, "Ada@Example.com")
    assert not account.created
    assert account.password is None
    assert _groups(idp, pool_id, account.username) == ["Admin"]
    assert _signs_in(idp, client_id, "ada@example.com", OWN_PASSWORD)
    assert _user(idp, pool_id, account.username)[1]["email_verified"] == "true"


@pytest.mark.parametrize("confirmed", [True, False])
def test_a_user_stuck_before_sign_in_gets_a_permanent_password(pool, confirmed):
    idp, pool_id, client_id = pool
    if confirmed:  # made in the console or by an older `make admin`: FORCE_CHANGE_PASSWORD
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username="lin@example.com",
            TemporaryPassword="Temporary-password-1234567890!",
            MessageAction="SUPPRESS",
        )
    else:  # signed up, never confirmed: nobody vouched for the password
        _signed_up(idp, pool_id, client_id, "lin@example.com", confirmed=False)
    before = _user(idp, pool_id, "lin@example.com")[0]
    assert before in {"FORCE_CHANGE_PASSWORD", "UNCONFIRMED"}

    account = make_admin.ensure_admin(idp, pool_id, "lin@example.com")

    assert _user(idp, pool_id, account.username)[0] == "CONFIRMED"
    assert _signs_in(idp, client_id, "lin@example.com", account.password)
    assert not _signs_in(idp, client_id, "lin@example.com", OWN_PASSWORD)


def test_a_disabled_user_is_refused(pool):
    idp, pool_id, client_id = pool
    _signed_up(idp, pool_id, client_id, "off@example.com")
    idp.admin_disable_user(UserPoolId=pool_id, Username="off@example.com")
    with pytest.raises(SystemExit, match=r"off@example\.com is disabled"):
        make_admin.ensure_admin(idp, pool_id, "off@example.com")
    assert _groups(idp, pool_id, "off@example.com") == []


def test_generated_passwords_meet_a_strict_policy_and_the_pools_length():
    password = make_admin.generated_password(40)
    assert len(password) == 40
    assert len(make_admin.generated_password(8)) == make_admin.MIN_PASSWORD_LENGTH
    assert any(c.isupper() for c in password)
    assert any(c.islower() for c in password)
    assert any(c.isdigit() for c in password)
    assert any(c in make_admin.PASSWORD_SYMBOLS for c in password)
    assert make_admin.generated_password() != make_admin.generated_password()


def _fake_api(seen: list[httpx.Request], login_status: int = 200):
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/login"):
            if login_status != 200:
                return httpx.Response(login_status, json={"code": "challenge_required", "message": "New pw."})
            return httpx.Response(200, json={"id_token": "id-token", "access_token": "a", "expires_in": 3600})
        assert request.url.path.endswith("/me/api-keys")
        assert request.headers["authorization"] == "Bearer id-token"
        return httpx.Response(201, json={"key_id": "kid", "state": "active", "api_key": API_KEY})

    return httpx.Client(base_url=API_URL, transport=httpx.MockTransport(answer))


@pytest.fixture
def deployed(pool, monkeypatch):
    """`run` against the moto pool, as if Terraform had deployed it."""
    idp, pool_id, client_id = pool
    outputs = {"api_url": API_URL, "region": REGION, "user_pool_id": pool_id}
    monkeypatch.setattr(make_admin, "terraform_outputs", lambda env: outputs)
    monkeypatch.setattr(
        make_admin, "aws_session", lambda env, region: boto3.session.Session(region_name=region)
    )
    return idp, pool_id, client_id


def test_run_prints_the_password_and_key_once_each_and_logs_neither(deployed, capsys, caplog):
    # botocore's own level too: the app's logging setup (imported by other tests) raises it to WARNING.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="botocore")
    seen: list[httpx.Request] = []
    make_admin.run("dev", "new@example.com", None, http=_fake_api(seen))
    out = capsys.readouterr().out

    password = next(line.rpartition(": ")[2] for line in out.splitlines() if "password (shown once" in line)
    assert out.count(password) == 1
    assert out.count(API_KEY) == 1
    assert f"curl -s -X POST {API_URL}/login" in out
    assert json.loads(seen[0].content) == {"email": "new@example.com", "password": password}
    assert [request.url.path for request in seen] == ["/v1/login", "/v1/me/api-keys"]
    # Logging was on (botocore wrote DEBUG records) and still holds neither secret.
    assert any(
        record.name.startswith("botocore") and record.levelno == logging.DEBUG for record in caplog.records
    )
    assert password not in caplog.text
    assert API_KEY not in caplog.text


def _api_keys_table(region=REGION):
    dynamodb = boto3.client("dynamodb", region_name=region)
    dynamodb.create_table(
        TableName="gw-api_keys",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb


def test_run_makes_the_rights_apply_at_the_next_request_and_says_so(deployed, monkeypatch, capsys):
    idp, pool_id, client_id = deployed
    dynamodb = _api_keys_table()
    outputs = {
        "api_url": API_URL,
        "region": REGION,
        "user_pool_id": pool_id,
        "table_names": {"api_keys": "gw-api_keys"},
    }
    monkeypatch.setattr(make_admin, "terraform_outputs", lambda env: outputs)
    _signed_up(idp, pool_id, client_id, "ada@example.com")
    sub = _user(idp, pool_id, "ada@example.com")[1]["sub"]

    make_admin.run("dev", "ada@example.com", None, http=_fake_api([]))
    make_admin.run("dev", "ada@example.com", None, http=_fake_api([]))

    session = dynamodb.get_item(
        TableName="gw-api_keys", Key={"pk": {"S": f"USER#{sub}"}, "sk": {"S": "SESSION"}}
    )
    assert session["Item"]["rights_version"] == {"N": "2"}
    out = capsys.readouterr().out
    assert "the rights apply at the next request, everywhere" in out
    assert "no need to log in again" in out


def test_without_the_table_the_rights_apply_within_a_minute_and_it_says_so(deployed, capsys):
    idp, pool_id, client_id = deployed
    _signed_up(idp, pool_id, client_id, "ada@example.com")
    make_admin.run("dev", "ada@example.com", None, http=_fake_api([]))
    assert "at once on /admin/*, within a minute elsewhere" in capsys.readouterr().out


def test_run_for_a_confirmed_user_prints_no_password_and_asks_the_api_nothing(deployed, capsys):
    idp, pool_id, client_id = deployed
    _signed_up(idp, pool_id, client_id, "ada@example.com")
    seen: list[httpx.Request] = []
    make_admin.run("dev", "ada@example.com", None, http=_fake_api(seen))
    out = capsys.readouterr().out
    assert "password (shown once" not in out
    assert "keeps their password" in out
    assert "/me/api-keys" in out
    assert seen == []


def test_a_failed_sign_in_is_a_clear_error_after_the_password_was_shown(deployed, capsys):
    with pytest.raises(SystemExit, match=r"POST /login answered 403 \(challenge_required: New pw.\)"):
        make_admin.run("dev", "new@example.com", None, http=_fake_api([], login_status=403))
    assert capsys.readouterr().out.count("password (shown once") == 1


def test_an_unreachable_api_is_a_clear_error(deployed):
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    http = httpx.Client(base_url=API_URL, transport=httpx.MockTransport(refuse))
    with pytest.raises(SystemExit, match=f"the API at {API_URL} did not answer"):
        make_admin.run("dev", "new@example.com", None, http=http)


def test_a_pool_that_is_gone_is_a_clear_error(deployed, monkeypatch):
    outputs = {"api_url": API_URL, "region": REGION, "user_pool_id": "us-east-1_gone"}
    monkeypatch.setattr(make_admin, "terraform_outputs", lambda env: outputs)
    with pytest.raises(SystemExit, match="user pool us-east-1_gone does not exist"):
        make_admin.run("dev", "new@example.com", None)


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/_localstack/health" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def emulator():
    """host:port of something that answers the emulator's health route."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_outputs(local_dir, outputs):
    (local_dir / "terraform" / "outputs.json").write_text(
        json.dumps({name: {"value": value} for name, value in outputs.items()})
    )


@pytest.fixture
def local_stack_dir(tmp_path, monkeypatch, emulator):
    (tmp_path / "terraform").mkdir()
    (tmp_path / "instance-id").write_text("abc\n")
    (tmp_path / "terraform" / "instance-id").write_text("abc\n")
    _write_outputs(
        tmp_path,
        {
            "api_url": f"http://{emulator}/restapis/a1/api/_user_request_",
            "local_aws_endpoint": f"http://{emulator}",
            "region": REGION,
            "user_pool_id": "us-east-1_x",
        },
    )
    monkeypatch.setenv("LOCAL_AWS_DIR", str(tmp_path))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return tmp_path


def test_local_outputs_are_read_from_the_local_state_dir(local_stack_dir):
    assert make_admin.terraform_outputs("local")["user_pool_id"] == "us-east-1_x"


def test_no_local_stack_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCAL_AWS_DIR", str(tmp_path))
    with pytest.raises(SystemExit, match=r"no local stack in .*: run `make local` first"):
        make_admin.terraform_outputs("local")


def test_a_restarted_emulator_is_a_clear_error(local_stack_dir):
    (local_stack_dir / "instance-id").write_text("def\n")
    with pytest.raises(SystemExit, match="not the one `make local` deployed to"):
        make_admin.terraform_outputs("local")


def test_missing_outputs_are_named(local_stack_dir):
    (local_stack_dir / "terraform" / "outputs.json").write_text(json.dumps({"region": {"value": REGION}}))
    with pytest.raises(SystemExit, match="lack api_url, user_pool_id"):
        make_admin.terraform_outputs("local")


def _fake_terraform(tmp_path, monkeypatch, script: str):
    terraform = tmp_path / "terraform"
    terraform.write_text(f"#!/bin/sh\n{script}\n")
    terraform.chmod(terraform.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("TF", str(terraform))


def test_an_undeployed_environment_is_a_clear_error(tmp_path, monkeypatch):
    _fake_terraform(tmp_path, monkeypatch, "echo '{}'")
    with pytest.raises(
        SystemExit, match=r"dev has no Terraform outputs: nothing is deployed; run `make deploy"
    ):
        make_admin.terraform_outputs("dev")


def test_an_uninitialised_environment_is_a_clear_error(tmp_path, monkeypatch):
    _fake_terraform(
        tmp_path, monkeypatch, "echo 'Backend initialization required: run \"terraform init\"' >&2; exit 1"
    )
    with pytest.raises(
        SystemExit, match=r"terraform/envs/dev is not initialised here.*`make deploy ENV=dev`"
    ):
        make_admin.terraform_outputs("dev")


def test_a_failing_terraform_output_is_a_clear_error(tmp_path, monkeypatch):
    _fake_terraform(tmp_path, monkeypatch, "echo 'Backend initialization required' >&2; exit 1")
    with pytest.raises(
        SystemExit, match=r"`terraform output` failed for prod: Backend initialization required"
    ):
        make_admin.terraform_outputs("prod")


def test_local_clients_are_built_by_localstack_client_for_local_aws_host_and_port(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("LOCAL_AWS_DIR", str(tmp_path))  # no stack there: the variables decide
    monkeypatch.setenv("LOCAL_AWS_HOST", "10.1.2.3")
    monkeypatch.setenv("LOCAL_AWS_PORT", "4999")
    session = make_admin.aws_session("local", "eu-west-1")
    idp = session.client("cognito-idp")
    assert type(session).__module__ == "localstack_client.session"
    assert idp.meta.endpoint_url == "http://10.1.2.3:4999"
    assert idp.meta.region_name == "eu-west-1"


def test_the_local_endpoint_is_the_one_make_local_applied_the_stack_to(
    local_stack_dir, emulator, monkeypatch
):
    # `LOCAL_AWS_PORT=4632 make local`, then `make admin` without the variable: the stack is still found.
    monkeypatch.setenv("LOCAL_AWS_PORT", "4566")
    assert make_admin.local_endpoint() == emulator
    session = make_admin.aws_session("local", REGION)
    assert session.client("cognito-idp").meta.endpoint_url == f"http://{emulator}"


def test_a_stack_applied_before_the_endpoint_output_is_found_by_its_api_url(local_stack_dir, emulator):
    outputs = json.loads((local_stack_dir / "terraform" / "outputs.json").read_text())
    del outputs["local_aws_endpoint"]
    (local_stack_dir / "terraform" / "outputs.json").write_text(json.dumps(outputs))
    assert make_admin.local_endpoint() == emulator


@pytest.mark.parametrize("script", ["make_admin", "reconcile", "serve", "logs"])
def test_nothing_listening_locally_is_one_line_naming_the_endpoint(local_stack_dir, script, capsys):
    port = _free_port()
    _write_outputs(
        local_stack_dir,
        {
            "api_url": f"http://127.0.0.1:{port}/restapis/a1/api/_user_request_",
            "local_aws_endpoint": f"http://127.0.0.1:{port}",
            "region": REGION,
            "user_pool_id": "us-east-1_x",
            "function_name": "f",
            "log_group_name": "/aws/lambda/f",
        },
    )
    main = importlib.import_module(f"scripts.{script}").main
    args = ["--email", "new@example.com", "--env", "local"] if script == "make_admin" else []
    with pytest.raises(SystemExit) as stopped:
        main(args)
    message = str(stopped.value.code)
    assert message.startswith(f"{script.replace('make_', '')}: nothing answers at http://127.0.0.1:{port}, ")
    assert message.endswith("start it again with `make local`")
    assert "\n" not in message
    assert "Traceback" not in capsys.readouterr().err


def test_the_emulator_stopping_after_the_outputs_were_read_is_a_clear_error(local_stack_dir, monkeypatch):
    port = _free_port()
    monkeypatch.setattr(make_admin, "local_endpoint", lambda: f"127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(
        SystemExit, match=f"nothing answers at the local AWS target at 127.0.0.1:{port}: start"
    ):
        make_admin.run("local", "new@example.com", None)


def test_an_email_is_required():
    with pytest.raises(SystemExit, match="EMAIL must be an email address"):
        make_admin.main(["--email", "nobody", "--env", "local"])
