// The chat page: signing in and out, and wiring the conversation list to the chat view.
// The open conversation lives in the address (#/c/<id>) so a reload comes back to it.

import { wireAccountMenu } from "./account.js";
import * as api from "./api.js";
import { ChatView } from "./chat.js";
import { ConversationList, conversationHref } from "./conversations.js";
import { ACCOUNT_EXPORT_PATH, conversationExportPath, download } from "./download.js";
import { SearchBox, revealMessage } from "./search.js";

const $ = (id) => document.getElementById(id);

let authMode = "login"; // or "register"
const conversations = new ConversationList();
const chat = new ChatView({
  announce,
  onConversationChanged: refreshConversation,
  onConversationGone: (id) => conversations.remove(id),
  onConversationCreated,
});
const search = new SearchBox({ onOpen: openSearchHit });

function announce(text) {
  // Clear first so the same words twice are still read out.
  $("status").textContent = "";
  requestAnimationFrame(() => {
    $("status").textContent = text;
  });
}

function openedId() {
  const match = /^#\/c\/(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

function showView(view) {
  document.body.dataset.pane = view; // narrow screens show one pane at a time
}

// ---- signing in and out --------------------------------------------------------------------

function setAuthMode(mode) {
  authMode = mode;
  const registering = mode === "register";
  $("auth-title").textContent = registering ? "Create an account" : "Log in";
  $("auth-submit").textContent = registering ? "Create account" : "Log in";
  $("auth-switch").textContent = registering
    ? "I already have an account"
    : "Create an account instead";
  $("auth-password").autocomplete = registering ? "new-password" : "current-password";
  $("auth-error").textContent = "";
}

function showAuth(message = "") {
  chat.close();
  conversations.reset();
  search.clear(); // the last user's hits must not outlive their session
  $("app-view").hidden = true;
  $("account").hidden = true;
  $("auth-view").hidden = false;
  $("auth-error").textContent = message;
  document.title = "Chat";
  $("auth-email").focus();
}

async function showApp(user) {
  $("auth-view").hidden = true;
  $("app-view").hidden = false;
  $("account").hidden = false;
  $("account-email").textContent = user.email;
  $("auth-form").reset();
  await conversations.loadFirst();
  // Ready to type: the conversation in the address, else the newest one, else a draft.
  const id = openedId() ?? conversations.firstId();
  if (!id) {
    startDraft();
    return;
  }
  if (!openedId()) history.replaceState(null, "", conversationHref(id));
  await openConversation(id);
}

async function onAuthSubmit(event) {
  event.preventDefault();
  const email = $("auth-email").value.trim();
  const password = $("auth-password").value;
  if (!email || !password) {
    $("auth-error").textContent = "Enter your email and password.";
    return;
  }
  if (authMode === "register" && password.length < 8) {
    $("auth-error").textContent = "The password needs at least 8 characters.";
    $("auth-password").focus();
    return;
  }
  $("auth-submit").disabled = true;
  $("auth-error").textContent = "";
  try {
    if (authMode === "register") await api.register(email, password);
    await api.login(email, password);
    await showApp(await api.me());
  } catch (error) {
    $("auth-error").textContent = authErrorText(error);
  } finally {
    $("auth-submit").disabled = false;
  }
}

function authErrorText(error) {
  if (error instanceof api.ApiError) {
    if (error.status === 401) return "That email and password don't match an account.";
    if (error.status === 409) return "An account with that email already exists. Log in instead.";
  }
  return api.describeError(error);
}

async function onLogout() {
  await api.logout();
  history.replaceState(null, "", location.pathname);
  setAuthMode("login");
  showAuth();
  announce("You are logged out.");
}

// ---- conversations ---------------------------------------------------------------------------

function startDraft() {
  conversations.select(null);
  chat.openDraft();
  showView("chat");
  $("composer-input").focus();
}

/** A draft's first message created its conversation: list it and put it in the address. */
function onConversationCreated(conversation) {
  conversations.putFirst(conversation);
  conversations.select(conversation.id);
  history.replaceState(null, "", conversationHref(conversation.id)); // no hashchange: open here
}

async function openConversation(id) {
  conversations.select(id);
  showView("chat");
  const opened = await chat.open(id);
  if (opened) $("composer-input").focus();
  else $("chat-title").focus();
}

/** A search hit: its conversation (opened unless it is), scrolled to its message. */
async function openSearchHit(id, messageId) {
  if (id !== chat.id) {
    history.pushState(null, "", conversationHref(id)); // no hashchange: opened here
    await openConversation(id);
  } else showView("chat");
  if (messageId && chat.id === id && !(await revealMessage(chat, messageId))) {
    announce("That message is no longer in this conversation.");
  }
}

async function refreshConversation(id) {
  try {
    const conversation = await api.json(`/api/chat/conversations/${encodeURIComponent(id)}`);
    conversations.putFirst(conversation);
    chat.setConversation(conversation);
  } catch {
    // The list is a convenience; a failed refresh leaves it as it was.
  }
}

async function onNewConversation() {
  const button = $("new-conversation");
  button.disabled = true;
  $("list-error").textContent = "";
  try {
    const conversation = await api.json("/api/chat/conversations", { method: "POST", body: {} });
    conversations.putFirst(conversation);
    location.hash = conversationHref(conversation.id); // opens it (hashchange)
  } catch (error) {
    $("list-error").textContent = `Couldn't start a conversation. ${api.describeError(error)}`;
  } finally {
    button.disabled = false;
  }
}

function startRename() {
  if (!chat.conversation) return;
  $("rename-input").value = chat.conversation.title ?? "";
  $("rename-form").hidden = false;
  $("chat-title").hidden = true;
  $("chat-actions").hidden = true;
  $("rename-input").select();
  $("rename-input").focus();
}

function endRename() {
  $("rename-form").hidden = true;
  $("chat-title").hidden = false;
  $("chat-actions").hidden = !chat.conversation;
  $("rename-button").focus();
}

async function onRename(event) {
  event.preventDefault();
  const title = $("rename-input").value.trim();
  if (!title || !chat.conversation) return;
  try {
    const conversation = await api.json(
      `/api/chat/conversations/${encodeURIComponent(chat.id)}`,
      { method: "PATCH", body: { title } },
    );
    conversations.putFirst(conversation);
    chat.setConversation(conversation);
    endRename();
    announce("Conversation renamed.");
  } catch (error) {
    $("chat-error").textContent = `Couldn't rename it. ${api.describeError(error)}`;
  }
}

function onDelete() {
  if (!chat.conversation) return;
  const dialog = $("delete-dialog");
  dialog.returnValue = "";
  dialog.showModal();
}

async function onDeleteDialogClosed() {
  const dialog = $("delete-dialog");
  if (dialog.returnValue !== "delete" || !chat.id) {
    $("delete-button").focus();
    return;
  }
  const id = chat.id;
  try {
    await api.request(`/api/chat/conversations/${encodeURIComponent(id)}`, { method: "DELETE" });
    conversations.remove(id);
    history.replaceState(null, "", location.pathname);
    chat.close();
    showView("list");
    announce("Conversation deleted.");
    $("new-conversation").focus();
  } catch (error) {
    $("chat-error").textContent = `Couldn't delete it. ${api.describeError(error)}`;
  }
}

// ---- downloads ----------------------------------------------------------------------------

async function onDownloadConversation() {
  if (!chat.id) return;
  await saveFile($("download-button"), conversationExportPath(chat.id), "conversation.md");
}

async function onExportAccount() {
  await saveFile($("export-button"), ACCOUNT_EXPORT_PATH, "chat-export.jsonl");
}

async function saveFile(button, path, fallbackName) {
  button.disabled = true;
  $("chat-error").textContent = "";
  try {
    announce(`Downloaded ${await download(path, fallbackName)}.`);
  } catch (error) {
    $("chat-error").textContent = `Couldn't download it. ${api.describeError(error)}`;
  } finally {
    button.disabled = false;
  }
}

// ---- wiring --------------------------------------------------------------------------------

function onComposerKey(event) {
  // Enter sends; Shift+Enter is a new line; never while an input method is composing.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    chat.submit();
  }
}

