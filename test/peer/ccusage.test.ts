/**
 * The peer cross-check (issue 6; docs/ccusage-comparison.md): creditpool's per-day pricing of
 * transcripts against `ccusage daily --offline --json` (devDependency, native binary). Small
 * corpora, so each ccusage run takes well under a second; skipped where ccusage has no binary for
 * the platform.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ccusageCli,
  comparableCorpus,
  compareDaily,
  differenceCases,
  differenceCorpus,
} from '../../scripts/compare-ccusage.ts';
import { generateCorpus } from '../../scripts/gen-transcripts.ts';

const probe = spawnSync(process.execPath, [ccusageCli, '--version'], { encoding: 'utf8', timeout: 30_000 });
const skip = probe.status === 0 ? false : `ccusage does not run here: ${probe.stdout}${probe.stderr}`.trim();

const dir = mkdtempSync(join(tmpdir(), 'creditpool-peer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('peer: ccusage daily --offline', { skip }, () => {
  it('agrees to the cent, every day, on a generated corpus of models it prices', async () => {
    const config = join(dir, 'comparable');
    const manifest = generateCorpus({ out: join(config, 'projects'), lines: 3000, seed: 3 });
    comparableCorpus(join(config, 'projects'));
    const c = await compareDaily(config);
    assert.equal(c.records, manifest.records);
    assert.deepEqual(c.ccusageMissing, {});
    assert.deepEqual(c.creditpoolUnknown, {});
    assert.ok(c.days.length > 10, `only ${c.days.length} days`);
    assert.deepEqual(
      c.days.filter((d) => !d.agrees),
      [],
    );
    assert.equal(c.maxDifferenceUsd, '0');
  });

  it('on the raw generated corpus, agrees on every model it prices and names the others', async () => {
    const config = join(dir, 'raw');
    generateCorpus({ out: join(config, 'projects'), lines: 3000, seed: 3 });
    const c = await compareDaily(config);
    assert.deepEqual(Object.keys(c.ccusageMissing).sort(), ['claude-opus-5-5', 'claude-sonnet-5-5']);
    assert.equal(c.daysAgreeing, c.days.length);
  });

  it('differs exactly where docs/ccusage-comparison.md says, by the amounts it says', async () => {
    const config = join(dir, 'differences');
    differenceCorpus(config);
    const c = await compareDaily(config, { leaveOutMissing: false });
    assert.deepEqual(
      c.days.map((d) => [d.day, d.creditpoolUsd, d.ccusageUsd]),
      differenceCases.map((x) => [x.day, x.creditpoolUsd, x.ccusageUsd]),
    );
  });
});
