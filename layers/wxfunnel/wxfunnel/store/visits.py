"""The landing page's visit counter: one UpdateItem on the channel's sharded daily counter (store.counters).

A visit is counted outside any transaction (nothing else is written with it). Visitors are anonymous, so the
shard comes from a random key per visit: a viral poster's visits on one day spread over every shard.
"""

from __future__ import annotations

import secrets

from wxfunnel.core.aws import dynamodb
from wxfunnel.store.counters import counter_update


def count(app: str, scene: str, day: str) -> None:
    """Add one visit to `scene` on `day` (the account's local day)."""
    update = counter_update(app, scene, day, secrets.token_hex(4), {"visits": 1})["Update"]
    dynamodb().update_item(**update)
