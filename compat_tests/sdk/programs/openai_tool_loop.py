"""A plain openai tool loop: ask, run the tools the model calls, answer. No aios import."""

import json

from openai import OpenAI

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two integers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
]


def run_tool(name: str, args: dict) -> str:
    if name == "add":
        return str(int(args.get("a", 0)) + int(args.get("b", 0)))
    return f"sunny in {args.get('city', 'nowhere')}"


def main() -> None:
    client = OpenAI()
    messages = [{"role": "user", "content": "What is 2 + 3, and the weather in Paris?"}]
    ran = []
    for _turn in range(6):
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
        message = reply.choices[0].message
        if not message.tool_calls:
            print("answer:", bool(message.content))
            break
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            args = json.loads(call.function.arguments or "{}")
            ran.append(call.function.name)
            result = run_tool(call.function.name, args)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    print("tools:", sorted(ran))
    print("turns:", len([m for m in messages if m["role"] == "assistant"]) + 1)


if __name__ == "__main__":
    main()
