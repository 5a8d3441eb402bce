"""GET /wechat/{app}: WeChat's URL verification through the real VerifyFunction handler."""

import json

from wxfunnel_tools.apigw import proxy_event
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import verify_event


def _get(app, query):
    return proxy_event("GET", "/wechat/{app}", f"/wechat/{app}", path_parameters={"app": app}, query=query)


def test_a_correct_signature_echoes_echostr_as_plain_text(callback):
    reply = callback.verify(verify_event("demo-oa", DEV_APPS["demo-oa"]["token"], echostr="hello-123"))
    assert reply.status == 200
    assert reply.body == b"hello-123"
    assert reply.headers["Content-Type"].startswith("text/plain")


def test_the_official_vector_verifies(aws, callback):
    config = {"kind": "official_account", "appid": "wxba5fad812f8e6fb9", "secret": "s", "token": "AAAAA"}
    aws.ssm.put_parameter(Name="/wxfunnel/apps/vector", Value=json.dumps(config), Type="SecureString")
    query = {
        "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
        "timestamp": "1714036504",
        "nonce": "1514711492",
        "echostr": "4375120948345356249",
    }
    reply = callback.verify(_get("vector", query))
    assert (reply.status, reply.body) == (200, b"4375120948345356249")


def test_a_forged_signature_is_403_and_never_echoes(callback):
    event = verify_event("demo-oa", "not-the-token", echostr="leak-me")
    reply = callback.verify(event)
    assert reply.status == 403
    assert b"leak-me" not in reply.body


def test_missing_parameters_are_400(callback):
    query = {"timestamp": "1714036504", "nonce": "1", "echostr": "x"}
    assert callback.verify(_get("demo-oa", query)).status == 400
    assert callback.verify(_get("demo-oa", None)).status == 400


def test_an_unknown_app_is_404(callback):
    reply = callback.verify(verify_event("no-such-app", "whatever"))
    assert reply.status == 404


def test_an_app_name_that_is_not_a_name_is_404(callback):
    reply = callback.verify(verify_event("..%2Fetc", "whatever"))
    assert reply.status == 404


def test_an_invalid_configuration_is_500_with_the_reason_logged_not_the_secret(aws, callback, logs):
    config = dict(DEV_APPS["demo-oa"], encoding_aes_key="tooShort", secret="TOP-SECRET-VALUE")
    aws.ssm.put_parameter(Name="/wxfunnel/apps/broken", Value=json.dumps(config), Type="SecureString")
    reply = callback.verify(verify_event("broken", config["token"]))
    assert reply.status == 500
    logs = logs()
    assert "encoding_aes_key" in logs
    assert "TOP-SECRET-VALUE" not in logs and "tooShort" not in logs
    assert b"TOP-SECRET" not in reply.body


def test_a_rejection_is_published_as_a_metric_of_that_invocation(callback, capsys):
    from wxfunnel.core.observability import metrics

    capsys.readouterr()
    assert callback.verify(verify_event("demo-oa", "not-the-token")).status == 403
    published = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [entry.get("RejectedRequests") for entry in published] == [[1.0]]
    assert metrics.metric_set == {}  # nothing left over for the container's next invocation
