// Where the backend is and how ChatKit identifies this site. NEXT_PUBLIC_* values are
// inlined into the client bundle at build time (`next build`), so set them before building.

// The gateway's origin; empty = the page's own origin (next.config.ts proxies /api and
// /chatkit to GATEWAY_URL, so no CORS setting is needed).
export const API_BASE: string = process.env.NEXT_PUBLIC_API_BASE ?? "";

// ChatKit's `/chatkit` endpoint on our gateway (the backend's ChatKitServer).
export const CHATKIT_URL = `${API_BASE}/chatkit`;

// Register public hostnames at platform.openai.com (Settings > Security > Domain allowlist)
// and put the key here; localhost works with the development placeholder.
export const CHATKIT_DOMAIN_KEY: string =
  process.env.NEXT_PUBLIC_CHATKIT_DOMAIN_KEY ?? "domain_pk_localhost_dev";

// ChatKit's web component: served by OpenAI's CDN, not by npm (npm ships types and the
// React wrapper only).
export const CHATKIT_SCRIPT_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js";
