// Our backend's login (POST /api/auth/login) and the fetch that ChatKit uses for /chatkit:
// every request carries the access token; a 401 refreshes the pair once and retries.
import { API_BASE } from "./config";

export interface Session {
  accessToken: string;
  refreshToken: string;
}

interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

// sessionStorage: a reload keeps you signed in, closing the tab does not.
const STORAGE_KEY = "chatkit-example.session";

// Client only: the server render (and `next build`'s prerender) has no sessionStorage.
export function loadSession(): Session | null {
  if (typeof window === "undefined") return null;
  const raw = sessionStorage.getItem(STORAGE_KEY);
  return raw ? (JSON.parse(raw) as Session) : null;
}

export function storeSession(session: Session | null): void {
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
}

async function postJson(path: string, body: unknown): Promise<Response> {
  return fetch(`${API_BASE}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

// Errors are always {"detail": ...}: a sentence, or a list of field errors (422).
async function errorMessage(response: Response): Promise<string> {
  try {
    const { detail } = (await response.json()) as { detail?: unknown };
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((d: { msg?: string }) => d.msg ?? String(d)).join("; ");
    }
  } catch {
    // not JSON: fall through to the status line
  }
  return `${response.status} ${response.statusText}`;
}

function toSession(pair: TokenPair): Session {
  return { accessToken: pair.access_token, refreshToken: pair.refresh_token };
}

export async function login(email: string, password: string): Promise<Session> {
  const response = await postJson("/api/auth/login", { email, password });
  if (!response.ok) throw new Error(await errorMessage(response));
  return toSession((await response.json()) as TokenPair);
}

export async function register(email: string, password: string): Promise<void> {
  const response = await postJson("/api/auth/register", { email, password });
  if (!response.ok) throw new Error(await errorMessage(response));
}

export async function logout(session: Session): Promise<void> {
  await postJson("/api/auth/logout", { refresh_token: session.refreshToken });
}

async function refresh(session: Session): Promise<Session | null> {
  const response = await postJson("/api/auth/refresh", { refresh_token: session.refreshToken });
  return response.ok ? toSession((await response.json()) as TokenPair) : null;
}

function withBearer(init: RequestInit | undefined, token: string): RequestInit {
  const headers = new Headers(init?.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return { ...init, headers };
}

/** The `api.fetch` for ChatKit. `current` reads the latest session; `update` stores a
 * refreshed one (or null when the refresh token is no longer valid: sign in again). */
export function makeAuthFetch(
  current: () => Session | null,
  update: (session: Session | null) => void,
): typeof fetch {
  return async (input, init) => {
    const session = current();
    if (!session) throw new Error("not signed in");
    // A Request body can be read once: keep a copy for the retry.
    const again = input instanceof Request ? input.clone() : input;
    const response = await fetch(input, withBearer(init, session.accessToken));
    if (response.status !== 401) return response;
    const renewed = await refresh(session);
    update(renewed);
    if (!renewed) return response;
    return fetch(again, withBearer(init, renewed.accessToken));
  };
}
