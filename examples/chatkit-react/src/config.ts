// Where the backend is and how ChatKit identifies this site; set at build time (Vite env).

// The gateway's origin; empty = the page's own origin (the dev server proxies to it).
export const API_BASE: string = import.meta.env.VITE_API_BASE ?? "";

// ChatKit's `/chatkit` endpoint on our gateway (the backend's ChatKitServer).
export const CHATKIT_URL = `${API_BASE}/chatkit`;

// Register public hostnames at platform.openai.com (Settings > Security > Domain allowlist)
// and put the key here; localhost works with the development placeholder.
export const CHATKIT_DOMAIN_KEY: string =
  import.meta.env.VITE_CHATKIT_DOMAIN_KEY ?? "domain_pk_localhost_dev";
