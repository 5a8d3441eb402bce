"""Human hand-off: what no rule answers goes to the app's fallback (a text, or WeChat's customer-service system)."""

from __future__ import annotations

from wxfunnel.config.base import AccountKind
from wxfunnel.config.rules import TextAction
from wxfunnel.domain.jobs import CustomMessage, JobKind
from wxfunnel.flows.base import NOTHING, Context, Decision
from wxfunnel.protocol.replies import TextReply, TransferCustomerService


def fallback(context: Context) -> Decision:
    """The fallback of the app's rules: transfer to customer service (passive reply), a text, or nothing."""
    rule = context.app.rules.fallback
    if rule.kind == "transfer_customer_service":
        return Decision(reply=TransferCustomerService(rule.kf_account))
    if rule.kind == "text" and rule.text:
        if context.app.kind is AccountKind.OFFICIAL_ACCOUNT:
            return Decision(reply=TextReply(rule.text))
        # A Mini Program cannot answer passively: the text goes out as a customer-service message.
        return Decision(jobs=(context.job(JobKind.CUSTOM_MESSAGE, CustomMessage(TextAction(rule.text))),))
    return NOTHING


def other_messages(context: Context) -> Decision:
    """Messages no rule can answer (images …) go to the fallback (typically a human agent)."""
    return fallback(context)
