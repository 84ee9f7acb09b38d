// Widget actions handled in the browser. Actions whose widget says `handler: "server"`
// never come here: ChatKit sends them to /chatkit itself (`threads.custom_action`).
// Actions marked `handler: "client"` arrive here and run in the page; the backend answers
// 400 to a client-marked type sent to it, so a handler asks for `sendCustomAction` only
// when the server has a handler of that type too.
import type { Widgets } from "@openai/chatkit-react";

export type WidgetAction = { type: string; payload?: Record<string, unknown> };
export type WidgetItem = { id: string; widget: Widgets.Card | Widgets.ListView | Widgets.BasicRoot };
// "done": handled here; "forward": also send it to the server's handler of the same type.
type ClientAction = (action: WidgetAction, item: WidgetItem) => Promise<"done" | "forward">;

// Where the weather card's "Open map" button goes (OpenStreetMap's search, a new tab).
function mapUrl(city: string): string {
  return `https://www.openstreetmap.org/search?query=${encodeURIComponent(city)}`;
}

// One entry per client-handled action type of your widgets.
const CLIENT_ACTIONS: Record<string, ClientAction> = {
  // The example weather card (TOOL_MODULES=agent.chatkit.widgets_weather): "Open map".
  "weather.map": async (action) => {
    window.open(mapUrl(String(action.payload?.city ?? "")), "_blank", "noopener");
    return "done";
  },
  // A widget button like {type: "clipboard.copy", payload: {text}} with handler "client".
  "clipboard.copy": async (action) => {
    await navigator.clipboard.writeText(String(action.payload?.text ?? ""));
    return "done";
  },
};

export function makeWidgetActionHandler(
  sendToServer: (action: WidgetAction, itemId: string) => Promise<void>,
): (action: WidgetAction, item: WidgetItem) => Promise<void> {
  return async (action, item) => {
    const handle = CLIENT_ACTIONS[action.type];
    if (!handle) {
      console.warn("no client handler for the widget action", action.type);
      return;
    }
    if ((await handle(action, item)) === "forward") await sendToServer(action, item.id);
  };
}
