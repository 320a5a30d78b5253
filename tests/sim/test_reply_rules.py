"""The reply rules of ``mode=auto`` on the wire: relevant tools, arguments, delegation, speakers."""

from __future__ import annotations

import json
from typing import Any

from aios.sim import SimConfig, SimProvider

H = {"authorization": "Bearer k"}


def fn(name: str, description: str, props: dict[str, Any] | None = None) -> dict[str, Any]:
    schema = {"type": "object", "properties": props or {}, "required": list(props or {})}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}


CONTACT_TOOLS = [
    fn("send_email", "Send an email message to an address.", {"to": {"type": "string"}}),
    fn(
        "get_user_data",
        "Get the account data of a user: plan and billing status.",
        {"user_id": {"type": "string"}},
    ),
    fn(
        "get_contact_info",
        "Get the contact info (phone and email) of a person.",
        {"name": {"type": "string"}},
    ),
]
MATH_TOOLS = [
    fn("add", "Add two integers.", {"a": {"type": "integer"}, "b": {"type": "integer"}}),
    fn("multiply", "Multiply two integers.", {"a": {"type": "integer"}, "b": {"type": "integer"}}),
]
DELEGATION = (
    "{verb} to one of the following coworkers: Researcher, Writer\n"
    "The input to this tool should be the coworker, the task you want them to do, and ALL context."
)
COWORKER_TOOLS = [
    fn(
        "delegate_work_to_coworker",
        DELEGATION.format(verb="Delegate a specific task"),
        {"task": {"type": "string"}, "context": {"type": "string"}, "coworker": {"type": "string"}},
    ),
    fn(
        "ask_question_to_coworker",
        DELEGATION.format(verb="Ask a specific question"),
        {"question": {"type": "string"}, "context": {"type": "string"}, "coworker": {"type": "string"}},
    ),
]


async def chat(sim: SimProvider, messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    result = await sim.handle(
        "POST", "/v1/chat/completions", {"model": "m", "messages": messages, **extra}, H
    )
    assert result.status == 200, result.json
    assert result.json is not None
    message: dict[str, Any] = result.json["choices"][0]["message"]
    return message


def calls(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in message.get("tool_calls") or []
    ]


def answered(messages: list[dict[str, Any]], message: dict[str, Any], result: str = "done") -> None:
    """Append the assistant's tool calls and one result per call, as an agent loop does."""
    messages.append(message)
    for call in message["tool_calls"]:
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})


async def test_only_the_relevant_tool_is_called_then_the_answer() -> None:
    sim = SimProvider()
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "What is the contact info of Ada Lovelace?"}
    ]
    first = await chat(sim, messages, tools=CONTACT_TOOLS)
    assert calls(first) == [("get_contact_info", {"name": "Ada"})]
    answered(messages, first, "Ada: +1 555 0100")
    final = await chat(sim, messages, tools=CONTACT_TOOLS)
    assert not final.get("tool_calls") and "+1 555 0100" in final["content"]


async def test_a_request_for_two_things_calls_both_tools_at_once() -> None:
    sim = SimProvider()
    message = await chat(sim, [{"role": "user", "content": "What is (2 + 3) * 4?"}], tools=MATH_TOOLS)
    assert [name for name, _ in calls(message)] == ["add", "multiply"]
    single = await chat(sim, [{"role": "user", "content": "What is 2 + 3?"}], tools=MATH_TOOLS)
    assert calls(single) == [("add", {"a": 2, "b": 3})]


async def test_parallel_tool_calls_false_takes_the_two_asks_one_per_round() -> None:
    sim = SimProvider()
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Work out (2 + 3) * 4 please."}]
    names: list[str] = []
    for _ in range(4):
        message = await chat(sim, messages, tools=MATH_TOOLS, parallel_tool_calls=False)
        if not message.get("tool_calls"):
            break
        assert len(message["tool_calls"]) == 1
        names += [name for name, _ in calls(message)]
        answered(messages, message)
    assert names == ["add", "multiply"]
    assert message["content"]


