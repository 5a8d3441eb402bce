"""The stack's outputs, the README and docs/deploy.md name the same WeChat console paths and addresses, and none of
them sends anyone to the settings WeChat has moved away (设置与开发 → 基本配置)."""

from __future__ import annotations

import re

from wxfunnel_tools.template import ROOT, load_template

GUIDE = ROOT / "docs" / "deploy.md"
README = ROOT / "README.md"
# A WeChat address as the texts write it (no scheme): developers.weixin.qq.com/platform, mp.weixin.qq.com/…
ADDRESS = re.compile(r"(?:https?://)?(?:[a-z0-9-]+\.)*(?:weixin\.qq\.com|qq\.com)(?:/[^\s;,)`]*)?")
# A console path is written "A > B > C", each step a word without spaces.
CHAIN = re.compile(r"[^\s;:,()]+(?: > [^\s;:,()]+)+")
RETIRED = ("设置与开发", "基本配置")


def _flat(text: str) -> str:
    return " ".join(text.split())


def console_paths(text: str) -> list[str]:
    """The "A > B > C" chains of `text`, addresses removed (they are checked on their own)."""
    return [chain.rstrip(".") for chain in CHAIN.findall(_flat(ADDRESS.sub(" ", text)))]


def addresses(text: str) -> list[str]:
    return [address.rstrip(".") for address in ADDRESS.findall(text)]


def output_descriptions() -> dict[str, str]:
    return {name: str(output["Description"]) for name, output in load_template()["Outputs"].items()}


def deploy_section() -> str:
    readme = README.read_text(encoding="utf-8")
    start = readme.index("## Deploy to AWS and connect real accounts")
    return readme[start : readme.index("\n## ", start + 1)]


def test_the_outputs_that_send_people_to_a_console_name_its_path() -> None:
    descriptions = output_descriptions()
    for name in ("CallbackUrlPattern", "EgressIp"):
        assert console_paths(descriptions[name]), name
        assert "docs/deploy.md" in descriptions[name], name
    assert console_paths(descriptions["CallbackUrlPattern"]) == [
        "微信开发者平台 > 我的业务 > 公众号/服务号 > 基础信息 > 域名与消息推送配置",
        "微信公众平台 > 开发 > 开发管理 > 开发设置 > 消息推送",
    ]


def test_every_console_path_and_address_of_the_outputs_is_in_the_guide() -> None:
    guide = _flat(GUIDE.read_text(encoding="utf-8"))
    for name, description in output_descriptions().items():
        for path in console_paths(description):
            assert path in guide, f"{name}: {path!r} is not in docs/deploy.md"
        for address in addresses(description):
            assert address in guide, f"{name}: {address!r} is not in docs/deploy.md"


def test_the_readmes_deploy_steps_say_what_the_guide_says() -> None:
    section = deploy_section()
    guide = _flat(GUIDE.read_text(encoding="utf-8"))
    assert "docs/deploy.md" in section
    paths = console_paths(section)
    assert len(paths) >= 3
    for path in paths:
        assert path in guide, f"README: {path!r} is not in docs/deploy.md"
    for address in addresses(section):
        assert address in guide, f"README: {address!r} is not in docs/deploy.md"


def test_no_output_or_deploy_step_sends_people_to_the_retired_settings() -> None:
    for name, description in output_descriptions().items():
        assert not any(word in description for word in RETIRED), name
    section = deploy_section()
    assert not any(word in section for word in RETIRED)
    # The guide names the old place once, as where the settings used to be.
    guide = GUIDE.read_text(encoding="utf-8")
    assert _flat(guide).count("设置与开发 → 基本配置") == 1 and "Before the move" in guide


def test_the_guide_cites_the_migration_note_and_the_test_accounts_entry() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    for address in (
        "developers.weixin.qq.com/platform",
        "developers.weixin.qq.com/doc/service/guide/dev/migration.html",
        "mp.weixin.qq.com/debug/cgi-bin/sandbox?t=sandbox/login",
        "developers.weixin.qq.com/doc/offiaccount/Getting_Started/Explanation_of_interface_privileges.html",
    ):
        assert address in guide, address
