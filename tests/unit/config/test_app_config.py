"""wxfunnel.config.loader.load_app: unknown apps are remembered, so a flood of them cannot throttle SSM for the real ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from wxfunnel.config import app as config_app
from wxfunnel.config import loader
from wxfunnel.config.base import InvalidAppConfig, UnknownApp
from wxfunnel.config.loader import load_app
from wxfunnel.core.settings import settings
from wxfunnel_tools.devapps import DEV_APPS

PREFIX = "/wxfunnel/apps/"


class CountingSsm:
    """Powertools' SSM provider as load_app sees it: the parameters that exist, and every path asked for."""

    def __init__(self, parameters: dict[str, str]) -> None:
        self.parameters = parameters
        self.asked: list[str] = []

    def get(self, path: str, **_: Any) -> str:
        self.asked.append(path)
        if path not in self.parameters:
            # What Powertools raises for a missing parameter (the boto3 error is its cause).
            raise GetParameterError(
                "An error occurred (ParameterNotFound) when calling the GetParameter operation"
            )
        return self.parameters[path]


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingSsm]:
    fake = CountingSsm({f"{PREFIX}demo-oa": json.dumps(DEV_APPS["demo-oa"])})
    monkeypatch.setenv("APPS_PARAMETER_PREFIX", PREFIX)
    monkeypatch.setenv("PARAMETERS_MAX_AGE_SECONDS", "300")
    monkeypatch.setattr(loader, "_provider", lambda: fake)
    settings.cache_clear()
    loader._reset_container()
    yield fake
    settings.cache_clear()
    loader._reset_container()


def _unknown(name: str) -> None:
    with pytest.raises(UnknownApp):
        load_app(name)


def test_an_unknown_app_is_asked_for_once_per_parameter_lifetime(ssm: CountingSsm) -> None:
    for _ in range(100):
        _unknown("nobody")
    assert ssm.asked == [f"{PREFIX}nobody"]


def test_known_apps_are_still_read_while_unknown_ones_are_remembered(ssm: CountingSsm) -> None:
    _unknown("nobody")
    assert load_app("demo-oa").appid == DEV_APPS["demo-oa"]["appid"]
    assert load_app("demo-oa").appid == DEV_APPS["demo-oa"]["appid"]
    assert ssm.asked == [f"{PREFIX}nobody", f"{PREFIX}demo-oa", f"{PREFIX}demo-oa"]


def test_an_unknown_app_is_asked_for_again_once_the_lifetime_is_over(
    ssm: CountingSsm, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(loader, "monotonic", lambda: clock[0])
    _unknown("late-app")
    clock[0] += 299
    _unknown("late-app")
    assert len(ssm.asked) == 1
    ssm.parameters[f"{PREFIX}late-app"] = json.dumps(DEV_APPS["demo-oa"])  # the operator creates it
    clock[0] += 2
    assert load_app("late-app").name == "late-app"
    assert len(ssm.asked) == 2


def test_the_memory_of_unknown_apps_is_bounded_and_forgets_the_oldest_first(ssm: CountingSsm) -> None:
    names = [f"nobody-{index}" for index in range(loader._UNKNOWN_MAX + 10)]
    for name in names:
        _unknown(name)
    assert len(loader._unknown) == loader._UNKNOWN_MAX
    ssm.asked.clear()
    _unknown(names[-1])  # still remembered
    _unknown(names[0])  # forgotten: asked again
    assert ssm.asked == [f"{PREFIX}{names[0]}"]


def test_a_name_that_cannot_be_an_app_never_reaches_ssm(ssm: CountingSsm) -> None:
    for name in ("", "../etc", "UPPER", "x" * 65):
        _unknown(name)
    assert ssm.asked == []


# --- message_mode: WeChat's 消息加解密方式 -------------------------------------------------------------------------


def _document(**changes: Any) -> dict[str, Any]:
    document = {k: v for k, v in DEV_APPS["demo-oa"].items() if k != "message_mode"}
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


def test_an_app_with_an_aes_key_requires_encrypted_pushes_unless_told_otherwise() -> None:
    assert config_app.parse_app_config("a", _document()).message_mode == "safe"
    assert config_app.parse_app_config("a", _document()).requires_encryption
    relaxed = config_app.parse_app_config("a", _document(message_mode="plaintext"))
    assert not relaxed.requires_encryption
    assert config_app.parse_app_config("a", _document(message_mode="compatible")).requires_encryption


def test_an_app_without_an_aes_key_is_in_plaintext_mode() -> None:
    parsed = config_app.parse_app_config("a", _document(encoding_aes_key=None))
    assert parsed.message_mode == "plaintext" and not parsed.requires_encryption


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"message_mode": "secure"}, "field 'message_mode' must be one of: plaintext, compatible, safe"),
        (
            {"message_mode": "safe", "encoding_aes_key": None},
            "field 'message_mode' 'safe' needs 'encoding_aes_key'",
        ),
    ],
)
def test_a_wrong_message_mode_is_refused_with_its_reason(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidAppConfig, match=message):
        config_app.parse_app_config("a", _document(**changes))


