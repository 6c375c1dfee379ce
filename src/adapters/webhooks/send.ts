/**
 * One delivery attempt over HTTP: a signed POST with a deadline and a bound on what is read back.
 *
 * - Signature: the Standard Webhooks scheme through the `standardwebhooks` library itself
 *   (`webhook-id`, `webhook-timestamp` in seconds, `webhook-signature: v1,<base64 HMAC-SHA256 of
 *   "id.timestamp.body">`), so any Standard Webhooks verifier accepts it.
 * - Deadline: `timeoutMs` covers everything (DNS, connect, TLS, request, response): the socket is
 *   destroyed when it passes, so an attempt never outlives the lease that covers it.
 * - Response: only the status decides (2xx = delivered). At most `responseBytesMax` bytes of the
 *   body are read; past that the connection is cut (a receiver cannot make us buffer without
 *   bound), and the attempt still counts by its status.
 * - Redirects are not followed (a 3xx is a failed attempt): a receiver cannot bounce the signed
 *   body to another host.
 * - Private addresses: unless allowed, a host name that resolves to one is refused at connect time
 *   (`url.ts`), so DNS cannot route a public name to the internal network.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { isPrivateAddress } from '../../app/webhooks/url.ts';

export interface SendRequest {
  url: string;
  /** The Standard Webhooks `whsec_…` secret of the endpoint. */
  secret: string;
  /** `webhook-id`: the event id, the same on every retry. */
  messageId: string;
  /** The body, sent byte for byte as stored. */
  payload: string;
  /** The signing instant (ms); `webhook-timestamp` is it in whole seconds. */
  at: number;
}

export interface SendResult {
  ok: boolean;
  /** The receiver's status; null when it never answered. */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export type Sender = (request: SendRequest) => Promise<SendResult>;

export interface HttpSenderOptions {
  timeoutMs: number;
  responseBytesMax: number;
  allowPrivate: boolean;
}

/** Errors kept in the delivery log are cut to this: enough to read, bounded per row. */
export const attemptErrorLengthMax = 200;
export const userAgent = 'creditpool-webhooks/1';

/** The three Standard Webhooks headers for a body. */
export function signatureHeaders(request: Pick<SendRequest, 'secret' | 'messageId' | 'payload' | 'at'>) {
  const signature = new Webhook(request.secret).sign(
    request.messageId,
    new Date(request.at),
    request.payload,
  );
  return {
    'webhook-id': request.messageId,
    'webhook-timestamp': String(Math.floor(request.at / 1000)),
    'webhook-signature': signature,
  };
}

function cut(text: string): string {
  return text.length > attemptErrorLengthMax ? `${text.slice(0, attemptErrorLengthMax - 1)}…` : text;
}

/** DNS resolution that refuses private addresses (every address of the answer must be public). */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) {
      callback(error, '', 0);
      return;
    }
    const list = addresses as LookupAddress[];
    const refused = list.find((a) => isPrivateAddress(a.address));
    if (refused || list.length === 0) {
      const e = new Error(
        `${hostname} resolves to a private address (${refused?.address ?? 'none'}); not allowed`,
      );
      callback(e as NodeJS.ErrnoException, '', 0);
      return;
    }
    if (options.all) callback(null, list);
    else callback(null, list[0]!.address, list[0]!.family);
  });
};

export function httpSender(options: HttpSenderOptions): Sender {
  return (request) =>
    new Promise<SendResult>((resolve) => {
      const started = performance.now();
      let settled = false;
      let statusCode: number | null = null;
      let note: string | null = null;
      let deadline: NodeJS.Timeout | undefined;
      const finish = (error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        const ok = error === null && statusCode !== null && statusCode >= 200 && statusCode < 300;
        let message = error ?? note;
        if (message === null && !ok) message = `HTTP ${statusCode}`;
        resolve({
          ok,
          statusCode,
          error: message === null ? null : cut(message),
          durationMs: Math.round(performance.now() - started),
        });
      };
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        finish('invalid url');
        return;
      }
      if (!options.allowPrivate && isPrivateAddress(url.hostname)) {
        finish(`${url.hostname} is a private address; not allowed`);
        return;
      }
      const body = Buffer.from(request.payload, 'utf8');
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, {
        method: 'POST',
        // A fresh connection per attempt: events are rare, and no pooled socket outlives a worker.
        agent: false,
        lookup: options.allowPrivate ? undefined : publicOnlyLookup,
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': userAgent,
          ...signatureHeaders(request),
        },
      });
      deadline = setTimeout(() => {
        req.destroy(new Error(`no complete answer within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      req.on('error', (error) => finish(error.message || String(error)));
      req.on('response', (res: IncomingMessage) => {
        statusCode = res.statusCode ?? null;
        if (statusCode !== null && statusCode >= 300 && statusCode < 400)
          note = `HTTP ${statusCode}: redirects are not followed`;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > options.responseBytesMax) {
            note = `response body over ${options.responseBytesMax} bytes: connection closed`;
            res.destroy();
            req.destroy();
            finish(null);
          }
        });
        res.on('end', () => finish(null));
        res.on('error', (error) => finish(error.message));
        res.on('close', () => {
          // Closed before its end without an error of its own (the deadline destroyed the request).
          if (!res.complete) finish(note === null ? 'the response was cut off' : null);
        });
      });
      req.end(body);
    });
}
