"""In process: a running tool's progress lines reach the ChatKit client as progress
updates while the tool runs, and never reach the stored history."""

from __future__ import annotations

import uuid

from chatkit.types import ProgressUpdateEvent

from services.agent.tests.fake_model import ScriptedModel, calls_tool, says
from services.agent.tests.test_chatkit_server import ChatKit, create
from services.agent.tests.test_tool_progress import TOOLS


async def test_chatkit_shows_a_tools_progress_while_it_runs() -> None:
    chatkit = ChatKit(ScriptedModel(calls_tool("read"), says("Done.")), tools=TOOLS)

    events = await chatkit.events(uuid.uuid4(), create("read it"))

    shown = [e.text for e in events if isinstance(e, ProgressUpdateEvent)]
    assert shown[-2:] == ["Reading page 1", "Reading page 2"]
    stored = [m.content for m in chatkit.store.messages.values()]
    assert not any("Reading page" in content for content in stored)
