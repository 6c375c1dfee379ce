/**
 * Surfaces (R1): which usage is programmatic and which is interactive, as a dated table.
 *
 * A surface is Claude Code's `entrypoint` value (`reference/usage-formats.md` §4) or one of the
 * engine's names for Claude.ai itself (`claude-ai-web|desktop|mobile`). A surface the table in
 * force does not know is refused with `unknown_surface`: a guess would book money against the
 * wrong pool, and the entrypoint is a free-form client value, not a security boundary.
 *
 * A record that names a third-party app (`app` non-null) is programmatic (policy F2: third-party
 * apps authenticate through the Agent SDK) — but only once its surface is known. Choice: the app
 * does not excuse an unknown surface, because (1) the app name is as client-chosen as the
 * surface, so letting it bypass the table would let any unknown entrypoint in by adding an app
 * name; (2) statements break usage down by surface (R17), which needs a surface the table names;
 * (3) R1 says an unknown surface is never guessed, with no exception.
 *
 * Tables are data, dated, and never edited in place: a new mapping is a new table with a later
 * `effectiveFrom` (R3). Classification is on the hot path, so each table is compiled once (exact
 * values in a `Map`, prefixes longest first) and results are cached per (table, surface).
 *
 * @example
 * classifySurface('sdk-py', null, at); // { ok: true, usageClass: 'programmatic' }
 * classifySurface('cli', 'conductor', at); // { ok: true, usageClass: 'programmatic' }
 * classifySurface('mcp', null, at); // { ok: false, code: 'unknown_surface', detail: '…' }
 */
import {
  allowKeys,
  type DataErrorFactory,
  readArray,
  readInstant,
  readObject,
  readText,
} from './data-fields.ts';
import { formatInstant, type Instant } from './time.ts';

export type UsageClass = 'programmatic' | 'interactive';

export interface SurfaceRule {
  /** An exact surface value, or a prefix ending in `*` (`remote*` matches `remote`, `remote_web`). */
  pattern: string;
  usageClass: UsageClass;
  label: string;
}

export interface SurfaceTable {
  version: string;
  effectiveFrom: Instant;
  rules: SurfaceRule[];
}

export type ClassifyResult =
  | { ok: true; usageClass: UsageClass }
  | { ok: false; code: 'unknown_surface'; detail: string };

/** Longest surface value classified; real entrypoints are under 30 characters. */
export const surfaceLengthMax = 128;
/** Rules per table: a mapping, not a log. */
export const surfaceRulesMax = 200;
/** Tables per timeline. */
export const surfaceTablesMax = 100;
/**
 * Cached results per table: the known surfaces plus room for many unknown ones. When full, the
 * cache starts over, so a client inventing surfaces cannot grow memory without bound and the
 * real surfaces are cached again on their next use.
 */
export const surfaceCacheEntriesMax = 4096;

/** `*` only as the last character, after at least one character: a bare `*` would be a guess. */
const patternShape = /^[a-z0-9][a-z0-9._-]*\*?$/;
const versionShape = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

function rule(pattern: string, usageClass: UsageClass, label: string): SurfaceRule {
  return Object.freeze({ pattern, usageClass, label });
}

function freezeTable(table: SurfaceTable): SurfaceTable {
  Object.freeze(table.rules);
  return Object.freeze(table);
}

/**
 * The default tables, sorted by `effectiveFrom`. One table so far: R1 as written, in force from
 * the start (it is also how programmatic usage is recognised before the credit exists, when
 * R3 makes it count against subscription limits).
 */
export const defaultSurfaceTables: readonly SurfaceTable[] = Object.freeze([
  freezeTable({
    version: '2026-06-15.r1',
    effectiveFrom: 0,
    rules: [
      rule('sdk-cli', 'programmatic', 'Claude Code headless (claude -p)'),
      rule('sdk-ts', 'programmatic', 'Claude Agent SDK for TypeScript'),
      rule('sdk-py', 'programmatic', 'Claude Agent SDK for Python'),
      rule('claude-code-github-action', 'programmatic', 'Claude Code GitHub Actions'),
      rule('cli', 'interactive', 'Claude Code in the terminal'),
      rule('claude-vscode', 'interactive', 'Claude Code in VS Code'),
      rule('claude-desktop', 'interactive', 'Claude Code in Claude Desktop'),
      rule('local-agent', 'interactive', 'Claude Code local agent'),
      rule('claude-coworker*', 'interactive', 'Claude Cowork'),
      rule('remote*', 'interactive', 'Claude Code on the web and mobile'),
      rule('claude-ai-*', 'interactive', 'Claude.ai (web, desktop, mobile)'),
    ],
  }),
]);

