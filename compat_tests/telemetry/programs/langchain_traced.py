"""A langchain program that configures OpenTelemetry itself and traces each request.

Two named agents with tools, each request in a span of the program's own and an ``aios.agent``
scope. aios must use the program's tracer provider (its resource names the service) and nest
its spans inside the program's.
"""

import os

from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import aios

provider = TracerProvider(resource=Resource.create({"service.name": "langchain-app"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("langchain-app")


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def main() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", base_url=os.environ["OPENAI_BASE_URL"])
    researcher = create_agent(model, tools=[add, multiply], name="researcher")
    writer = create_agent(model, tools=[word_count], name="writer")
    for agent, task in ((researcher, "What is (2 + 3) * 4?"), (writer, "Count the words of 'a b c'.")):
        with tracer.start_as_current_span(f"request {agent.name}"), aios.agent("support"):
            result = agent.invoke({"messages": [{"role": "user", "content": task}]})
        print(agent.name, len(result["messages"]), bool(result["messages"][-1].content))
    provider.shutdown()


main()
