import type { Metadata } from "next";
import Script from "next/script";
import type { ReactNode } from "react";

import { CHATKIT_SCRIPT_URL } from "../lib/config";
import "./globals.css";

export const metadata: Metadata = { title: "ChatKit on the self-hosted backend" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        {/* ChatKit's web component comes from OpenAI's CDN (npm has only its React wrapper
            and types): the browser needs internet access for this page. */}
        <Script src={CHATKIT_SCRIPT_URL} strategy="afterInteractive" />
        {children}
      </body>
    </html>
  );
}
