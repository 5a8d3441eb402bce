"""Errors of the admin API's logic: each carries its HTTP status, a stable code and the field it is about.

The logic raises them; `entry.admin.http` is the one place that turns them (and WeChat errors) into
responses.
"""

from __future__ import annotations

from typing import ClassVar


class AdminError(Exception):
    """A refused request; `message` is shown to the operator, `field` names the input at fault."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(AdminError):
    """The request cannot be read at all (malformed JSON, a body that is not an object)."""


class ValidationFailed(AdminError):
    """The request is readable but breaks a rule; the message names the field and the rule."""

    status = 422
    code = "validation_error"


class NotFound(AdminError):
    status = 404
    code = "not_found"


class Conflict(AdminError):
    """The request clashes with the stored state (e.g. the permanent-code quota is used up)."""

    status = 409
    code = "conflict"


class Gone(AdminError):
    """The thing existed but no longer does (e.g. an expired QR code)."""

    status = 410
    code = "gone"


def invalid(field: str, rule: str) -> ValidationFailed:
    """A 422 naming the field and the rule it breaks (`Fields` raises these for the admin API)."""
    return ValidationFailed(f"{field}: {rule}", field=field)
