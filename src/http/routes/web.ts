/**
 * The dashboard's static files at `/` (issue 7): `web/` as it is in the repository (no build step),
 * plus uPlot's ESM build and stylesheet straight from `node_modules/uplot/dist`, so the charting
 * library is upgraded by npm like any other dependency and never copied into the repository.
 *
 * - Public: the files hold no data. The page asks for a token and sends it to the API itself.
 * - One route per file, listed when the server is built: an unknown path stays an unmatched route
 *   (the usual 404 problem), and no request path ever reaches the file system (no traversal).
 * - `Cache-Control: no-cache` with a strong ETag: the browser revalidates (a 304 with no body), so
 *   a new release is picked up at once without versioned file names.
 * - Compressed with gzip once per file version, when the client accepts it.
 * - A strict Content-Security-Policy: scripts, styles and connections only from this origin, no
 *   inline script or style, no framing. The page builds its DOM with `textContent`, never HTML.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpProblem } from '../errors.ts';

/** The repository's `web/` folder. */
export const webRootDefault = fileURLToPath(new URL('../../../web/', import.meta.url));

/** A dashboard is a handful of files; more means the wrong folder was given. */
export const webFilesMax = 200;
/** Per file: the largest (uPlot's unminified ESM build) is ~150 kB. */
export const webFileBytesMax = 2 * 1024 * 1024;
/** Below this, gzip saves less than its header costs. */
const gzipBytesMin = 1024;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Same-origin only. `style-src 'self'` still lets scripts set `element.style` (CSSOM), which is
 * how the page sizes its bars and uPlot positions its canvas; inline `style` attributes and
 * `<style>` blocks are refused. `img-src data:` is for uPlot's legend markers.
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: Record<string, string> = {
  'content-security-policy': contentSecurityPolicy,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

export interface WebFile {
  /** The URL path it is served at. */
  url: string;
  path: string;
  type: string;
}

/** The uPlot files the page imports, from the installed package. */
function uplotFiles(): WebFile[] {
  const dist = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  return [
    { url: '/vendor/uplot/uPlot.esm.js', path: join(dist, 'uPlot.esm.js'), type: contentTypes['.js']! },
    { url: '/vendor/uplot/uPlot.min.css', path: join(dist, 'uPlot.min.css'), type: contentTypes['.css']! },
  ];
}

/** Every servable file under `root` (dot files and unknown types skipped), and `/` for `index.html`. */
export function listWebFiles(root: string): WebFile[] {
  const files: WebFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(path);
        continue;
      }
      const type = contentTypes[extname(entry.name)];
      if (!entry.isFile() || type === undefined) continue;
      if (files.length >= webFilesMax) throw new Error(`${root}: more than ${webFilesMax} files`);
      files.push({ url: `/${relative(root, path).split(sep).join('/')}`, path, type });
    }
  };
  walk(root);
  const index = files.find((f) => f.url === '/index.html');
  if (index) files.push({ ...index, url: '/' });
  return [...files, ...uplotFiles()];
}

interface Loaded {
  version: string;
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
}

/**
 * Serves `root` (default `web/`) and uPlot. Files are read on first request and kept in memory
 * until their size or modification time changes, so an edited page shows on reload.
 */
export function webRoutes(app: FastifyInstance, root: string = webRootDefault): void {
  const cache = new Map<string, Loaded>();
  const load = (file: WebFile): Loaded => {
    let version: string;
    try {
      const stat = statSync(file.path);
      if (stat.size > webFileBytesMax) throw new Error(`${file.path}: larger than ${webFileBytesMax} bytes`);
      version = `${stat.size}:${stat.mtimeMs}`;
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') throw new HttpProblem('not_found', 'no such file');
      throw error;
    }
    const cached = cache.get(file.path);
    if (cached?.version === version) return cached;
    const body = readFileSync(file.path);
    const gzip = body.length >= gzipBytesMin ? gzipSync(body) : null;
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    const loaded = { version, body, gzip: gzip !== null && gzip.length < body.length ? gzip : null, etag };
    cache.set(file.path, loaded);
    return loaded;
  };

  const send = (file: WebFile, request: FastifyRequest, reply: FastifyReply) => {
    const loaded = load(file);
    reply.headers(securityHeaders);
    reply.header('cache-control', 'no-cache');
    reply.header('etag', loaded.etag);
    reply.header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === loaded.etag) return reply.code(304).send();
    reply.type(file.type);
    const accepts = String(request.headers['accept-encoding'] ?? '');
    if (loaded.gzip !== null && /\bgzip\b/.test(accepts)) {
      reply.header('content-encoding', 'gzip');
      return reply.send(loaded.gzip);
    }
    return reply.send(loaded.body);
  };

  for (const file of listWebFiles(root)) {
    app.get(file.url, { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) =>
      send(file, request, reply),
    );
  }
}
