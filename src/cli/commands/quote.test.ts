import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultPriceCatalogueJson } from '../../core/prices/index.ts';

const mainPath = fileURLToPath(new URL('../main.ts', import.meta.url));

/** Runs the real CLI in a child process, with the same Node as the test runner. */
function cli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(process.execPath, [mainPath, ...args], {
    input: options.input ?? '',
    env: { ...process.env, CREDITPOOL_PRICES: '', ...options.env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const at = '2026-11-20T10:00:00Z';
const example = JSON.stringify({
  input_tokens: 1000,
  cache_creation_input_tokens: 3000,
  cache_read_input_tokens: 50000,
  cache_creation: { ephemeral_5m_input_tokens: 3000, ephemeral_1h_input_tokens: 0 },
  output_tokens: 2000,
  server_tool_use: { web_search_requests: 2, web_fetch_requests: 1 },
  service_tier: 'standard',
  inference_geo: 'us',
  speed: 'fast',
});

const dir = mkdtempSync(join(tmpdir(), 'creditpool-quote-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('creditpool quote', () => {
  it('prints a table of lines and the total', () => {
    const r = cli([
      'quote',
      '--model',
      'claude-opus-5-5',
      '--at',
      at,
      '{"input_tokens":1000,"output_tokens":2000}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^model +claude-opus-5-5$/m);
    assert.match(r.stdout, /^input +1,000 +4\/MTok +0\.004$/m);
    assert.match(r.stdout, /^output +2,000 +20\/MTok +0\.04$/m);
    assert.match(r.stdout, /^total +0\.044$/m);
  });

  it('--json: one object, money as exact decimal strings (usage-formats.md §1 example)', () => {
    const r = cli(['quote', '--json', '--model', 'claude-opus-5-5', '--at', at, example]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      cost_usd: '0.1718',
      model: 'claude-opus-5-5',
      at,
      lines: [
        { category: 'input', quantity: 1000, unit_price_usd: '0.0000088', amount_usd: '0.0088' },
        { category: 'cache_write_5m', quantity: 3000, unit_price_usd: '0.000011', amount_usd: '0.033' },
        { category: 'cache_read', quantity: 50000, unit_price_usd: '0.00000044', amount_usd: '0.022' },
        { category: 'output', quantity: 2000, unit_price_usd: '0.000044', amount_usd: '0.088' },
        { category: 'web_search', quantity: 2, unit_price_usd: '0.01', amount_usd: '0.02' },
      ],
      modifiers: ['us_only', 'fast'],
    });
    assert.equal(r.stdout.trim().split('\n').length, 1);
  });

  it('reads the usage from stdin with -, and resolves a cloud id', () => {
    const r = cli(['quote', '--json', '--model', 'us.anthropic.claude-opus-4-6-v1', '--at', at, '-'], {
      input: '{"input_tokens":1000000,"output_tokens":0}',
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.model, 'claude-opus-4-6');
    assert.equal(out.cost_usd, '5');
  });

  it('--at defaults to now', () => {
    const r = cli(['quote', '--json', '--model', 'claude-haiku-4-5', '{"input_tokens":1,"output_tokens":1}']);
    assert.equal(r.code, 0, r.stderr);
    const printed = Date.parse(JSON.parse(r.stdout).at);
    assert.ok(Math.abs(printed - Date.now()) < 60_000);
  });

  it('uses the catalogue named by CREDITPOOL_PRICES', () => {
    const json = structuredClone(defaultPriceCatalogueJson);
    json.models.push({
      id: 'claude-nova-6',
      effective_from: '2026-01-01T00:00:00Z',
      us_only_inference: false,
      prices: [{ input: '7', cache_write_5m: '8.75', cache_write_1h: '14', cache_read: '0.7', output: '35' }],
    });
    const path = join(dir, 'prices.json');
    writeFileSync(path, JSON.stringify(json));
    const r = cli(
      [
        'quote',
        '--json',
        '--model',
        'claude-nova-6',
        '--at',
        at,
        '{"input_tokens":1000000,"output_tokens":0}',
      ],
      {
        env: { CREDITPOOL_PRICES: path },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).cost_usd, '7');
  });

  it('a bad CREDITPOOL_PRICES file is reported, exit 1', () => {
    const path = join(dir, 'bad-prices.json');
    writeFileSync(path, '{"schema":"nope"}');
    const r = cli(
      ['quote', '--model', 'claude-opus-5-5', '--at', at, '{"input_tokens":1,"output_tokens":1}'],
      {
        env: { CREDITPOOL_PRICES: path },
      },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CREDITPOOL_PRICES: .*bad-prices\.json: \$\.schema/);
  });

  const refusals: [string, string[], string, RegExp][] = [
    [
      'an unknown model',
      ['--model', 'gpt-5'],
      '{"input_tokens":1,"output_tokens":1}',
      /unknown_model: unknown model: "gpt-5"/,
    ],
    [
      'a bad token count',
      ['--model', 'claude-opus-5-5'],
      '{"input_tokens":-1,"output_tokens":1}',
      /invalid_usage: usage\.input_tokens/,
    ],
    [
      'batch with fast',
      ['--model', 'claude-opus-5-5'],
      '{"input_tokens":1,"output_tokens":1,"service_tier":"batch","speed":"fast"}',
      /invalid_usage: batch and fast/,
    ],
    ['not JSON', ['--model', 'claude-opus-5-5'], '{input_tokens:1}', /usage is not JSON/],
    ['not an object', ['--model', 'claude-opus-5-5'], '[1]', /usage must be an object/],
  ];
  for (const [name, flags, usage, message] of refusals) {
    it(`${name}: says what is wrong on stderr, exit 1`, () => {
      const r = cli(['quote', ...flags, '--at', at, usage]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
    });
  }

  const misuse: [string, string[]][] = [
    ['no --model', ['quote', '{"input_tokens":1,"output_tokens":1}']],
    ['no usage', ['quote', '--model', 'claude-opus-5-5']],
    ['two usages', ['quote', '--model', 'claude-opus-5-5', '{}', '{}']],
    ['an unknown flag', ['quote', '--modle', 'claude-opus-5-5', '{}']],
    ['a bad --at', ['quote', '--model', 'claude-opus-5-5', '--at', 'yesterday', '{}']],
  ];
  for (const [name, args] of misuse) {
    it(`${name}: exit 2 with a hint`, () => {
      const r = cli(args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /creditpool quote --help/);
    });
  }

  it('--help prints the usage', () => {
    const r = cli(['quote', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: creditpool quote --model <id>/);
    assert.match(r.stdout, /CREDITPOOL_PRICES/);
  });
});

describe('creditpool (dispatcher)', () => {
  it('--help lists every command', () => {
    const r = cli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: creditpool <command>/);
    assert.match(r.stdout, /^ {2}quote +price one usage object/m);
  });
  it('no command: the help, exit 2', () => {
    const r = cli([]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /Commands:/);
  });
  it('an unknown command: a message, exit 2', () => {
    const r = cli(['quoet']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "quoet"/);
  });
});
