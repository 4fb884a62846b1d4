import { existsSync } from 'node:fs';
import type { Router } from 'express';
import { consoleHtml } from '../console-html.js';
import { RouteError } from '../http-errors.js';
import type { RouteContext } from './context.js';

/** A file name under `/console/assets/`: no path separators, no leading dot, no `..`. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * `GET /console`, `/console/` (the page shell) and `GET /console/assets/:file` (its bundled script),
 * behind the shell guard: they hold no data, so by default they load without a token.
 */
export function mountConsolePageRoutes(router: Router, ctx: RouteContext): void {
  const { options, shellGuard } = ctx;
  const requireAuth = ctx.decisionState.console.requireAppAuth;
  const assetsDir = options.consoleAssetsDir;

  router.get(['/console', '/console/'], shellGuard, (req, res) => {
    // A guarded shell forwards its token to the script URL (the browser sends no header for a <script>).
    const token =
      typeof req.query.auth_token === 'string' && options.guardConsoleShell
        ? `?auth_token=${encodeURIComponent(req.query.auth_token)}`
        : '';
    res
      .status(200)
      .set({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' })
      .type('html')
      .send(consoleHtml(req.baseUrl, requireAuth, token));
  });

  router.get('/console/assets/:file', shellGuard, (req, res, next) => {
    const file = String(req.params.file);
    if (!ASSET_NAME.test(file) || file.includes('..')) throw new RouteError('not_found');
    res.sendFile(
      file,
      {
        root: assetsDir,
        headers: { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
        dotfiles: 'deny',
      },
      (err) => {
        if (!err || res.headersSent) return;
        next(
          new RouteError(
            'not_found',
            existsSync(assetsDir) ? undefined : 'the console assets are not built; run the package build',
          ),
        );
      },
    );
  });
}
