from gateway_localstack.apigw.gateway_responses import response_headers

CORS = {
    "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin",
    "gatewayresponse.header.Vary": "'Origin'",
}


def _headers(**values):
    lowered = {name.lower(): value for name, value in values.items()}
    return lambda name: lowered.get(name.lower())


def test_static_values_and_request_headers_are_mapped():
    headers = response_headers(CORS, _headers(origin="http://localhost:5173"), {}, {})
    assert headers == {"Access-Control-Allow-Origin": "http://localhost:5173", "Vary": "Origin"}


def test_a_source_the_request_lacks_sets_no_header():
    assert response_headers(CORS, _headers(), {}, {}) == {"Vary": "Origin"}


def test_querystring_and_path_sources():
    parameters = {
        "gatewayresponse.header.X-From-Query": "method.request.querystring.q",
        "gatewayresponse.header.X-From-Path": "method.request.path.proxy",
    }
    assert response_headers(parameters, _headers(), {"q": "1"}, {"proxy": "bots/1"}) == {
        "X-From-Query": "1",
        "X-From-Path": "bots/1",
    }


def test_unsupported_sources_and_targets_are_skipped():
    parameters = {
        "gatewayresponse.header.X-Stage": "stageVariables.name",
        "gatewayresponse.header.X-Odd": "method.request.header",
        "gatewayresponse.querystring.q": "'1'",
    }
    assert response_headers(parameters, _headers(), {}, {}) == {}
    assert response_headers(None, _headers(), {}, {}) == {}