/**
 * The table in force at `at`: the last one with `effectiveFrom <= at`. An instant before the
 * first table uses the first table (there is no earlier mapping to fall back on, and refusing
 * every old record would be worse than classifying it by the oldest known rules).
 *
 * @example
 * surfaceTableAt(parseInstant('2026-11-20T10:00:14Z')).version; // '2026-06-15.r1'
 */
export function surfaceTableAt(
  at: Instant,
  tables: readonly SurfaceTable[] = defaultSurfaceTables,
): SurfaceTable {
  const first = tables[0];
  if (first === undefined) throw new Error('surfaceTableAt: no surface tables');
  for (let i = tables.length - 1; i > 0; i--) {
    const table = tables[i]!;
    if (table.effectiveFrom <= at) return table;
  }
  return first;
}

/**
 * Classifies a usage record's surface (R1) by the table in force at `at` (the record's
 * `occurred_at`). A non-null `app` makes a known surface programmatic; an unknown surface is
 * refused whatever the app (see the module comment for why).
 *
 * @example
 * classifySurface('claude-coworker-terminal', null, at); // interactive
 * classifySurface('sdk-ts', 'openclaw', at); // programmatic
 * classifySurface('ssh-remote', null, at).ok; // false: `remote*` is a prefix, not a substring
 */
export function classifySurface(
  surface: string,
  app: string | null,
  at: Instant,
  tables: readonly SurfaceTable[] = defaultSurfaceTables,
): ClassifyResult {
  const result = classifyInTable(surface, surfaceTableAt(at, tables));
  return result.ok && app !== null ? programmatic : result;
}

/**
 * Every rule of the table in force at `at`, for `GET /v1/surfaces` and the CLI.
 *
 * @example
 * surfaceRulesAt(at).find((r) => r.pattern === 'cli')?.usageClass; // 'interactive'
 */
export function surfaceRulesAt(at: Instant, tables: readonly SurfaceTable[] = defaultSurfaceTables) {
  const table = surfaceTableAt(at, tables);
  return {
    version: table.version,
    effectiveFrom: table.effectiveFrom,
    rules: table.rules.map((r) => ({ ...r })),
  };
}

// ---------------------------------------------------------------------------------------------
// Compiled tables and the per-(table, surface) cache.

// Shared frozen results: the hot path allocates nothing for a known surface.
const programmatic: ClassifyResult = Object.freeze({ ok: true, usageClass: 'programmatic' });
const interactive: ClassifyResult = Object.freeze({ ok: true, usageClass: 'interactive' });

interface CompiledTable {
  exact: Map<string, UsageClass>;
  /** Longest prefix first, so the most specific rule wins when prefixes nest. */
  prefixes: { prefix: string; usageClass: UsageClass }[];
  cache: Map<string, ClassifyResult>;
}

/** Keyed by the table object: tables are immutable once in use (the defaults are frozen). */
const compiled = new WeakMap<SurfaceTable, CompiledTable>();

function compile(table: SurfaceTable): CompiledTable {
  let c = compiled.get(table);
  if (c) return c;
  c = { exact: new Map(), prefixes: [], cache: new Map() };
  for (const r of table.rules) {
    if (r.pattern.endsWith('*'))
      c.prefixes.push({ prefix: r.pattern.slice(0, -1), usageClass: r.usageClass });
    else c.exact.set(r.pattern, r.usageClass);
  }
  c.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  compiled.set(table, c);
  return c;
}

function classifyInTable(surface: string, table: SurfaceTable): ClassifyResult {
  const c = compile(table);
  const cached = c.cache.get(surface);
  if (cached) return cached;
  const result = lookup(surface, c, table);
  if (c.cache.size >= surfaceCacheEntriesMax) c.cache.clear();
  c.cache.set(surface, result);
  return result;
}

/** Cached results held for a table (metrics and tests): never above `surfaceCacheEntriesMax`. */
export function surfaceCacheSize(table: SurfaceTable): number {
  return compiled.get(table)?.cache.size ?? 0;
}

function lookup(surface: string, c: CompiledTable, table: SurfaceTable): ClassifyResult {
  if (typeof surface !== 'string' || surface.length === 0 || surface.length > surfaceLengthMax) {
    return unknown(`surface must be a string of 1 to ${surfaceLengthMax} characters`);
  }
  // An exact rule beats any prefix rule: `claude-desktop` does not make `claude-desktop-3p` known.
  const exact = c.exact.get(surface);
  let usageClass = exact;
  if (usageClass === undefined) {
    for (const p of c.prefixes) {
      if (surface.startsWith(p.prefix)) {
        usageClass = p.usageClass;
        break;
      }
    }
  }
  if (usageClass === undefined) {
    return unknown(
      `surface ${JSON.stringify(surface)} is not in surface table ${table.version} ` +
        `(in force from ${formatInstant(table.effectiveFrom)}); it is refused, never guessed`,
    );
  }
  return usageClass === 'programmatic' ? programmatic : interactive;
}

