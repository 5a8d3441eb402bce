"""Example values for tests and benchmarks: one place that knows how to build a valid record, so a field added to
it is taught here once.

    channel("spring", permanent=False, tag="store")  # any field of domain.channels.Channel may be given
    channel("booth", **NO_CODE)  # no code yet (pending; a live code's first visit makes one)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wxfunnel.domain.channels import Channel

OA = "demo-oa"
STAMP = "2026-01-01T00:00:00Z"
NO_CODE: dict[str, Any] = {"ticket": "", "url": "", "image_url": ""}  # a channel whose code is not made yet


def channel(scene: str = "spring", **fields: Any) -> Channel:
    """A channel of the development Official Account holding a permanent code (ticket "T"), created at STAMP."""
    from wxfunnel.domain.channels import Channel  # the layer is on the path once a test or benchmark runs

    values: dict[str, Any] = {
        "app": OA,
        "scene": scene,
        "scene_type": "str",
        "permanent": True,
        "kind": "channel",
        "ticket": "T",
        "url": "http://weixin.qq.com/q/x",
        "image_url": "https://mp.example/qr",
        "name": f"Channel {scene}",
        "created_at": STAMP,
        "updated_at": STAMP,
    }
    values.update(fields)
    return Channel(**values)
