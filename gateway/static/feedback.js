// Thumbs up/down under a complete reply: shows the stored vote (the REST Message's
// `feedback`) and sets it with PUT …/messages/{id}/feedback; pressing the pressed one clears it.

import { describeError, json } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
// Outline thumbs (Feather icons, MIT), drawn inline: the page works offline, with no icon font.
const THUMB_UP =
  "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3";
const THUMB_DOWN =
  "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17";
const VOTES = [
  { kind: "positive", label: "Good reply", path: THUMB_UP },
  { kind: "negative", label: "Bad reply", path: THUMB_DOWN },
];

function icon(path) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const line = document.createElementNS(SVG, "path");
  line.setAttribute("d", path);
  svg.append(line);
  return svg;
}

function voteButton({ kind, label, path }) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "feedback-button";
  button.dataset.feedback = kind;
  button.setAttribute("aria-label", label);
  button.title = label;
  button.setAttribute("aria-pressed", "false");
  button.append(icon(path));
  return button;
}

function feedbackBar(item) {
  const bar = document.createElement("div");
  bar.className = "message-feedback";
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "Rate this reply");
  const buttons = VOTES.map(voteButton);
  const status = document.createElement("span");
  status.className = "feedback-status";
  status.setAttribute("role", "status");
  bar.append(...buttons, status);
  for (const button of buttons) button.addEventListener("click", () => vote(item, button));
  return bar;
}

function showVote(bar, feedback) {
  for (const button of bar.querySelectorAll(".feedback-button")) {
    button.setAttribute("aria-pressed", String(button.dataset.feedback === feedback));
  }
}

async function vote(item, button) {
  const bar = item.querySelector(".message-feedback");
  const pressed = button.getAttribute("aria-pressed") === "true";
  const path =
    `/api/chat/conversations/${encodeURIComponent(item.dataset.conversationId)}` +
    `/messages/${encodeURIComponent(item.dataset.id)}/feedback`;
  const status = bar.querySelector(".feedback-status");
  bar.setAttribute("aria-busy", "true");
  try {
    const message = await json(path, {
      method: "PUT",
      body: { feedback: pressed ? null : button.dataset.feedback },
    });
    showVote(bar, message.feedback);
    status.textContent = message.feedback ? "Thanks for the feedback." : "";
  } catch (error) {
    status.textContent = `Your vote was not saved: ${describeError(error)}`;
  } finally {
    bar.removeAttribute("aria-busy");
  }
}

/**
 * Keeps an item's thumbs in step with its message: only a complete, stored assistant reply
 * has them; a message without a `feedback` field (a streamed reply) keeps the shown vote.
 */
export function updateFeedback(item, message) {
  let bar = item.querySelector(".message-feedback");
  const stored = Boolean(message.id && message.conversation_id);
  const votable = stored && message.role === "assistant" && message.status === "complete";
  if (!votable) {
    bar?.remove();
    return;
  }
  item.dataset.conversationId = message.conversation_id;
  if (!bar) {
    bar = feedbackBar(item);
    item.querySelector(".message-note").after(bar);
  }
  if ("feedback" in message) showVote(bar, message.feedback);
}