async def test_a_request_naming_no_tool_uses_each_offered_tool_once() -> None:
    sim = SimProvider()
    tools = [fn("population", "Population of a city."), fn("local_time", "Local time in a city.")]
    message = await chat(sim, [{"role": "user", "content": "Tell me about Lima."}], tools=tools)
    assert [name for name, _ in calls(message)] == ["population", "local_time"]


async def test_tool_choice_none_required_and_named_win_over_relevance() -> None:
    sim = SimProvider()
    ask = [{"role": "user", "content": "What is the contact info of Ada?"}]
    none = await chat(sim, ask, tools=CONTACT_TOOLS, tool_choice="none")
    assert not none.get("tool_calls") and none["content"]
    named = await chat(
        sim, ask, tools=CONTACT_TOOLS, tool_choice={"type": "function", "function": {"name": "send_email"}}
    )
    assert [name for name, _ in calls(named)] == ["send_email"]
    # "required" after the relevant tool already ran: still a call, to the relevant tool.
    first = await chat(sim, ask, tools=CONTACT_TOOLS)
    messages = [*ask]
    answered(messages, first)
    again = await chat(sim, messages, tools=CONTACT_TOOLS, tool_choice="required")
    assert [name for name, _ in calls(again)] == ["get_contact_info"]


async def test_arguments_prefer_quoted_text_and_named_enum_values() -> None:
    sim = SimProvider()
    count = fn("word_count", "Count the words in a text.", {"text": {"type": "string"}})
    message = await chat(
        sim, [{"role": "user", "content": "Count the words in 'the quick brown fox'"}], tools=[count]
    )
    assert calls(message) == [("word_count", {"text": "the quick brown fox"})]
    convert = fn(
        "convert_temperature",
        "Convert a temperature.",
        {
            "value": {"type": "number"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit", "kelvin"]},
        },
    )
    message = await chat(
        sim, [{"role": "user", "content": "Convert 20 degrees to fahrenheit"}], tools=[convert]
    )
    assert calls(message) == [("convert_temperature", {"value": 20, "unit": "fahrenheit"})]


async def test_one_call_per_coworker_and_the_coworker_the_task_names() -> None:
    sim = SimProvider()
    both = "\nCurrent Task: Write a summary and ask a question about tides\n\nThis is the expected criteria"
    message = await chat(sim, [{"role": "user", "content": both}], tools=COWORKER_TOOLS)
    coworkers = [args["coworker"] for _, args in calls(message)]
    assert coworkers == ["Writer"]  # never two tasks for one coworker at once
    research = await chat(
        sim,
        [{"role": "user", "content": "Current Task: Research three facts about tides"}],
        tools=COWORKER_TOOLS,
    )
    assert calls(research) == [
        (
            "delegate_work_to_coworker",
            {
                "task": "Research three facts about tides",
                "context": "Research three facts about tides",
                "coworker": "Researcher",
            },
        )
    ]


SELECTOR = """You are in a role play game. The following roles are available:
planner: Plans the work.
researcher: Finds facts.
writer: Writes the final text.
Read the following conversation. Then select the next role from {participants} to play. Only return the role.

{history}

Read the above conversation. Then select the next role from {participants} to play. Only return the role.
"""


async def test_speaker_selection_names_exactly_one_candidate_and_rotates() -> None:
    sim = SimProvider()
    names = ["planner", "researcher", "writer"]
    history = ["user: Write a short note about tides."]
    picked: list[str] = []
    previous: str | None = None
    for _ in range(6):
        candidates = [n for n in names if n != previous]
        prompt = SELECTOR.format(participants=str(candidates), history="\n\n".join(history))
        message = await chat(sim, [{"role": "system", "content": prompt}])
        assert message["content"] in candidates
        previous = message["content"]
        picked.append(previous)
        history.append(f"{previous}: some text")
    assert picked == ["planner", "researcher", "writer", "planner", "researcher", "writer"]


async def test_speaker_selection_answers_the_retry_feedback_with_a_listed_name() -> None:
    sim = SimProvider()
    messages = [
        {"role": "system", "content": SELECTOR.format(participants="['planner', 'writer']", history="")},
        {"role": "assistant", "content": "I think someone should speak."},
        {
            "role": "user",
            "content": "No valid name was mentioned. Please select from: ['planner', 'writer'].",
        },
    ]
    message = await chat(sim, messages)
    assert message["content"] == "planner"


async def test_ordinary_prompts_are_not_taken_for_speaker_selection() -> None:
    sim = SimProvider()
    message = await chat(sim, [{"role": "user", "content": "Pick a colour [red or blue] for the logo."}])
    assert message["content"] not in ("red", "blue")
    message = await chat(sim, [{"role": "user", "content": "Write about the list [a, b, c]."}])
    assert message["content"].startswith("Answer:")


async def test_responses_and_messages_apis_pick_the_relevant_tool_too() -> None:
    sim = SimProvider()
    tools = [
        {
            "type": "function",
            "name": t["function"]["name"],
            "description": t["function"]["description"],
            "parameters": t["function"]["parameters"],
        }
        for t in CONTACT_TOOLS
    ]
    result = await sim.handle(
        "POST",
        "/v1/responses",
        {"model": "m", "input": "Send an email to bob@example.com", "tools": tools},
        H,
    )
    assert result.json is not None
    assert [i["name"] for i in result.json["output"] if i["type"] == "function_call"] == ["send_email"]
    anthropic_tools = [
        {"name": t["name"], "description": t["description"], "input_schema": t["parameters"]} for t in tools
    ]
    body = {
        "model": "claude-sim",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "Which plan is user 42 on?"}],
        "tools": anthropic_tools,
    }
    result = await sim.handle("POST", "/v1/messages", body, {"x-api-key": "k"})
    assert result.json is not None
    assert [b["name"] for b in result.json["content"] if b["type"] == "tool_use"] == ["get_user_data"]


