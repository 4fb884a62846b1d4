/** The console asset's file name under `/console/assets/`. */
export const CONSOLE_APP_ASSET = 'console-app.js';

const escapeAttr = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The console page: a static shell that loads the bundled Preact app. It carries no runtime data (the app
 * fetches everything through the authenticated JSON and SSE routes). `baseUrl` is where the router is
 * mounted (`''` at the root); `assetQuery` is appended to the script URL (used to forward `auth_token`
 * when the shell itself is guarded).
 */
export function consoleHtml(baseUrl: string, requireAuth: boolean, assetQuery = ''): string {
  const base = escapeAttr(baseUrl);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Mob Console · MobKit</title>
<style>
:root { color-scheme: light dark; --fg: #1d232a; --muted: #5b6672; --bg: #f6f7f9; --card: #fff; --line: #d9dee4; --accent: #2f6fde; --ok: #1f8a4c; --bad: #c0392b; --warn: #b7791f; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ed; --muted: #98a2ad; --bg: #14171b; --card: #1c2025; --line: #2e343b; --accent: #6b9cff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 12px; padding: 10px 18px; border-bottom: 1px solid var(--line); background: var(--card); flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0; }
main { display: grid; grid-template-columns: minmax(260px, 1fr) minmax(320px, 1.4fr) minmax(300px, 1.2fr); gap: 14px; padding: 14px 18px; }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 8px; }
ul { list-style: none; margin: 0; padding: 0; }
li { padding: 6px 0; border-bottom: 1px solid var(--line); }
li:last-child { border-bottom: 0; }
.muted { color: var(--muted); font-size: 12px; }
.pill { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 11px; border: 1px solid var(--line); margin-right: 4px; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
.feed { max-height: 60vh; overflow: auto; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
.feed li { padding: 3px 0; }
textarea, input, select, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
textarea { width: 100%; min-height: 64px; resize: vertical; }
button { background: var(--accent); color: #fff; border: 0; cursor: pointer; }
button.secondary { background: transparent; color: var(--fg); border: 1px solid var(--line); }
button:disabled { opacity: .5; cursor: default; }
.reply { white-space: pre-wrap; padding: 8px; border: 1px dashed var(--line); border-radius: 6px; min-height: 40px; margin-top: 8px; }
.row { display: flex; gap: 8px; align-items: center; margin: 6px 0; flex-wrap: wrap; }
.grow { flex: 1; }
section.wide { grid-column: 1 / -1; }
li.selected { background: color-mix(in srgb, var(--accent) 10%, transparent); }
button.small { padding: 2px 8px; font-size: 12px; margin-top: 4px; }
.transcript { list-style: none; padding: 0; max-height: 70vh; overflow: auto; margin: 8px 0; }
.transcript .msg { padding: 8px 4px; }
.msg-user, .msg-peer { border-left: 3px solid var(--accent); padding-left: 8px; }
.msg-summary, .msg-context, .msg-system, .msg-notice { border-left: 3px solid var(--warn); padding-left: 8px; }
.transcript .text { white-space: pre-wrap; overflow-wrap: anywhere; }
.transcript .tool { margin: 4px 0 4px 10px; }
.transcript pre { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--bg); padding: 4px 6px; border-radius: 4px; }
</style>
</head>
<body>
<div id="app" data-testid="meerkat-console" data-base-url="${base}" data-require-auth="${requireAuth ? 'true' : 'false'}"><p data-testid="console-loading" style="padding:18px">Loading the console…</p></div>
<noscript>The MobKit console needs JavaScript.</noscript>
<script src="${base}/console/assets/${CONSOLE_APP_ASSET}${escapeAttr(assetQuery)}"></script>
</body>
</html>
`;
}
