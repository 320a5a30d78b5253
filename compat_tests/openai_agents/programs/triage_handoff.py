"""A triage agent handing off to one of two specialists, run concurrently on several requests.

An ordinary openai-agents program (no aios import). The triage agent only offers the handoff that
fits the request's topic (``is_enabled``), so each request reaches a known specialist. Results are
printed in input order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents import Agent, Runner, function_tool, handoff


@function_tool
def lookup_invoice(invoice_id: str) -> str:
    """Look an invoice up by its id."""
    return f"invoice {invoice_id}: paid on 2026-03-02"


@function_tool
def track_parcel(tracking_number: str) -> str:
    """Track a parcel by its tracking number."""
    return f"parcel {tracking_number}: out for delivery"


billing = Agent(
    name="billing",
    instructions="You answer billing questions.",
    tools=[lookup_invoice],
    model="gpt-4o-mini",
)
shipping = Agent(
    name="shipping",
    instructions="You answer shipping questions.",
    tools=[track_parcel],
    model="gpt-4o-mini",
)


def offered_for(topic: str) -> Any:
    return lambda ctx, _agent: ctx.context == topic


triage = Agent(
    name="triage",
    instructions="Hand the customer to the right specialist.",
    handoffs=[
        handoff(billing, is_enabled=offered_for("billing")),
        handoff(shipping, is_enabled=offered_for("shipping")),
    ],
    model="gpt-4o-mini",
)

REQUESTS = [
    ("billing", "Was invoice INV-1001 paid?"),
    ("shipping", "Where is parcel PX-77?"),
    ("billing", "Please check invoice INV-2002."),
    ("shipping", "Track PX-88 for me."),
    ("billing", "Status of invoice INV-3003?"),
    ("shipping", "Is PX-99 delivered yet?"),
]


async def main() -> None:
    results = await asyncio.gather(*(Runner.run(triage, text, context=topic) for topic, text in REQUESTS))
    for (topic, text), result in zip(REQUESTS, results, strict=True):
        print(f"[{topic}] {text} -> {result.last_agent.name}: {result.final_output}")


if __name__ == "__main__":
    asyncio.run(main())