async def test_react_prompt_uses_the_relevant_tool_only() -> None:
    system = (
        "You ONLY have access to the following tools:\n\n"
        'Tool Name: weather\nTool Arguments: {"properties": {"city": {"type": "string"}}, "type": "object"}\n'
        "Tool Description: The weather in a city.\n\n"
        "Tool Name: stock_price\n"
        'Tool Arguments: {"properties": {"ticker": {"type": "string"}}, "type": "object"}\n'
        "Tool Description: The share price of a company.\n\n"
        "Use the format:\nThought: ...\nAction: the action\nAction Input: the input\n"
        "Observation: the result of the action\nFinal Answer: the final answer"
    )
    sim = SimProvider(SimConfig(max_tool_rounds=3))
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        {"role": "user", "content": "Current Task: What is the weather in Oslo?"},
    ]
    first = await chat(sim, messages)
    assert "Action: weather\n" in first["content"] and '"city": "Oslo"' in first["content"]
    messages.append({"role": "assistant", "content": first["content"] + "\nObservation: rainy in Oslo"})
    second = await chat(sim, messages)
    assert "Final Answer:" in second["content"] and "rainy in Oslo" in second["content"]


async def test_structured_routing_rotates_through_the_options_to_the_last() -> None:
    sim = SimProvider()
    schema = {
        "type": "object",
        "properties": {"next": {"type": "string", "enum": ["researcher", "coder", "FINISH"]}},
        "required": ["next"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "Router", "schema": schema}}
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Respond with the worker to act next, or FINISH."},
        {"role": "user", "content": "Find the mean of 3, 5 and 10, then chart it."},
    ]
    routes: list[str] = []
    for _ in range(4):
        message = await chat(sim, messages, response_format=fmt)
        routes.append(json.loads(message["content"])["next"])
        if routes[-1] == "FINISH":
            break
        messages.append({"role": "user", "content": "Worker result: done.", "name": routes[-1]})
    assert routes == ["researcher", "coder", "FINISH"]
    # An option the request names wins over the rotation.
    named = await chat(
        sim, [*messages[:2], {"role": "user", "content": "Ask the researcher."}], response_format=fmt
    )
    assert json.loads(named["content"]) == {"next": "researcher"}
