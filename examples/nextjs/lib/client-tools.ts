// Client tools: tools the backend declares in CLIENT_TOOLS and the browser runs. A model's
// call to one ends the turn with a pending `client_tool_call`; ChatKit calls `onClientTool`
// and sends what it returns back (`threads.add_client_tool_output`), and the reply goes on.
//
// The backend side of the one here (README "Client tools"):
//   CLIENT_TOOLS={"get_user_timezone": {"description": "The time zone and local time of the user, from the browser.", "parameters": {"type": "object", "properties": {}}}}

type ClientToolCall = { name: string; params: Record<string, unknown> };
type ClientTool = (params: Record<string, unknown>) => Record<string, unknown>;

const CLIENT_TOOLS: Record<string, ClientTool> = {
  get_user_timezone: () => ({
    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    local_time: new Date().toString(),
    locale: navigator.language,
  }),
};

export function onClientTool({ name, params }: ClientToolCall): Record<string, unknown> {
  const run = CLIENT_TOOLS[name];
  // The model reads this result like any other: say what went wrong rather than throw.
  if (!run) return { error: `this page has no client tool named ${name}` };
  return run(params);
}