function wire() {
  $("auth-form").addEventListener("submit", onAuthSubmit);
  $("auth-switch").addEventListener("click", () => {
    setAuthMode(authMode === "login" ? "register" : "login");
    $("auth-email").focus();
  });
  $("logout-button").addEventListener("click", onLogout);
  wireAccountMenu({ onSignedOut: onLogout });
  $("export-button").addEventListener("click", onExportAccount);
  $("download-button").addEventListener("click", onDownloadConversation);
  $("new-conversation").addEventListener("click", onNewConversation);
  $("rename-button").addEventListener("click", startRename);
  $("rename-cancel").addEventListener("click", endRename);
  $("rename-form").addEventListener("submit", onRename);
  $("rename-form").addEventListener("keydown", (event) => {
    if (event.key === "Escape") endRename();
  });
  $("delete-button").addEventListener("click", onDelete);
  $("delete-dialog").addEventListener("close", onDeleteDialogClosed);
  $("back-to-list").addEventListener("click", () => {
    showView("list");
    $("new-conversation").focus();
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    chat.submit();
  });
  $("composer-input").addEventListener("keydown", onComposerKey);
  $("conversation-list").addEventListener("click", (event) => {
    // The open conversation's link changes no address; on a narrow screen it still shows it.
    const li = event.target.closest("li[data-id]");
    if (li && li.dataset.id === chat.id) {
      event.preventDefault();
      showView("chat");
      $("composer-input").focus();
    }
  });
  window.addEventListener("hashchange", () => {
    const id = openedId();
    if ($("app-view").hidden) return;
    if (id && id !== chat.id) openConversation(id);
    if (!id) {
      chat.close();
      showView("list");
    }
  });
  api.onSignedOut(() => showAuth("Your session has ended. Please log in again."));
}

async function boot() {
  wire();
  setAuthMode("login");
  if (!api.hasStoredSession()) {
    showAuth();
    return;
  }
  try {
    await showApp(await api.restoreSession());
  } catch (error) {
    const expired = error instanceof api.ApiError && error.status === 401;
    showAuth(expired ? "" : `Couldn't restore your session. ${api.describeError(error)}`);
  }
}

boot();