function unknown(detail: string): ClassifyResult {
  return Object.freeze({ ok: false, code: 'unknown_surface', detail });
}

// ---------------------------------------------------------------------------------------------
// Operator-supplied tables.

export class SurfaceTableError extends Error {
  readonly code = 'invalid_surface_table';
  /** Where in the document, e.g. `$.rules[3].class`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'SurfaceTableError';
    this.path = path;
  }
}

const fail: DataErrorFactory = (path, message) => new SurfaceTableError(path, message);

/**
 * The JSON form of a surface table, as an operator writes it:
 * `{"schema": "creditpool.surfaces/1", "version", "effective_from", "rules": [{"pattern", "class", "label"}]}`.
 * Validates every field (patterns are lowercase entrypoint values, optionally ending in `*`; no
 * pattern twice) and returns a frozen table. Throws `SurfaceTableError` naming the path.
 *
 * @example
 * const table = parseSurfaceTable(JSON.parse(readFileSync('surfaces.json', 'utf8')));
 * classifySurface('mcp', null, at, withSurfaceTable(defaultSurfaceTables, table));
 */
export function parseSurfaceTable(json: unknown): SurfaceTable {
  const root = readObject(json, '$', fail);
  allowKeys(root, '$', ['schema', 'version', 'effective_from', 'rules'], fail);
  if (root.schema !== 'creditpool.surfaces/1') throw fail('$.schema', 'must be "creditpool.surfaces/1"');
  const version = readText(root.version, '$.version', fail, versionShape);
  const effectiveFrom = readInstant(root.effective_from, '$.effective_from', fail);
  const seen = new Set<string>();
  const rules = readArray(root.rules, '$.rules', 1, surfaceRulesMax, fail).map((raw, i) => {
    const path = `$.rules[${i}]`;
    const o = readObject(raw, path, fail);
    allowKeys(o, path, ['pattern', 'class', 'label'], fail);
    const pattern = readText(o.pattern, `${path}.pattern`, fail);
    if (pattern.length > surfaceLengthMax || !patternShape.test(pattern)) {
      throw fail(`${path}.pattern`, 'must be a lowercase surface value, optionally ending in "*"');
    }
    if (seen.has(pattern)) throw fail(`${path}.pattern`, `${pattern} appears twice`);
    seen.add(pattern);
    if (o.class !== 'programmatic' && o.class !== 'interactive') {
      throw fail(`${path}.class`, 'must be "programmatic" or "interactive"');
    }
    return rule(pattern, o.class, readText(o.label, `${path}.label`, fail));
  });
  return freezeTable({ version, effectiveFrom, rules });
}

/**
 * The JSON form of a table (the inverse of `parseSurfaceTable`), for `GET /v1/surfaces`.
 *
 * @example
 * surfaceTableToJson(surfaceTableAt(at)).rules[0]; // { pattern: 'sdk-cli', class: 'programmatic', label: '…' }
 */
export function surfaceTableToJson(table: SurfaceTable) {
  return {
    schema: 'creditpool.surfaces/1' as const,
    version: table.version,
    effective_from: formatInstant(table.effectiveFrom),
    rules: table.rules.map((r) => ({ pattern: r.pattern, class: r.usageClass, label: r.label })),
  };
}

/**
 * A new timeline with `table` added in date order. Refuses a second table at the same instant or
 * with the same version: which one would apply would otherwise depend on load order.
 *
 * @example
 * const tables = withSurfaceTable(defaultSurfaceTables, parseSurfaceTable(json));
 */
export function withSurfaceTable(
  tables: readonly SurfaceTable[],
  table: SurfaceTable,
): readonly SurfaceTable[] {
  for (const t of tables) {
    if (t.effectiveFrom === table.effectiveFrom) {
      throw new SurfaceTableError('$.effective_from', `table ${t.version} already starts then`);
    }
    if (t.version === table.version) throw new SurfaceTableError('$.version', `${t.version} already exists`);
  }
  if (tables.length + 1 > surfaceTablesMax)
    throw new SurfaceTableError('$', `at most ${surfaceTablesMax} tables`);
  return Object.freeze([...tables, table].sort((a, b) => a.effectiveFrom - b.effectiveFrom));
}
