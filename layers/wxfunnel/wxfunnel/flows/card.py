"""The mini-program card: a card (or a contact button's `session-from`) carrying a context becomes a reminder opt-in.

The app's card rule turns the context (e.g. `live_id=10&user_id=5`) into a scene; the sender creates a temporary
QR_STR_SCENE on the card's Official Account (OA token) and sends it back through the Mini Program (MP token).
Following or scanning it records the opt-in that reminders for that scene select on.
"""

from __future__ import annotations

from wxfunnel.config.rules import CardRule, SceneSource
from wxfunnel.domain.jobs import Job, JobKind, QrCode
from wxfunnel.flows.base import NOTHING, Context, Decision
from wxfunnel.flows.handoff import fallback
from wxfunnel.flows.keywords import template_fallback
from wxfunnel.protocol.messages import MiniProgramPageMessage, UserEnterTempSessionEvent


def card_qr(card: CardRule, scene: str) -> QrCode:
    return QrCode(
        oa=card.oa,
        scene=scene,
        expire_seconds=card.expire_seconds,
        send_as=card.send_as,
        title=card.title,
        description=card.description,
        thumb_url=card.thumb_url,
        opt_in_text=card.opt_in_text,
        window_closed_template=template_fallback(card.window_closed_template),
    )


def _job(context: Context, source: SceneSource, value: str) -> Job | None:
    card = context.app.rules.card
    if card is None:
        return None
    scene = card.scene_for(source, value)
    return context.job(JobKind.CARD_QR, card_qr(card, scene)) if scene is not None else None


def mp_card(context: Context) -> Decision:
    message = context.message
    assert isinstance(message, MiniProgramPageMessage)
    job = _job(context, "page_query", message.page_path or "")
    if job is None:
        return fallback(context)
    return Decision(jobs=(job,))


def mp_session(context: Context) -> Decision:
    """Entering the contact session from a button whose `session-from` has a context sends the QR."""
    message = context.message
    assert isinstance(message, UserEnterTempSessionEvent)
    job = _job(context, "session_from", message.session_from or "")
    return Decision(jobs=(job,)) if job is not None else NOTHING
