/**
 * SQLite on a file system that fails, with a real `creditpool serve`:
 *
 * - disk full under load (a 16 MiB tmpfs filled to the last byte while the clients write): writes
 *   that need space fail as 503 `unavailable` (retryable), the server keeps answering (reads,
 *   decisions, writes that fit in the WAL it already has), nothing is half-written, the file passes
 *   `PRAGMA integrity_check`, and once space returns writes go through again without a restart;
 *   every acknowledged record is booked once and `verifyLedger` is clean;
 * - a read-only database (the same tmpfs remounted read-only, the server stopped): `serve` refuses
 *   at start with exit 1 and a message that says so, `verify` still reads the file, and after the
 *   file system is writable again the server starts on the same, intact data.
 *
 * Mounting a tmpfs needs root (CI runs as root on this machine); elsewhere the test is skipped and
 * says why.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, type RunningServer, tempDir } from '../support/cli.ts';
import type { HttpAnswer } from './support/http.ts';
import { checkLedger, integrityCheck } from './support/ledger-check.ts';
import { adminToken, setupAccounts, startServe } from './support/servers.ts';
import { type OpKind, Workload } from './support/workload.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isRoot = process.getuid?.() === 0;

/** Fills the file system at `dir` to the last byte; returns the filler's path and size. */
function fillDisk(dir: string): { path: string; bytes: number } {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let bytes = 0;
  try {
    for (let i = 0; i < 100_000; i++) {
      try {
        bytes += writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        // The last partial chunk: what is left, a byte at a time would take long; 4 KiB steps.
        try {
          for (;;) bytes += writeSync(fd, chunk.subarray(0, 4096));
        } catch {
          return { path, bytes };
        }
      }
    }
    throw new Error('the file system never filled');
  } finally {
    closeSync(fd);
  }
}

