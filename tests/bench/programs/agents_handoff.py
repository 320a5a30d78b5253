"""An openai-agents triage agent handing off to a specialist with a tool."""

import asyncio
import os

from agents import Agent, Runner, function_tool


@function_tool
def lookup_invoice(invoice_id: str) -> str:
    """Look an invoice up by its id."""
    return f"invoice {invoice_id}: paid"


billing = Agent(
    name="billing", instructions="Answer billing questions.", tools=[lookup_invoice], model="gpt-4o-mini"
)
triage = Agent(name="triage", instructions="Hand over to billing.", handoffs=[billing], model="gpt-4o-mini")


async def main() -> None:
    copy = os.environ["AIOS_BENCH_COPY"]
    result = await Runner.run(triage, f"Was invoice INV-{copy} paid?")
    print(copy, result.last_agent.name, result.final_output)


asyncio.run(main())
