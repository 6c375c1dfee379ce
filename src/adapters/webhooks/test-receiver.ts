/**
 * For the webhook tests: a real HTTP receiver on loopback that misbehaves on purpose, at random
 * but reproducibly. Not a test file itself.
 *
 * Each request's behaviour is drawn from a hash of (seed, path, webhook-id, how many times this
 * path has seen this id), not from a shared stream: the same seed gives every delivery the same
 * story whatever order concurrent attempts arrive in. Every request is checked with the
 * `standardwebhooks` library's own `Webhook.verify` against the secret registered for its path.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export type Behaviour = 'ok' | 'slow' | 'fail' | 'timeout' | 'reset';

export interface ReceivedRequest {
  path: string;
  id: string;
  /** How many requests this path had seen for this id before this one. */
  nth: number;
  timestamp: string;
  body: string;
  behaviour: Behaviour;
  verified: boolean;
  /** The parsed body when the signature verified. */
  event: { type: string; id: string; created_at: string; data: Record<string, unknown> } | null;
}

export interface ReceiverOptions {
  seed: number;
  /** Chances of each misbehaviour, summing to at most 1; the rest is `ok`. */
  mix?: Partial<Record<Exclude<Behaviour, 'ok'>, number>>;
  /** How long `slow` answers take (under the worker's deadline) and `timeout` ones hang (over it). */
  slowMs?: number;
  hangMs?: number;
}

/** A uniform number in [0, 1) from a hash: the receiver's seeded randomness. */
export function seededUniform(...parts: (string | number)[]): number {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/** mulberry32: a small seeded generator for the worker's jitter in tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** (path, id) pairs answered 2xx: every delivery the worker counts as delivered is among them. */
  readonly acknowledged = new Set<string>();
  /** The most requests for one (path, id) in flight at once: must stay 1. */
  maxConcurrentPerId = 0;
  readonly #secrets = new Map<string, string>();
  readonly #seen = new Map<string, number>();
  readonly #inFlight = new Map<string, number>();
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;
  #options: Required<ReceiverOptions>;
  /** Overrides the drawn behaviour for every request (a receiver that is down, then fixed). */
  force: Behaviour | null = null;
  /**
   * Called when a request arrives, before it is answered; a behaviour it returns replaces the drawn
   * one (the crash test holds a request open and kills the server here).
   */
  onRequest: ((r: ReceivedRequest) => Behaviour | undefined) | null = null;
  url = '';

  constructor(options: ReceiverOptions) {
    this.#options = {
      seed: options.seed,
      mix: options.mix ?? {},
      slowMs: options.slowMs ?? 100,
      hangMs: options.hangMs ?? 5_000,
    };
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Registers the secret requests to `path` are signed with. */
  expect(path: string, secret: string): void {
    this.#secrets.set(path, secret);
  }

  /** The distinct event ids acknowledged on a path. */
  acknowledgedIds(path: string): Set<string> {
    const ids = new Set<string>();
    for (const key of this.acknowledged) {
      const [p, id] = key.split(' ');
      if (p === path) ids.add(id!);
    }
    return ids;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #draw(path: string, id: string, nth: number): Behaviour {
    if (this.force !== null) return this.force;
    const u = seededUniform(this.#options.seed, path, id, nth);
    let edge = 0;
    for (const behaviour of ['fail', 'timeout', 'reset', 'slow'] as const) {
      edge += this.#options.mix[behaviour] ?? 0;
      if (u < edge) return behaviour;
    }
    return 'ok';
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0]!;
      const id = String(req.headers['webhook-id'] ?? '');
      const key = `${path} ${id}`;
      const nth = this.#seen.get(key) ?? 0;
      this.#seen.set(key, nth + 1);
      const headers = {
        'webhook-id': id,
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      let event: ReceivedRequest['event'] = null;
      const secret = this.#secrets.get(path);
      try {
        if (secret !== undefined)
          event = new Webhook(secret).verify(body, headers) as ReceivedRequest['event'];
      } catch {
        event = null;
      }
      const behaviour = this.#draw(path, id, nth);
      const received: ReceivedRequest = {
        path,
        id,
        nth,
        timestamp: headers['webhook-timestamp'],
        body,
        behaviour,
        verified: event !== null,
        event,
      };
      this.requests.push(received);
      const inFlight = (this.#inFlight.get(key) ?? 0) + 1;
      this.#inFlight.set(key, inFlight);
      this.maxConcurrentPerId = Math.max(this.maxConcurrentPerId, inFlight);
      const done = () => this.#inFlight.set(key, (this.#inFlight.get(key) ?? 1) - 1);
      res.on('close', done);
      const override = this.onRequest?.(received);
      if (override !== undefined) received.behaviour = override;
      const ok = () => {
        // Counted before it is written: a 2xx the worker sees is always counted here.
        this.acknowledged.add(key);
        res.writeHead(204).end();
      };
      switch (received.behaviour) {
        case 'ok':
          ok();
          break;
        case 'slow':
          setTimeout(ok, this.#options.slowMs);
          break;
        case 'fail':
          res.writeHead(500, { 'content-type': 'text/plain' }).end('try later');
          break;
        case 'timeout':
          // Answers long after the worker gave up, if the connection is still there.
          setTimeout(() => {
            if (!res.destroyed) res.writeHead(204).end();
          }, this.#options.hangMs);
          break;
        case 'reset':
          req.socket.destroy();
          break;
      }
    });
  }
}
