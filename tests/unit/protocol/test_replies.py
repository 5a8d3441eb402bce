"""Passive replies: only the reply types WeChat knows can be rendered (anything else is a programming error)."""

from __future__ import annotations

import pytest

from wxfunnel.protocol.documents import BodyFormat
from wxfunnel.protocol.replies import render_reply


def test_rendering_something_that_is_not_a_reply_is_a_programming_error_naming_its_type() -> None:
    with pytest.raises(TypeError, match=r"^not a reply: str$"):
        render_reply("hi", openid="o-u", account_id="gh_x", create_time=7, fmt=BodyFormat.XML)  # type: ignore[arg-type]
