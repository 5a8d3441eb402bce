"""The ids operators choose (promoters, campaigns, batches): one grammar, safe in a URL path, a DynamoDB key and a
generated scene (`<batch>-001`)."""

from __future__ import annotations

import re
from typing import Final

OPERATOR_ID: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def id_problem(value: object) -> str | None:
    """Why `value` cannot be an operator-chosen id, or None."""
    if not isinstance(value, str) or not OPERATOR_ID.fullmatch(value):
        return "must be 1-64 of a-z 0-9 _ -, starting with a letter or digit"
    return None
