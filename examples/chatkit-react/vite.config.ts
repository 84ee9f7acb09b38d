import react from "@vitejs/plugin-react";
import { defineConfig, loadEnv } from "vite";

// In development the Vite server proxies the backend's routes to the gateway, so the page,
// /api and /chatkit share one origin and no CORS setting is needed.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, ".", "");
  const gateway = env.GATEWAY_URL ?? "http://127.0.0.1:8080";
  const proxy = { target: gateway, changeOrigin: false };
  return {
    plugins: [react()],
    server: {
      port: 3000,
      strictPort: true,
      proxy: { "/api": proxy, "/chatkit": proxy },
    },
  };
});
