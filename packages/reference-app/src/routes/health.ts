import type { Router } from 'express';

/** `GET /healthz` → `ok` (text/plain, no-store); never behind auth. */
export function mountHealthRoutes(router: Router): void {
  router.get('/healthz', (_req, res) => {
    res.status(200).set('cache-control', 'no-store').type('text/plain').send('ok');
  });
}
