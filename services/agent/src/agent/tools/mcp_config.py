"""MCP_SERVERS: the MCP servers the agent connects to, as JSON keyed by a short name that
prefixes their tools' names (`<name>__<tool>`):

    MCP_SERVERS='{"files": {"command": "npx", "args": ["-y", "some-mcp-server"]},
                  "search": {"url": "https://mcp.example.com/mcp",
                             "headers": {"Authorization": "Bearer ..."}}}'

`command` (with `args`, `env`, `cwd`) starts a stdio server as a child process; `url`
connects to a streamable HTTP server.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Letters, digits and single hyphens: `__` separates the server from the tool in a name.
_NAME = r"^[A-Za-z0-9](?:-?[A-Za-z0-9])*$"
ServerName = Annotated[str, StringConstraints(pattern=_NAME, max_length=24)]


class McpServer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError("an MCP server needs exactly one of `command` (stdio) or `url` (HTTP)")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command else "streamable-http"


McpServers = dict[ServerName, McpServer]