describe('faults: SQLite disk full and read-only', {
  skip: isRoot ? false : 'needs root to mount a tmpfs',
}, () => {
  it('disk full under load: 503 unavailable, no corruption, recovery when space returns; read-only: clear refusal', async (t) => {
    const dir = tempDir('creditpool-disk-');
    const mount = join(dir.path, 'mnt');
    mkdirSync(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mount]);
    let server: RunningServer | null = null;
    let workload: Workload | null = null;
    try {
      const path = join(mount, 'ledger.db');
      server = await startServe({ kind: 'sqlite', path });
      const runId = 'disk';
      const accounts = Array.from({ length: 5 }, (_, i) => `acct_${runId}_${i}`);
      let phase = 'before';
      const answers = new Map<string, Record<string, number>>();
      const bad: string[] = [];
      const onAnswer = (kind: OpKind, answer: HttpAnswer) => {
        const byKind = answers.get(phase) ?? {};
        const key = `${kind} ${answer.status}${answer.status >= 400 ? ` ${answer.json?.code}` : ''}`;
        byKind[key] = (byKind[key] ?? 0) + 1;
        answers.set(phase, byKind);
        const retryable = answer.status === 503 && answer.json?.code === 'unavailable';
        if (answer.status !== 200 && !retryable && bad.length < 5)
          bad.push(`${phase} ${kind}: ${answer.status} ${answer.error ?? answer.text}`);
      };
      workload = new Workload(server.url, adminToken, {
        accounts,
        workers: 4,
        seed: 0xd15c,
        runId,
        batch: 20,
        occurredAt: () => new Date().toISOString(),
        retryDelayMs: 100,
        onAnswer,
      });
      await setupAccounts(workload.client, accounts);
      workload.start();
      await sleep(1_000);

      const filler = fillDisk(mount);
      phase = 'full';
      // At least 2 s full, and until writes have failed: a write needs space only when the WAL must
      // grow (SQLite reuses it after a checkpoint), so the first failures may take a moment.
      const fullSince = Date.now();
      const failedWrites = () => workload?.counts.unavailable503 ?? 0;
      while (Date.now() - fullSince < 2_000 || (failedWrites() < 5 && Date.now() - fullSince < 15_000)) {
        await sleep(100);
      }
      const integrityWhileFull = await integrityCheck(path);
      const healthWhileFull = (await workload.client.call('GET', '/healthz')).status;
      unlinkSync(filler.path);
      phase = 'freed';
      await sleep(2_000);
      phase = 'after';
      await sleep(1_000);
      await workload.stop();
      const drainLeft = await workload.drain(20_000);
      const shutdown = await server.stop(10_000);
      server = null;
      const integrity = await integrityCheck(path);
      const check = await checkLedger({ kind: 'sqlite', path }, workload, runId);
      const c = workload.counts;
      for (const [p, byKind] of answers) t.diagnostic(`${p}: ${JSON.stringify(byKind)}`);
      t.diagnostic(
        `filled ${filler.bytes} bytes; integrity_check while full: ${integrityWhileFull.join(' ')}, /healthz ${healthWhileFull}; ` +
          `${c.unavailable503} answers 503 unavailable, ${c.resentAcknowledged} acknowledged on a re-send; after: integrity_check ${integrity.join(' ')}, ` +
          `${check.acknowledgedRecords} acknowledged records booked once each, ${check.postings} postings, verify ${check.verify.problems.length === 0 ? 'clean' : 'NOT clean'}`,
      );

      assert.deepEqual(bad, [], 'only 200s and 503 unavailable');
      const full = answers.get('full') ?? {};
      const refusedWhileFull = Object.entries(full)
        .filter(([key]) => key.endsWith('503 unavailable'))
        .reduce((s, [, n]) => s + n, 0);
      assert.ok(refusedWhileFull > 0, `no write failed while the disk was full: ${JSON.stringify(full)}`);
      assert.deepEqual(integrityWhileFull, ['ok']);
      // Space back: the server took writes again by itself.
      const after = answers.get('after') ?? {};
      assert.ok(
        Object.entries(after).every(([key]) => key.includes(' 200')),
        `failures after space returned: ${JSON.stringify(after)}`,
      );
      assert.ok((after['usage 200'] ?? 0) > 0);
      assert.equal(c.noAnswer, 0, 'the server dropped connections');
      assert.equal(c.unexpected, 0, c.unexpectedSamples.join('\n'));
      assert.equal(c.refused, 0, c.refusedSamples.join('\n'));
      assert.equal(drainLeft, 0);
      assert.deepEqual(shutdown, { code: 0, signal: null });
      assert.deepEqual(integrity, ['ok']);
      assert.deepEqual(check.problems, []);
      assert.equal(check.unacknowledgedRecords, 0);

      // Read-only: the same file system remounted read-only with the server stopped.
      execFileSync('mount', ['-o', 'remount,ro', mount]);
      const refused = cli(['serve', '--port', '0', '--db', path], {
        env: { CREDITPOOL_ADMIN_TOKEN: adminToken },
      });
      t.diagnostic(`serve on a read-only file system: exit ${refused.code}: ${refused.stderr.trim()}`);
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /cannot open .*ledger\.db for writing: .*\(is the file or its folder read-only\?\)/,
      );
      const verified = cli(['verify', '--db', path]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      execFileSync('mount', ['-o', 'remount,rw', mount]);
      server = await startServe({ kind: 'sqlite', path });
      workload.client.base = server.url;
      workload.client.reset();
      const view = await workload.client.call('GET', `/v1/accounts/${accounts[0]}`);
      assert.equal(view.status, 200);
      assert.deepEqual(await server.stop(10_000), { code: 0, signal: null });
      server = null;
      assert.deepEqual((await checkLedger({ kind: 'sqlite', path }, workload, runId)).problems, []);
    } finally {
      await workload?.stop();
      workload?.client.close();
      await server?.stop(2_000);
      try {
        execFileSync('umount', [mount]);
      } finally {
        dir.remove();
      }
    }
  });
});
