/**
 * The OpenAPI document at `/openapi.json` lists every path and method of the contract (API.md,
 * hard-coded below so a route that disappears or moves fails here), each with its request and
 * response schemas, and declares every money field a string (R18).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './test-harness.ts';

/** API.md, route by route; `body` marks the routes whose request carries a JSON body. */
const contract: { method: string; path: string; body?: boolean; query?: string[] }[] = [
  { method: 'post', path: '/v1/tokens', body: true },
  { method: 'post', path: '/v1/orgs', body: true },
  { method: 'post', path: '/v1/accounts', body: true },
  { method: 'get', path: '/v1/accounts/{id}' },
  { method: 'patch', path: '/v1/accounts/{id}', body: true },
  { method: 'post', path: '/v1/accounts/{id}/claim' },
  { method: 'put', path: '/v1/accounts/{id}/usage-credits', body: true },
  { method: 'put', path: '/v1/accounts/{id}/apps/{app}', body: true },
  { method: 'put', path: '/v1/orgs/{id}/usage-credits', body: true },
  { method: 'get', path: '/v1/orgs/{id}/members' },
  { method: 'post', path: '/v1/authorize', body: true },
  { method: 'post', path: '/v1/holds/{id}/settle', body: true },
  { method: 'post', path: '/v1/holds/{id}/void', body: true },
  { method: 'post', path: '/v1/usage', body: true },
  { method: 'post', path: '/v1/quote', body: true },
  { method: 'get', path: '/v1/accounts/{id}/statements/current' },
  { method: 'get', path: '/v1/accounts/{id}/statements/{cycle_start}' },
  { method: 'get', path: '/v1/accounts/{id}/entries', query: ['cycle_start', 'limit', 'cursor'] },
  { method: 'post', path: '/v1/accounts/{id}/adjustments', body: true },
  { method: 'get', path: '/v1/plans' },
  { method: 'get', path: '/v1/surfaces' },
  { method: 'get', path: '/v1/prices', query: ['at'] },
  { method: 'get', path: '/healthz' },
  { method: 'get', path: '/openapi.json' },
  { method: 'post', path: '/v1/test-clock', body: true },
  { method: 'post', path: '/v1/webhooks', body: true },
  { method: 'get', path: '/v1/webhooks', query: ['limit', 'cursor'] },
  { method: 'delete', path: '/v1/webhooks/{id}' },
  { method: 'get', path: '/v1/webhooks/{id}/deliveries', query: ['limit', 'cursor'] },
];

/** Served beyond the contract (API.md allows more), documented all the same. */
const extras: typeof contract = [
  { method: 'get', path: '/v1/accounts/{id}/cycles' },
  // For the dashboard (issue 7): who a token is, and an org's policy.
  { method: 'get', path: '/v1/me' },
  { method: 'get', path: '/v1/orgs/{id}' },
  { method: 'get', path: '/v1/test-clock' },
  { method: 'post', path: '/v1/webhooks/{id}/deliveries/{delivery_id}/replay' },
  { method: 'get', path: '/metrics' },
];

type Json = Record<string, unknown>;

function jsonSchemaOf(content: unknown): Json | undefined {
  return ((content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as
    | Json
    | undefined;
}

/** Every property named `*_usd` under a schema, with its path. */
function moneyFields(schema: unknown, path: string, out: [string, unknown][]): [string, unknown][] {
  if (typeof schema !== 'object' || schema === null) return out;
  const s = schema as Json;
  for (const [name, sub] of Object.entries((s.properties as Json | undefined) ?? {})) {
    if (name.endsWith('_usd')) out.push([`${path}.${name}`, sub]);
    moneyFields(sub, `${path}.${name}`, out);
  }
  if (s.items) moneyFields(s.items, `${path}[]`, out);
  if (typeof s.additionalProperties === 'object') moneyFields(s.additionalProperties, `${path}.*`, out);
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    for (const sub of (s[key] as unknown[] | undefined) ?? []) moneyFields(sub, path, out);
  }
  return out;
}

function isStringSchema(schema: unknown): boolean {
  const s = schema as Json;
  if (s.type === 'string') return true;
  if (Array.isArray(s.type)) return s.type.every((t) => t === 'string' || t === 'null');
  if (typeof s.additionalProperties === 'object' && s.type === 'object')
    return isStringSchema(s.additionalProperties);
  if (Array.isArray(s.anyOf)) return (s.anyOf as Json[]).every((x) => x.type === 'null' || isStringSchema(x));
  return false;
}

describe('http: /openapi.json', () => {
  let t: TestServer;
  let doc: Json;
  before(async () => {
    t = await startTestServer();
    const r = await t.call('GET', '/openapi.json', { token: null });
    assert.equal(r.status, 200, r.text);
    doc = r.json;
  });
  after(() => t.close());

  it('is an OpenAPI 3.1 document with bearer auth', () => {
    assert.match(String(doc.openapi), /^3\.1\./);
    const schemes = (doc.components as Json).securitySchemes as Json;
    assert.deepEqual(schemes.bearer, { type: 'http', scheme: 'bearer' });
  });

  for (const route of [...contract, ...extras]) {
    it(`${route.method.toUpperCase()} ${route.path}: request and response schemas`, () => {
      const paths = doc.paths as Json;
      const operation = (paths[route.path] as Json | undefined)?.[route.method] as Json | undefined;
      assert.ok(
        operation,
        `${route.method} ${route.path} is missing; paths: ${Object.keys(paths).join(', ')}`,
      );
      const responses = operation.responses as Json;
      const success = Object.keys(responses).filter((code) => /^2\d\d$/.test(code));
      assert.ok(success.length > 0, 'no 2xx response');
      for (const code of success) {
        const content = (responses[code] as Json).content as Json;
        const schema =
          jsonSchemaOf(content) ??
          ((content?.['text/plain'] as Json | undefined)?.schema as Json | undefined);
        assert.ok(schema, `no schema for ${code}`);
      }
      assert.ok(jsonSchemaOf((responses['4XX'] as Json | undefined)?.content), 'no problem schema for 4XX');
      if (route.body) {
        const body = jsonSchemaOf((operation.requestBody as Json | undefined)?.content);
        assert.ok(body, 'no request body schema');
        assert.equal(body.type === 'object' || Array.isArray(body.type) || Array.isArray(body.anyOf), true);
      }
      const parameters = (operation.parameters as Json[] | undefined) ?? [];
      for (const name of route.path.match(/\{(\w+)\}/g) ?? []) {
        const param = parameters.find((p) => p.in === 'path' && p.name === name.slice(1, -1));
        assert.ok(param?.schema, `no schema for path parameter ${name}`);
      }
      for (const name of route.query ?? []) {
        assert.ok(
          parameters.find((p) => p.in === 'query' && p.name === name),
          `no query parameter ${name}`,
        );
      }
    });
  }

  it('declares every money field (*_usd) as a string, in requests and responses', () => {
    const found: [string, unknown][] = [];
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const [method, operation] of Object.entries(item as Json)) {
        const op = operation as Json;
        moneyFields(
          jsonSchemaOf((op.requestBody as Json | undefined)?.content),
          `${method} ${path} body`,
          found,
        );
        for (const [code, response] of Object.entries((op.responses as Json | undefined) ?? {})) {
          moneyFields(jsonSchemaOf((response as Json).content), `${method} ${path} ${code}`, found);
        }
      }
    }
    assert.ok(found.length > 50, `only ${found.length} money fields found`);
    for (const [where, schema] of found)
      assert.ok(isStringSchema(schema), `${where} is not a string: ${JSON.stringify(schema)}`);
  });
});
