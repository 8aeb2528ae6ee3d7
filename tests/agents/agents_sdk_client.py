"""An OpenAI Agents SDK app, run as its own process by test_openai_agents.py (so its sockets can be
traced): the default model class (OpenAIResponsesModel), configured only by OPENAI_BASE_URL,
OPENAI_API_KEY and OPENAI_AGENTS_DISABLE_TRACING. Prints one JSON object with what it got."""
from __future__ import annotations

import asyncio
import json
import sys

from agents import Agent, Runner, function_tool


@function_tool
def lookup_code(name: str) -> str:
    """Looks up the code of `name`."""
    return f"code-of-{name}-is-{len(name) * 7}"


async def main(mode: str) -> dict:
    if mode == "run":
        result = await Runner.run(Agent(name="echo", instructions="Repeat the user."), "agents sdk says hi")
        return {"output": result.final_output}
    if mode == "stream":
        streamed = Runner.run_streamed(Agent(name="echo"), "streamed agents hello")
        kinds = [event.type async for event in streamed.stream_events()]
        return {"output": streamed.final_output, "event_types": sorted(set(kinds))}
    agent = Agent(name="tools", model="fake-tool-call", tools=[lookup_code])
    result = await Runner.run(agent, 'Use lookup_code with {"name": "tokenyard"}')
    return {"output": result.final_output, "items": [item.type for item in result.new_items]}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
