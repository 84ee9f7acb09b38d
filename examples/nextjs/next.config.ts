import type { NextConfig } from "next";

// `next dev` / `next start` proxy the backend's routes to the gateway, so the page, /api
// and /chatkit share one origin and no CORS setting is needed. With NEXT_PUBLIC_API_BASE
// set the browser calls the gateway directly instead.
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:8080";

const config: NextConfig = {
  reactStrictMode: true,
  // The proxy must not buffer or compress ChatKit's server-sent events.
  compress: false,
  async rewrites() {
    return [
      { source: "/api/:path*", destination: `${gateway}/api/:path*` },
      { source: "/chatkit", destination: `${gateway}/chatkit` },
      { source: "/chatkit/:path*", destination: `${gateway}/chatkit/:path*` },
    ];
  },
};

export default config;
