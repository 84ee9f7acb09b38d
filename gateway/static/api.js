// The gateway's HTTP API: the session (access token in memory, refresh token in
// localStorage), one fetch wrapper that refreshes once on 401, and errors in plain words.

const REFRESH_KEY = "chat.refresh_token";

export class ApiError extends Error {
  constructor(status, detail, retryAfter = null, body = null) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
    this.body = body;
  }
}

let accessToken = null;
let refreshing = null; // one refresh at a time in this tab
const listeners = new Set();

export function onSignedOut(callback) {
  listeners.add(callback);
}

export function hasStoredSession() {
  return Boolean(localStorage.getItem(REFRESH_KEY));
}

function keepTokens(pair) {
  accessToken = pair.access_token;
  localStorage.setItem(REFRESH_KEY, pair.refresh_token);
}

function forgetTokens() {
  accessToken = null;
  localStorage.removeItem(REFRESH_KEY);
}

function signedOut() {
  forgetTokens();
  for (const callback of listeners) callback();
}

// Another tab logging out removes the shared refresh token: follow it here too.
window.addEventListener("storage", (event) => {
  if (event.key === REFRESH_KEY && event.newValue === null && accessToken) {
    accessToken = null;
    for (const callback of listeners) callback();
  }
});

async function readError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const seconds = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  const detail = body && "detail" in body ? body.detail : null;
  return new ApiError(response.status, detail, Number.isFinite(seconds) ? seconds : null, body);
}

// Refresh tokens rotate and a replayed one revokes the family, so tabs sharing one must take
// turns: the Web Locks API serialises them, and each reads the newest token inside the lock.
async function refreshOnce() {
  const run = async () => {
    const token = localStorage.getItem(REFRESH_KEY);
    if (!token) throw new ApiError(401, "Not logged in");
    const response = await fetch("/api/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ refresh_token: token }),
    });
    if (response.status === 401) {
      signedOut();
      throw await readError(response);
    }
    if (!response.ok) throw await readError(response);
    keepTokens(await response.json());
  };
  const locked = navigator.locks
    ? () => navigator.locks.request("chat.refresh", run)
    : run;
  refreshing ??= locked().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export async function restoreSession() {
  await refreshOnce();
  return me();
}

/** fetch() against the gateway; returns the Response (ok) or throws ApiError / TypeError. */
export async function request(path, { method = "GET", body, headers = {}, signal } = {}) {
  const send = () => {
    const all = { Accept: "application/json", ...headers };
    if (body !== undefined) all["Content-Type"] = "application/json";
    if (accessToken) all.Authorization = `Bearer ${accessToken}`;
    return fetch(path, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  };
  if (!accessToken && hasStoredSession()) await refreshOnce();
  let response = await send();
  if (response.status === 401 && hasStoredSession()) {
    await refreshOnce();
    response = await send();
  }
  if (response.status === 401) signedOut();
  if (!response.ok) throw await readError(response);
  return response;
}

export async function json(path, options) {
  const response = await request(path, options);
  return response.status === 204 ? null : response.json();
}

async function authPost(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await readError(response);
  return response.status === 204 ? null : response.json();
}

export async function register(email, password) {
  return authPost("/api/auth/register", { email, password });
}

export async function login(email, password) {
  keepTokens(await authPost("/api/auth/login", { email, password }));
}

export function me() {
  return json("/api/auth/me");
}

export async function logout() {
  const token = localStorage.getItem(REFRESH_KEY);
  forgetTokens();
  if (token) {
    // Best effort: the local session is gone either way.
    await authPost("/api/auth/logout", { refresh_token: token }).catch(() => {});
  }
}

/**
 * A request that carries the account's password (change it, delete the account): a 401 here
 * means a wrong password, not an ended session, so it neither refreshes nor signs out. The
 * access token is made fresh first (`me()` refreshes it when needed).
 */
export async function withPassword(path, method, body) {
  await me();
  const response = await fetch(path, {
    method,
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      Authorization: `Bearer ${accessToken}`,
    },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await readError(response);
}

function validationText(detail) {
  // FastAPI's 422: [{loc, msg, ...}]; say which field and what is wrong with it.
  return detail
    .map((item) => {
      const field = Array.isArray(item.loc) ? item.loc[item.loc.length - 1] : "";
      const msg = String(item.msg ?? "is not valid").replace(/^Value error, /, "");
      return field && field !== "body" ? `${field}: ${msg}` : msg;
    })
    .join(" ");
}

function secondsText(seconds) {
  if (seconds === null) return "in a little while";
  if (seconds < 60) return `in ${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `in ${minutes} minute${minutes === 1 ? "" : "s"}`;
}

/** What went wrong, for a person. */
export function describeError(error) {
  if (error instanceof TypeError) {
    return navigator.onLine === false
      ? "You appear to be offline. Check your connection and try again."
      : "Can't reach the server. Check your connection and try again.";
  }
  if (error?.name === "AbortError") return "Stopped.";
  if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
  const { status, detail } = error;
  if (status === 429) return `Too many requests. Try again ${secondsText(error.retryAfter)}.`;
  if (status === 413) return "That is too large to send. Please shorten it.";
  if (status === 401) return "Your session has ended. Please log in again.";
  if (status === 404) return "That conversation no longer exists.";
  if (status === 422 && Array.isArray(detail)) return validationText(detail);
  if (typeof detail === "string" && detail) return detail;
  if (status === 504) return "The assistant took too long to answer. Please try again.";
  if (status >= 500) return `The server had a problem (${status}). Please try again.`;
  return `The request failed (${status}).`;
}

export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; a plain-http LAN address may not be one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