def test_an_account_counts_days_in_its_time_zone_beijing_unless_told_otherwise() -> None:
    assert config_app.parse_app_config("a", _document()).time_zone == "Asia/Shanghai"
    assert config_app.parse_app_config("a", _document(time_zone="Europe/Berlin")).time_zone == "Europe/Berlin"
    with pytest.raises(InvalidAppConfig, match="field 'time_zone' must be an IANA time zone"):
        config_app.parse_app_config("a", _document(time_zone="Beijing"))


# --- every core key, and each refusal naming its field ---------------------------------------------------------------

OTHER_KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"


def test_every_core_key_is_read() -> None:
    parsed = config_app.parse_app_config(
        "my-oa",
        _document(previous_encoding_aes_key=OTHER_KEY, token_endpoint="classic", message_mode="compatible"),
    )
    oa = DEV_APPS["demo-oa"]
    assert parsed == config_app.AppConfig(
        name="my-oa",
        kind=config_app.AccountKind.OFFICIAL_ACCOUNT,
        appid=oa["appid"],
        secret=oa["secret"],
        token=oa["token"],
        encoding_aes_key=oa["encoding_aes_key"],
        previous_encoding_aes_key=OTHER_KEY,
        original_id=oa["original_id"],
        token_endpoint="classic",
        message_mode="compatible",
    )
    assert parsed.is_official_account
    assert config_app.parse_app_config("a", _document(original_id=None)).token_endpoint == "stable"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "channel"}, "field 'kind' must be one of: official_account, mini_program"),
        ({"appid": "wx123"}, "field 'appid' must look like wx followed by 16 hex digits"),
        ({"secret": "s" * 129}, "field 'secret' is longer than 128 characters"),
        ({"token": "ab"}, "field 'token' must be 3 to 32 letters or digits (as the WeChat console requires)"),
        (
            {"encoding_aes_key": "short"},
            "field 'encoding_aes_key' must be exactly 43 letters or digits (got 5)",
        ),
        (
            {"encoding_aes_key": None, "previous_encoding_aes_key": OTHER_KEY},
            "field 'previous_encoding_aes_key' needs 'encoding_aes_key' as well",
        ),
        ({"token_endpoint": "fast"}, "field 'token_endpoint' must be 'stable' or 'classic'"),
        ({"secret": None}, "field 'secret' is required"),
    ],
)
def test_a_wrong_core_key_is_refused_naming_it(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidAppConfig) as caught:
        config_app.parse_app_config("a", _document(**changes))
    assert str(caught.value) == message


def test_the_longest_secret_is_accepted() -> None:
    assert config_app.parse_app_config("a", _document(secret="s" * 128)).secret == "s" * 128


def test_a_configuration_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidAppConfig) as caught:
        config_app.parse_app_config("a", ["kind"])
    assert str(caught.value) == "the configuration must be a JSON object"
