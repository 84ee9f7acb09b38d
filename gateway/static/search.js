// Search in the sidebar: the user's messages and titles matching what they type, best first;
// a hit opens its conversation and shows the message. Snippets are text: the server marks
// each match between U+0002 and U+0003, turned here into <mark> elements (never HTML).

import { ApiError, describeError, json } from "./api.js";
import { mergeMessages } from "./messages.js";

const PAGE_SIZE = 20;
const TYPING_PAUSE_MS = 250;
const WINDOW_SIZE = 50; // messages shown around a hit that is not loaded yet
const START = "\u0002";
const END = "\u0003";
const $ = (id) => document.getElementById(id);

/** The snippet as text nodes and <mark> elements. */
export function snippetNodes(snippet) {
  const nodes = [];
  for (const [i, part] of snippet.split(START).entries()) {
    const [marked, rest] = i === 0 ? [null, part] : splitOnce(part, END);
    if (marked) {
      const mark = document.createElement("mark");
      mark.textContent = marked;
      nodes.push(mark);
    }
    if (rest) nodes.push(document.createTextNode(rest));
  }
  return nodes;
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [null, text] : [text.slice(0, at), text.slice(at + separator.length)];
}

export class SearchBox {
  /** `onOpen(conversationId, messageId or null)` opens a hit. */
  constructor({ onOpen }) {
    this.onOpen = onOpen;
    this.input = $("search-input");
    this.results = $("search-results");
    this.status = $("search-status");
    this.timer = null;
    this.generation = 0; // a newer query makes older answers stale
    this.input.addEventListener("input", () => this.scheduleSearch());
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.search();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.clear();
    });
    this.results.addEventListener("click", (event) => this.onClick(event));
  }

  clear() {
    this.generation += 1;
    this.input.value = "";
    this.results.replaceChildren();
    this.results.hidden = true;
    this.status.textContent = "";
  }

  scheduleSearch() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.search(), TYPING_PAUSE_MS);
  }

  async search() {
    clearTimeout(this.timer);
    const q = this.input.value;
    if (!q.trim()) {
      this.clear();
      return;
    }
    const generation = ++this.generation;
    const query = new URLSearchParams({ q, limit: String(PAGE_SIZE) });
    try {
      const page = await json(`/api/chat/search?${query}`);
      if (generation !== this.generation) return;
      this.show(page.items);
    } catch (error) {
      if (generation !== this.generation) return;
      this.results.hidden = true;
      this.status.textContent = `Couldn't search. ${describeError(error)}`;
    }
  }

  show(items) {
    this.results.replaceChildren(...items.map((hit) => this.item(hit)));
    this.results.hidden = items.length === 0;
    this.status.textContent = items.length ? `${items.length} found` : "Nothing found.";
  }

  item(hit) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "search-hit";
    button.dataset.conversationId = hit.conversation_id;
    if (hit.message_id) button.dataset.messageId = hit.message_id;
    const label = document.createElement("span");
    label.className = "search-hit-role";
    label.textContent = hit.role === "title" ? "Title" : hit.role;
    const snippet = document.createElement("span");
    snippet.className = "search-hit-snippet";
    snippet.append(...snippetNodes(hit.snippet));
    button.append(label, snippet);
    li.append(button);
    return li;
  }

  onClick(event) {
    const button = event.target.closest("button.search-hit");
    if (button) this.onOpen(button.dataset.conversationId, button.dataset.messageId ?? null);
  }
}

/**
 * Scrolls the open conversation to a message and marks it. A message not loaded yet (any
 * distance back) replaces the view with the page around it (`messages?around=`), paged on
 * with "Load earlier" and "Load newer". Returns whether it was found.
 */
export async function revealMessage(chat, messageId) {
  const selector = `li[data-id="${CSS.escape(messageId)}"]`;
  let item = chat.messages.querySelector(selector);
  if (!item && (await openAround(chat, messageId))) item = chat.messages.querySelector(selector);
  if (!item) return false;
  for (const old of chat.messages.querySelectorAll(".search-target")) {
    old.classList.remove("search-target");
  }
  item.classList.add("search-target");
  item.tabIndex = -1;
  item.scrollIntoView({ block: "center" });
  item.focus({ preventScroll: true });
  return true;
}

/** The view becomes the page around the message; false if it is not in the conversation. */
async function openAround(chat, messageId) {
  const { id, generation } = chat;
  const query = new URLSearchParams({ around: messageId, limit: String(WINDOW_SIZE) });
  let page;
  try {
    page = await json(chat.messagesPath(query));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) {
      chat.error.textContent = `Couldn't open that message. ${describeError(error)}`;
    }
    return false;
  }
  if (chat.id !== id || chat.generation !== generation) return false;
  chat.messages.replaceChildren();
  mergeMessages(chat.messages, page.items);
  $("load-earlier").hidden = !page.has_more;
  showNewer(chat, page.has_newer);
  return true;
}

/**
 * "Load newer messages" below a window into the past; the composer comes back once the
 * window reaches the latest message, so a new message never lands after a gap.
 */
function showNewer(chat, hasNewer) {
  const button = newerButton(chat);
  button.hidden = !hasNewer;
  $("composer").hidden = hasNewer;
  button.dataset.generation = String(chat.generation);
}

function newerButton(chat) {
  let button = $("load-newer");
  if (button) return button;
  button = document.createElement("button");
  button.type = "button";
  button.id = "load-newer";
  button.className = $("load-earlier").className;
  button.textContent = "Load newer messages";
  button.hidden = true;
  button.addEventListener("click", () => loadNewer(chat, button));
  chat.messages.after(button);
  // Another conversation (or a draft) opened: the window and its button are gone.
  new MutationObserver(() => {
    if (button.dataset.generation !== String(chat.generation)) button.hidden = true;
  }).observe(chat.messages, { childList: true });
  return button;
}

async function loadNewer(chat, button) {
  const items = chat.messages.querySelectorAll("li[data-id]");
  const last = items[items.length - 1];
  if (!last || !chat.id) return;
  const page = await chat.loadPage(button, { after: last.dataset.id }, (newer) =>
    chat.messages.append(...newer),
  );
  if (page) showNewer(chat, page.has_more);
}
