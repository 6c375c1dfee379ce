import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultPriceCatalogue, defaultPriceCatalogueJson, price } from '../core/prices/index.ts';
import { parseInstant } from '../core/time.ts';
import { loadPriceCatalogueFile, priceCatalogueFromEnv } from './prices-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'creditpool-prices-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('prices-file', () => {
  it('unset or empty CREDITPOOL_PRICES selects the default catalogue', () => {
    assert.equal(priceCatalogueFromEnv({}), defaultPriceCatalogue);
    assert.equal(priceCatalogueFromEnv({ CREDITPOOL_PRICES: '' }), defaultPriceCatalogue);
  });
  it('loads an operator file with an added model', () => {
    const json = structuredClone(defaultPriceCatalogueJson);
    json.models.push({
      id: 'claude-nova-6',
      effective_from: '2026-12-01T00:00:00Z',
      us_only_inference: true,
      prices: [{ input: '1', cache_write_5m: '1.25', cache_write_1h: '2', cache_read: '0.1', output: '5' }],
    });
    const path = join(dir, 'prices.json');
    writeFileSync(path, JSON.stringify(json));
    const catalogue = priceCatalogueFromEnv({ CREDITPOOL_PRICES: path });
    const at = parseInstant('2026-12-02T00:00:00Z');
    assert.ok(price('claude-nova-6', { input_tokens: 1, output_tokens: 1 }, at, catalogue).ok);
  });
  it('a bad file names the file and the field', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ ...defaultPriceCatalogueJson, schema: 'x' }));
    assert.throws(
      () => loadPriceCatalogueFile(path),
      /bad\.json: \$\.schema: must be "creditpool\.prices\/1"/,
    );
    writeFileSync(path, '{');
    assert.throws(() => loadPriceCatalogueFile(path), /bad\.json: not JSON/);
    assert.throws(() => loadPriceCatalogueFile(join(dir, 'missing.json')), /ENOENT/);
  });
});
