// What ChatKit's composer offers: the model picker and the tool menu. The ids go to the
// backend as `inference_options.model` / `inference_options.tool_choice.id`.
import type { ModelOption, ToolOption } from "@openai/chatkit-react";

// Keep these ids within the models the backend's model provider serves (with `make run`
// that is the offline model, `OFFLINE_MODEL_MODELS`, default `offline-model`). A model the
// backend does not accept comes back as an error ChatKit shows.
export const MODELS: ModelOption[] = [
  { id: "offline-model", label: "Offline model", description: "make run's scripted model", default: true },
  { id: "gpt-4o-mini", label: "GPT-4o mini", description: "with OPENAI_API_KEY set" },
];

// The agent's built-in tools (services/agent/src/agent/tools.py): choosing one asks the
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
