// Shared fixtures of the HTTP scenarios of `npm run bench`: the mob, the console-auth config (HS256) and its
// token, and the plumbing both HTTP benches use (wall clock, percentiles, a bench server in a child process).
import { fork } from 'node:child_process';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';

/** Milliseconds since the epoch at sub-millisecond resolution, comparable across processes of one machine. */
export const wallNow = () => performance.timeOrigin + performance.now();

/** The `p`th percentile of an ascending array (nearest rank). */
export const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

/**
 * Forks a bench server (`script` with `args`, its stdio inherited, no colours) and returns it with `ask`:
 * send `{cmd, ...extra}` over IPC and resolve with the first reply whose `reply` is `cmd`.
 */
export function forkBenchServer(script, args = []) {
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  const child = fork(script, args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = (cmd, extra = {}) =>
    new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m?.reply !== cmd) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m);
      };
      const onExit = (code) => reject(new Error(`bench server exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ cmd, ...extra });
    });
  return { child, ask };
}

/** The mob behind the runtime: externally addressable workers answering with TestClient. */
export const MOB_TOML = `
[mob]
id = "bench"
[profiles.worker]
model = "gpt-5.2"
external_addressable = true
tools = { comms = true }
`;

/** Members the SSE scenario sends host messages to (round robin). */
export const MEMBERS = Array.from({ length: 16 }, (_, i) => `w-${i}`);

const HS_SECRET = new TextEncoder().encode('bench-hs256-secret-with-plenty-of-entropy-0123456789');
const ISSUER = 'http://127.0.0.1:9';
const AUDIENCE = 'meerkat-console';

/** Runtime decision inputs with console auth required and a trusted HS256 key (no network: JWKS inline). */
export const AUTH_CONFIG = {
  bigquery: { dataset: 'bench_ds', table: 'bench_table' },
  trustedMobkitToml: '[[modules]]\nid = "router"\ncommand = "router-bin"\n',
  auth: { defaultProvider: 'google_o_auth', emailAllowlist: ['ops@example.com'] },
  trustedOidc: {
    discoveryJson: JSON.stringify({ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks.json` }),
    jwksJson: JSON.stringify({
      keys: [{ kty: 'oct', kid: 'hs', alg: 'HS256', k: Buffer.from(HS_SECRET).toString('base64url') }],
    }),
    audience: AUDIENCE,
  },
  console: { requireAppAuth: true },
  releaseMetadataJson: '{"targets":["crates.io","npm","pypi","github-releases"],"support_matrix":"same-as-meerkat"}',
};

/** A console token for ops@example.com, valid for an hour. */
export function consoleToken() {
  return new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    email: 'ops@example.com',
    provider: 'google_oauth',
    exp: Math.floor(Date.now() / 1000) + 3600,
  })
    .setProtectedHeader({ alg: 'HS256', kid: 'hs' })
    .sign(HS_SECRET);
}

/**
 * Opens `n` SSE subscribers of `path` on 127.0.0.1:`port` (in batches of 100); each records the seq of every
 * frame's id (`<seq>` or `<prefix>:<seq>`) and the wall time its chunk arrived. Set `closing` before
 * destroying `req` so the abort is not taken for a failure.
 */
export async function openSubscribers(port, n, path) {
  const subs = [];
  const opening = [];
  for (let i = 0; i < n; i += 1) {
    const sub = { seqs: [], times: [], buffer: '', req: undefined, res: undefined, closing: false };
    subs.push(sub);
    opening.push(
      new Promise((resolve, reject) => {
        sub.req = request({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream' } }, (res) => {
          sub.res = res;
          if (res.statusCode !== 200) return reject(new Error(`${path} answered ${res.statusCode}`));
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            const at = wallNow();
            sub.buffer += chunk;
            for (let end = sub.buffer.indexOf('\n\n'); end >= 0; end = sub.buffer.indexOf('\n\n')) {
              const frame = sub.buffer.slice(0, end);
              sub.buffer = sub.buffer.slice(end + 2);
              const m = /^id: (?:[^\n]*:)?(\d+)$/m.exec(frame);
              if (m) {
                sub.seqs.push(Number(m[1]));
                sub.times.push(at);
              }
            }
          });
          resolve();
        });
        sub.req.on('error', (error) => (sub.closing ? undefined : reject(error)));
        sub.req.end();
      }),
    );
    if (i % 100 === 99) await Promise.all(opening.slice(-100));
  }
  await Promise.all(opening);
  return subs;
}
