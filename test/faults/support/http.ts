/**
 * A small HTTP client for the fault tests and the soak: node:http with keep-alive sockets, a time
 * bound on every request, and network failures reported as values (`status: 0`), never thrown, so a
 * load loop can tell "not acknowledged" from "refused" without try/catch around every call.
 */
import { Agent, request } from 'node:http';

/** A request that has not answered in this long is treated as unacknowledged. */
export const requestTimeoutMs = 10_000;

export interface HttpAnswer {
  /** The HTTP status; 0 when no answer arrived (refused, reset, timed out). */
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field by the callers.
  json: any;
  text: string;
  headers: Record<string, string | string[] | undefined>;
  /** Why there was no answer (status 0). */
  error: string | null;
  ms: number;
}

export class HttpClient {
  base: string;
  readonly token: string;
  readonly #sockets: number;
  readonly #timeoutMs: number;
  #agent: Agent;

  constructor(base: string, token: string, sockets = 64, timeoutMs = requestTimeoutMs) {
    this.base = base;
    this.token = token;
    this.#sockets = sockets;
    this.#timeoutMs = timeoutMs;
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets });
  }

  call(
    method: string,
    path: string,
    body?: unknown,
    options: { raw?: string | Buffer } = {},
  ): Promise<HttpAnswer> {
    const started = performance.now();
    const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const url = new URL(path, this.base);
    return new Promise<HttpAnswer>((resolve) => {
      let settled = false;
      const done = (answer: Omit<HttpAnswer, 'ms'>) => {
        if (settled) return;
        settled = true;
        resolve({ ...answer, ms: performance.now() - started });
      };
      const headers: Record<string, string | number> = { authorization: `Bearer ${this.token}` };
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      const req = request(url, { method, headers, agent: this.#agent, timeout: this.#timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) =>
          done({ status: 0, json: null, text: '', headers: {}, error: error.message }),
        );
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = text.length > 0 ? JSON.parse(text) : null;
          } catch {
            json = null;
          }
          done({ status: res.statusCode ?? 0, json, text, headers: res.headers, error: null });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.#timeoutMs} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) =>
        done({ status: 0, json: null, text: '', headers: {}, error: error.code ?? error.message }),
      );
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /**
   * Drops every socket, in flight or idle, and starts a fresh pool: only between servers (after a
   * kill, before the next server answers), never while other requests are running.
   */
  reset(): void {
    this.#agent.destroy();
    this.#agent = new Agent({ keepAlive: true, maxSockets: this.#sockets });
  }

  close(): void {
    this.#agent.destroy();
  }
}
