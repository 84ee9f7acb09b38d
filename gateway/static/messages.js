// Drawing messages. What a user wrote goes in as text; a reply is Markdown rendered to
// sanitised DOM (markdown.js), so neither ever becomes live HTML.

import { updateFeedback } from "./feedback.js";
import { renderMarkdown } from "./markdown.js";

const WHO = { user: "You", assistant: "Assistant", tool: "Tool", system: "System" };
const BADGE = {
  in_progress: "Writing…",
  failed: "Failed",
  interrupted: "Interrupted",
  pending: "Sending…",
  unsent: "Not sent",
};

const DEFAULT_NOTE = {
  failed: "The assistant could not finish this reply.",
  interrupted: "This reply was cut off before it finished.",
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function toolCallsText(toolCalls) {
  if (!Array.isArray(toolCalls) || toolCalls.length === 0) return "";
  const names = toolCalls.map((call) => call?.function?.name ?? call?.name ?? "a tool");
  return `Used ${names.join(", ")}`;
}

/** A new <li> for a message ({id?, role, content, status, tool_calls?}). */
export function messageItem(message) {
  const item = element("li", "message");
  const meta = element("div", "message-meta");
  meta.append(element("span", "who"), element("span", "badge"));
  const body = element("div", "message-body");
  item.append(meta, body, element("p", "message-note"));
  updateMessageItem(item, message);
  return item;
}

/** Brings an existing <li> up to date with a (newer) version of its message. */
export function updateMessageItem(item, message) {
  const role = message.role ?? "assistant";
  const status = message.status ?? "complete";
  item.className = `message ${role} status-${status}`;
  if (message.id) item.dataset.id = message.id;
  item.dataset.status = status;
  item.querySelector(".who").textContent = WHO[role] ?? role;
  const badge = item.querySelector(".badge");
  badge.textContent = BADGE[status] ?? "";
  badge.hidden = !BADGE[status];
  const text = message.content || toolCallsText(message.tool_calls);
  setBody(item, text);
  // Screen readers wait for the whole reply instead of reading every word as it lands.
  item.setAttribute("aria-busy", String(status === "in_progress"));
  const note = item.querySelector(".message-note");
  const settled = status !== "in_progress" && status !== "pending";
  if (settled && note.dataset.transient) setNote(item, "");
  if (!note.textContent && DEFAULT_NOTE[status]) setNote(item, DEFAULT_NOTE[status]);
  updateFeedback(item, { ...message, role, status });
}

// Longer than any stored message may be: only a refused send; show its start, not all of it.
const SHOWN_CHARS = 20000;
// A streaming reply is re-rendered at most this often, not on every word.
const RENDER_MS = 60;

const texts = new WeakMap(); // <li> -> its message text as written
const pendingRenders = new WeakSet();

/** The message text shown in an item, as written (not as rendered). */
export function textOf(item) {
  return texts.get(item) ?? "";
}

export function setBody(item, text) {
  texts.set(item, text);
  renderBody(item);
}

export function appendText(item, text) {
  texts.set(item, textOf(item) + text);
  if (pendingRenders.has(item)) return;
  pendingRenders.add(item);
  setTimeout(() => renderBody(item), RENDER_MS);
}

function renderBody(item) {
  pendingRenders.delete(item);
  const text = textOf(item);
  const body = item.querySelector(".message-body");
  const markdown = item.classList.contains("assistant") && text.length <= SHOWN_CHARS;
  body.classList.toggle("markdown", markdown);
  if (markdown) body.replaceChildren(renderMarkdown(text));
  else {
    body.textContent =
      text.length > SHOWN_CHARS
        ? `${text.slice(0, 2000)}… (${(text.length - 2000).toLocaleString()} more characters)`
        : text;
  }
  body.hidden = !text;
}

/** A note under a message; a transient one ("checking…") goes when the message settles. */
export function setNote(item, text, { transient = false } = {}) {
  const note = item.querySelector(".message-note");
  note.textContent = text ?? "";
  note.hidden = !text;
  if (transient) note.dataset.transient = "1";
  else delete note.dataset.transient;
}

/** Adds a button under a message (e.g. "Retry"), replacing any earlier one. */
export function setAction(item, label, onClick) {
  item.querySelector(".message-action")?.remove();
  if (!label) return null;
  const button = element("button", "button subtle message-action", label);
  button.type = "button";
  button.addEventListener("click", onClick);
  item.append(button);
  return button;
}

/** Upserts messages (oldest first) into the list by id, keeping the server's order. */
export function mergeMessages(list, messages) {
  for (const message of messages) {
    const existing = message.id ? list.querySelector(`li[data-id="${CSS.escape(message.id)}"]`) : null;
    if (existing) updateMessageItem(existing, message);
    else list.append(messageItem(message));
  }
}
