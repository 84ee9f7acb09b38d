// What ChatKit's composer offers: the model picker and the tool menu. The ids go to the
// backend as `inference_options.model` / `inference_options.tool_choice.id`.
import type { ModelOption, ToolOption } from "@openai/chatkit-react";

// The agent accepts its OPENAI_MODEL (default gpt-4o-mini) and the ids in its
// MODEL_ALLOWLIST; any other id is refused with an error ChatKit shows. So the default
// here is OPENAI_MODEL's default, and every other id must be in the allow-list: run the
// agent with MODEL_ALLOWLIST=gpt-4.1-mini (with `make run` the offline model answers
// under any id, so both work offline too).
export const MODELS: ModelOption[] = [
  { id: "gpt-4o-mini", label: "GPT-4o mini", description: "the agent's OPENAI_MODEL", default: true },
  { id: "gpt-4.1-mini", label: "GPT-4.1 mini", description: "needs MODEL_ALLOWLIST=gpt-4.1-mini" },
];

// The agent's built-in tools (services/agent/src/agent/tools/builtin.py): choosing one asks the
// model to call it for this message.
export const TOOLS: ToolOption[] = [
  {
    id: "get_current_time",
    label: "Current time",
    shortLabel: "Time",
    icon: "clock",
    placeholderOverride: "Ask about the time or date",
  },
];
