/**
 * Which URLs an endpoint may have. `http:` or `https:`, at most `webhookUrlLengthMax` characters,
 * no credentials in the URL (they would sit in the database and the logs), no fragment.
 *
 * Private networks: an endpoint could otherwise make the server call into its own network (SSRF),
 * so by default an address that is loopback, private, link-local, carrier-grade NAT, multicast or
 * unspecified is refused, both at registration (an IP literal, `localhost`) and at delivery (what a
 * host name resolves to, so DNS cannot point a public name at a private address later). An operator
 * whose receivers live on a private network (or a test on loopback) allows them with
 * `CREDITPOOL_WEBHOOK_ALLOW_PRIVATE=1` (`serve`) or `allowPrivate` (`buildServer`).
 */
import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors.ts';

/** Long enough for any real receiver URL with a query token; bounds what is stored and logged. */
export const webhookUrlLengthMax = 2048;

const privateNetworks = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  privateNetworks.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  privateNetworks.addSubnet(network, prefix, 'ipv6');
}

/** True for an IP address on a network a webhook must not reach unless allowed (see above). */
export function isPrivateAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(bare);
  if (family === 4) return privateNetworks.check(bare, 'ipv4');
  if (family === 6) {
    // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
    if (mapped) return privateNetworks.check(mapped[1]!, 'ipv4');
    return privateNetworks.check(bare, 'ipv6');
  }
  return false;
}

/** Host names that name this machine without DNS. */
function isLocalName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/**
 * Checks an endpoint URL and returns it normalized (as `URL` serializes it). Throws
 * `invalid_request` saying what is wrong.
 *
 * @example
 * checkWebhookUrl('https://hooks.example.com/creditpool', { allowPrivate: false }); // 'https://hooks.example.com/creditpool'
 * checkWebhookUrl('http://127.0.0.1:9000/', { allowPrivate: false }); // throws: a private address
 */
export function checkWebhookUrl(text: string, options: { allowPrivate: boolean }): string {
  if (typeof text !== 'string' || text.length === 0 || text.length > webhookUrlLengthMax) {
    throw new AppError('invalid_request', `url must be 1 to ${webhookUrlLengthMax} characters`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AppError('invalid_request', 'url is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('invalid_request', 'url must be http: or https:');
  }
  if (url.username !== '' || url.password !== '') {
    throw new AppError('invalid_request', 'url must not carry credentials; put a token in the path or query');
  }
  if (url.hash !== '' || text.includes('#'))
    throw new AppError('invalid_request', 'url must not have a fragment');
  if (url.hostname === '') throw new AppError('invalid_request', 'url needs a host');
  if (!options.allowPrivate && (isPrivateAddress(url.hostname) || isLocalName(url.hostname))) {
    throw new AppError(
      'invalid_request',
      'url points at a private or loopback address; the operator allows those with CREDITPOOL_WEBHOOK_ALLOW_PRIVATE=1',
    );
  }
  const normalized = url.toString();
  if (normalized.length > webhookUrlLengthMax) {
    throw new AppError('invalid_request', `url must be at most ${webhookUrlLengthMax} characters`);
  }
  return normalized;
}
