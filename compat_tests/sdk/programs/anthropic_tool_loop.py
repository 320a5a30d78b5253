"""A plain anthropic tool loop, finishing with a streamed answer. No aios import."""

from anthropic import Anthropic

MODEL = "claude-haiku-4-5"
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather for a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    {
        "name": "get_time",
        "description": "Local time in a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
]


def main() -> None:
    client = Anthropic()
    messages = [{"role": "user", "content": "Weather and time in Oslo?"}]
    ran = []
    for _turn in range(6):
        reply = client.messages.create(model=MODEL, max_tokens=256, messages=messages, tools=TOOLS)
        uses = [b for b in reply.content if b.type == "tool_use"]
        if not uses:
            break
        messages.append({"role": "assistant", "content": reply.content})
        results = []
        for use in uses:
            ran.append(use.name)
            results.append({"type": "tool_result", "tool_use_id": use.id, "content": f"{use.name} ok"})
        messages.append({"role": "user", "content": results})
    print("tools:", sorted(ran))
    print("stop:", reply.stop_reason)
    bye = [{"role": "user", "content": "Bye"}]
    with client.messages.stream(model=MODEL, max_tokens=64, messages=bye) as s:
        final = s.get_final_message()
    print("streamed stop:", final.stop_reason)


if __name__ == "__main__":
    main()
