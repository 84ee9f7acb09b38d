// The place for widget actions handled in the browser. Actions whose widget says
// `handler: "server"` never come here: ChatKit sends them to /chatkit itself
// (`threads.custom_action`). Actions marked `handler: "client"` arrive here: do the local
// part in a handler below, then (by default) let the server know with `sendCustomAction`.
import type { Widgets } from "@openai/chatkit-react";

export type WidgetAction = { type: string; payload?: Record<string, unknown> };
export type WidgetItem = { id: string; widget: Widgets.Card | Widgets.ListView | Widgets.BasicRoot };
type ClientAction = (action: WidgetAction, item: WidgetItem) => Promise<void>;

// Add one entry per client-handled action type of your widgets.
const CLIENT_ACTIONS: Record<string, ClientAction> = {
  // A widget button like {type: "clipboard.copy", payload: {text}} with handler "client".
  "clipboard.copy": async (action) => {
    await navigator.clipboard.writeText(String(action.payload?.text ?? ""));
  },
};

export function makeWidgetActionHandler(
  sendToServer: (action: WidgetAction, itemId: string) => Promise<void>,
): ClientAction {
  return async (action, item) => {
    await CLIENT_ACTIONS[action.type]?.(action, item);
    await sendToServer(action, item.id);
  };
}
