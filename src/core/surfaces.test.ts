import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ClassifyResult,
  classifySurface,
  defaultSurfaceTables,
  parseSurfaceTable,
  SurfaceTableError,
  surfaceCacheEntriesMax,
  surfaceCacheSize,
  surfaceLengthMax,
  surfaceRulesAt,
  surfaceTableAt,
  surfaceTableToJson,
  withSurfaceTable,
} from './surfaces.ts';
import { parseInstant } from './time.ts';

const at = parseInstant('2026-11-20T10:00:14Z');

function cls(result: ClassifyResult): string {
  return result.ok ? result.usageClass : result.code;
}

describe('surfaces (R1)', () => {
  it('R1: the default table classifies every entrypoint of usage-formats §4 and Claude.ai', () => {
    const rows: [surface: string, expected: string][] = [
      ['sdk-cli', 'programmatic'],
      ['sdk-ts', 'programmatic'],
      ['sdk-py', 'programmatic'],
      ['claude-code-github-action', 'programmatic'],
      ['cli', 'interactive'],
      ['claude-vscode', 'interactive'],
      ['claude-desktop', 'interactive'],
      ['local-agent', 'interactive'],
      ['claude-coworker', 'interactive'],
      ['claude-coworker-terminal', 'interactive'],
      ['remote', 'interactive'],
      ['remote_web', 'interactive'],
      ['remote_mobile', 'interactive'],
      ['claude-ai-web', 'interactive'],
      ['claude-ai-desktop', 'interactive'],
      ['claude-ai-mobile', 'interactive'],
      // Not in R1: refused, never guessed.
      ['mcp', 'unknown_surface'],
      ['claude-in-slack', 'unknown_surface'],
      ['claude-in-teams', 'unknown_surface'],
      ['claude-security', 'unknown_surface'],
      ['claude-desktop-3p', 'unknown_surface'], // an exact rule is not a prefix
      ['ssh-remote', 'unknown_surface'], // `remote*` is a prefix, not a substring
      ['bench', 'unknown_surface'],
      ['', 'unknown_surface'],
      ['CLI', 'unknown_surface'], // case matters: entrypoints are lowercase
      [' cli', 'unknown_surface'],
      ['sdk-cli ', 'unknown_surface'],
      ['claude-ai', 'unknown_surface'], // the prefix is `claude-ai-`
      ['x'.repeat(surfaceLengthMax + 1), 'unknown_surface'],
    ];
    for (const [surface, expected] of rows) {
      assert.equal(cls(classifySurface(surface, null, at)), expected, JSON.stringify(surface));
    }
  });

  it('R1: a third-party app makes a known surface programmatic; an unknown surface stays refused', () => {
    const rows: [surface: string, app: string | null, expected: string][] = [
      ['sdk-ts', 'conductor', 'programmatic'],
      ['sdk-py', 'openclaw', 'programmatic'],
      ['cli', 'conductor', 'programmatic'],
      ['claude-ai-web', 'some-app', 'programmatic'],
      ['cli', null, 'interactive'],
      ['mcp', 'conductor', 'unknown_surface'],
      ['', 'conductor', 'unknown_surface'],
    ];
    for (const [surface, app, expected] of rows) {
      assert.equal(cls(classifySurface(surface, app, at)), expected, `${surface} / ${app}`);
    }
  });

  it('R1: the refusal says which table refused it', () => {
    const result = classifySurface('mcp', null, at);
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.code, 'unknown_surface');
      assert.match(result.detail, /"mcp".*2026-06-15\.r1/);
    }
  });

  it('R1, R3: a later table changes classification from its instant, with no code change', () => {
    const later = parseSurfaceTable({
      schema: 'creditpool.surfaces/1',
      version: '2027-01-01.slack',
      effective_from: '2027-01-01T00:00:00Z',
      rules: [
        ...surfaceTableToJson(defaultSurfaceTables[0]!).rules,
        { pattern: 'claude-in-slack', class: 'programmatic', label: 'Claude in Slack' },
      ],
    });
    const tables = withSurfaceTable(defaultSurfaceTables, later);
    const before = parseInstant('2026-12-31T23:59:59.999Z');
    const after = parseInstant('2027-01-01T00:00:00Z');
    assert.equal(cls(classifySurface('claude-in-slack', null, before, tables)), 'unknown_surface');
    assert.equal(cls(classifySurface('claude-in-slack', null, after, tables)), 'programmatic');
    assert.equal(surfaceTableAt(before, tables).version, '2026-06-15.r1');
    assert.equal(surfaceTableAt(after, tables).version, '2027-01-01.slack');
    // An instant before the first table uses the first table.
    assert.equal(surfaceTableAt(-1, tables).version, '2026-06-15.r1');
    // The defaults are untouched.
    assert.equal(cls(classifySurface('claude-in-slack', null, after)), 'unknown_surface');
  });

  it('R1: the most specific rule wins when prefixes nest; exact beats prefix', () => {
    const table = parseSurfaceTable({
      schema: 'creditpool.surfaces/1',
      version: 'nested',
      effective_from: '2026-01-01T00:00:00Z',
      rules: [
        { pattern: 'remote*', class: 'interactive', label: 'remote' },
        { pattern: 'remote_batch*', class: 'programmatic', label: 'remote batch jobs' },
        { pattern: 'remote_batch_ui', class: 'interactive', label: 'remote batch UI' },
      ],
    });
    const rows: [string, string][] = [
      ['remote_web', 'interactive'],
      ['remote_batch', 'programmatic'],
      ['remote_batch_7', 'programmatic'],
      ['remote_batch_ui', 'interactive'],
    ];
    for (const [surface, expected] of rows)
      assert.equal(cls(classifySurface(surface, null, at, [table])), expected);
  });

  it('R1: surface tables from outside are validated, naming the path', () => {
    const base = {
      schema: 'creditpool.surfaces/1',
      version: 'v1',
      effective_from: '2026-01-01T00:00:00Z',
      rules: [{ pattern: 'cli', class: 'interactive', label: 'terminal' }],
    };
    const rows: [doc: unknown, path: string][] = [
      [null, '$'],
      [{ ...base, schema: 'x' }, '$.schema'],
      [{ ...base, extra: 1 }, '$.extra'],
      [{ ...base, effective_from: '2026-01-01' }, '$.effective_from'],
      [{ ...base, rules: [] }, '$.rules'],
      [{ ...base, rules: [{ pattern: '*', class: 'interactive', label: 'all' }] }, '$.rules[0].pattern'],
      [{ ...base, rules: [{ pattern: 're*mote', class: 'interactive', label: 'x' }] }, '$.rules[0].pattern'],
      [{ ...base, rules: [{ pattern: 'Cli', class: 'interactive', label: 'x' }] }, '$.rules[0].pattern'],
      [{ ...base, rules: [{ pattern: 'cli', class: 'human', label: 'x' }] }, '$.rules[0].class'],
      [{ ...base, rules: [{ pattern: 'cli', class: 'interactive' }] }, '$.rules[0].label'],
      [{ ...base, rules: [...base.rules, ...base.rules] }, '$.rules[1].pattern'],
    ];
    for (const [doc, path] of rows) {
      assert.throws(
        () => parseSurfaceTable(doc),
        (e: unknown) =>
          e instanceof SurfaceTableError && e.path === path && e.code === 'invalid_surface_table',
        path,
      );
    }
    const table = parseSurfaceTable(base);
    assert.throws(() => withSurfaceTable([table], { ...table, version: 'v2' }), SurfaceTableError);
    assert.throws(() => withSurfaceTable([table], { ...table, effectiveFrom: 5 }), SurfaceTableError);
  });

  it('R1: the default table round-trips through its JSON form', () => {
    const table = defaultSurfaceTables[0]!;
    assert.deepEqual(parseSurfaceTable(surfaceTableToJson(table)), table);
    const listed = surfaceRulesAt(at);
    assert.equal(listed.rules.length, 11);
    assert.ok(Object.isFrozen(table) && Object.isFrozen(table.rules));
  });

  it('R1: classification is cached: the same result object, and a million lookups classify consistently', () => {
    const surfaces = ['sdk-cli', 'cli', 'remote_web', 'claude-ai-mobile', 'mcp', 'claude-coworker-terminal'];
    // Same result object every time: nothing is allocated on the hot path.
    assert.equal(classifySurface('remote_web', null, at), classifySurface('remote_web', null, at));
    let programmatic = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const r = classifySurface(surfaces[i % surfaces.length]!, null, at);
      if (r.ok && r.usageClass === 'programmatic') programmatic++;
    }
    assert.equal(programmatic, Math.ceil(1_000_000 / surfaces.length));
  });

  it('R1: a client inventing surfaces cannot grow the cache without bound', () => {
    for (let i = 0; i < 3 * surfaceCacheEntriesMax; i++) {
      assert.equal(classifySurface(`made-up-${i}`, null, at).ok, false);
      assert.ok(surfaceCacheSize(defaultSurfaceTables[0]!) <= surfaceCacheEntriesMax);
    }
    assert.equal(cls(classifySurface('sdk-cli', null, at)), 'programmatic');
  });
});
