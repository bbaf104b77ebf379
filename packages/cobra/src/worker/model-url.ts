/** An absolute folder URL ending in "/", so that relative file paths resolve inside it. */
export function modelBaseUrl(url: string, pageUrl?: string): string {
  const trimmed = url.trim().replace(/\/cobra\.json$/, "/");
  const base = new URL(trimmed, pageUrl);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  base.search = "";
  base.hash = "";
  return base.href;
}
