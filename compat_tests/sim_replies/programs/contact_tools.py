"""An openai-agents agent offered three tools, asked something only one of them answers."""

from agents import Agent, Runner, function_tool

ran: list[str] = []


@function_tool
def send_email(to: str, body: str) -> str:
    """Send an email message to an address."""
    ran.append("send_email")
    return f"sent to {to}"


@function_tool
def get_user_data(user_id: str) -> str:
    """Get the account data of a user: plan, signup date and billing status."""
    ran.append("get_user_data")
    return f"user {user_id}: plan pro"


@function_tool
def get_contact_info(name: str) -> str:
    """Get the contact info (phone and email) of a person by name."""
    ran.append("get_contact_info")
    return f"{name}: +1 555 0100, ada@example.com"


agent = Agent(
    name="assistant",
    instructions="Answer with the tools.",
    tools=[send_email, get_user_data, get_contact_info],
    model="gpt-4o-mini",
)
result = Runner.run_sync(agent, "What is the contact info of Ada Lovelace?")
print("tools:", ran)
print("answer:", result.final_output)
