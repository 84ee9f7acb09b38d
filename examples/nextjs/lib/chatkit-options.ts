// Every ChatKit option this example turns on, in one place (names from
// @openai/chatkit's ChatKitOptions; `npm run typecheck` checks them against the SDK).
import type { UseChatKitOptions } from "@openai/chatkit-react";

import { onClientTool } from "./client-tools";
import { CHATKIT_DOMAIN_KEY, CHATKIT_URL } from "./config";
import type { ClientEffect } from "./effects";
import { makeTagSearch } from "./entities";
import { MODELS, TOOLS } from "./models";
import { type WidgetAction, makeWidgetActionHandler } from "./widgets";

// Attachments go to the gateway with ChatKit's two-phase upload (`attachments.create`
// answers an upload URL, the bytes go there with the same bearer token). Limits mirror
// the backend's defaults (ATTACHMENT_MAX_BYTES, ATTACHMENTS_PER_MESSAGE); it refuses
// anything else itself.
const ATTACHMENTS = {
  enabled: true,
  maxSize: 10 * 1024 * 1024,
  maxCount: 10,
  accept: {
    "image/*": [".png", ".jpg", ".jpeg", ".gif", ".webp"],
    "application/pdf": [".pdf"],
    "text/plain": [".txt", ".md"],
  },
};

export interface ChatHooks {
  authFetch: typeof fetch;
  sendCustomAction: (action: WidgetAction, itemId: string) => Promise<void>;
  onEffect: (effect: ClientEffect) => void;
}

export function chatKitOptions({ authFetch, sendCustomAction, onEffect }: ChatHooks): UseChatKitOptions {
  return {
    api: {
      url: CHATKIT_URL,
      domainKey: CHATKIT_DOMAIN_KEY,
      fetch: authFetch,
      uploadStrategy: { type: "two_phase" },
    },
    history: { enabled: true, showDelete: true, showRename: true },
    startScreen: {
      greeting: "What can I help with?",
      prompts: [
        { label: "What time is it?", prompt: "What time is it?", icon: "clock" },
        // Shows the weather card when the agent runs TOOL_MODULES=agent.chatkit.widgets_weather.
        { label: "Weather in Paris", prompt: "Show me the weather in Paris", icon: "globe" },
      ],
    },
    composer: {
      placeholder: "Message the assistant",
      attachments: ATTACHMENTS,
      models: MODELS,
      tools: TOOLS,
    },
    threadItemActions: { feedback: true, retry: true },
    entities: { onTagSearch: makeTagSearch(authFetch), showComposerMenu: true },
    widgets: { onAction: makeWidgetActionHandler(sendCustomAction) },
    onEffect,
    onClientTool,
    thread: { autoScroll: true },
    onError: ({ error }) => console.error("ChatKit error", error),
  };
}
