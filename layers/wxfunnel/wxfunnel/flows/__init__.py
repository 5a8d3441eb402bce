"""The product's flows, one module each, registered here in one table: (account kind, message type) → flow.

    follow     Official Account follows, scans, unfollows: greeting per channel, referral, tag, erasure
    keywords   keyword replies (OA passive, MP through the outbox), follow-QR replies
    referral   a follower's own code (keyword or menu CLICK) and name; other CLICK keys as keywords
    card       Mini Program card / session-from context → an OA QR, the reminder opt-in
    handoff    the fallback: a text or WeChat's customer-service system

Every flow is pure (`base.Context` → `base.Decision`); a push no flow handles is acknowledged with nothing to say.
"""

from __future__ import annotations

from wxfunnel.config.base import AccountKind
from wxfunnel.flows import card, follow, handoff, keywords, referral
from wxfunnel.flows.base import NOTHING, Context, Decision, Flow
from wxfunnel.protocol.messages import (
    ImageMessage,
    MenuEvent,
    Message,
    MiniProgramPageMessage,
    ScanEvent,
    SubscribeEvent,
    TextMessage,
    UnsubscribeEvent,
    UserEnterTempSessionEvent,
)

OA = AccountKind.OFFICIAL_ACCOUNT
MP = AccountKind.MINI_PROGRAM

FLOWS: dict[tuple[AccountKind, type[Message]], Flow] = {
    (OA, SubscribeEvent): follow.oa_follow,
    (OA, ScanEvent): follow.oa_scan,
    (OA, UnsubscribeEvent): follow.oa_unfollow,
    (OA, TextMessage): referral.oa_text,
    (OA, MenuEvent): referral.oa_menu,
    (MP, TextMessage): keywords.text_keywords,
    (OA, ImageMessage): handoff.other_messages,
    (MP, ImageMessage): handoff.other_messages,
    (MP, MiniProgramPageMessage): card.mp_card,
    (MP, UserEnterTempSessionEvent): card.mp_session,
}


def decide(context: Context) -> Decision:
    """Run the flow registered for this push; pushes nobody handles are acknowledged with nothing to say."""
    flow = FLOWS.get((context.app.kind, type(context.message)))
    return flow(context) if flow is not None else NOTHING


__all__ = ["FLOWS", "Context", "Decision", "decide"]
