"""A langgraph supervisor routing between two workers with structured output until FINISH."""

import os
from collections.abc import Callable
from typing import Literal

from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from typing_extensions import TypedDict

WORKERS = ["researcher", "coder"]
SYSTEM = (
    "You are a supervisor tasked with managing a conversation between the following workers: "
    f"{WORKERS}. Given the following user request, respond with the worker to act next. Each "
    "worker will perform a task and respond with their results and status. When finished, "
    "respond with FINISH."
)


class Router(TypedDict):
    """Worker to route to next. If no workers needed, route to FINISH."""

    next: Literal["researcher", "coder", "FINISH"]


model = ChatOpenAI(model="gpt-4o-mini", base_url=os.environ["OPENAI_BASE_URL"])
router = model.with_structured_output(Router)


def supervisor(state: MessagesState) -> dict[str, str]:
    choice = router.invoke([{"role": "system", "content": SYSTEM}, *state["messages"]])
    return {"next": choice["next"]}


def worker(name: str) -> Callable[[MessagesState], dict[str, list[HumanMessage]]]:
    def run(state: MessagesState) -> dict[str, list[HumanMessage]]:
        reply = model.invoke(state["messages"])
        return {"messages": [HumanMessage(content=str(reply.content), name=name)]}

    return run


class State(MessagesState):
    next: str


graph = StateGraph(State)
graph.add_node("supervisor", supervisor)
for name in WORKERS:
    graph.add_node(name, worker(name))
    graph.add_edge(name, "supervisor")
graph.add_edge(START, "supervisor")
graph.add_conditional_edges("supervisor", lambda s: s["next"], {**{w: w for w in WORKERS}, "FINISH": END})
app = graph.compile()
result = app.invoke(
    {"messages": [("user", "Find the mean of 3, 5 and 10, then chart it.")]}, {"recursion_limit": 20}
)
print("turns:", [m.name for m in result["messages"][1:]])
