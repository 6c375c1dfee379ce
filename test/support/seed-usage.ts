/**
 * Books usage on a test database through the real use case, in this process, then closes the
 * store (the CLI child that runs next must be the file's only writer). The CLI has no command that
 * records usage (that is the API's job), so the command tests seed it this way.
 */
import { openSqliteStore } from '../../src/adapters/storage/sqlite/index.ts';
import { defaultCatalogues, recordUsage, systemClock } from '../../src/app/index.ts';
import { formatInstant } from '../../src/core/time.ts';

/** `count` records of 1,000 input and 2,000 output tokens of claude-opus-5-5: $0.044 each. */
export async function seedUsage(path: string, accountId: string, count: number): Promise<void> {
  const store = await openSqliteStore({ path });
  try {
    const at = formatInstant(Date.now());
    const records = Array.from({ length: count }, (_, i) => ({
      id: `req_seed_${i}`,
      account_id: accountId,
      occurred_at: at,
      surface: 'sdk-cli',
      model: 'claude-opus-5-5',
      usage: { input_tokens: 1000, output_tokens: 2000 },
    }));
    const results = await recordUsage({ store, clock: systemClock, catalogues: defaultCatalogues }, records);
    const refused = results.filter((r) => r.status !== 'recorded');
    if (refused.length > 0) throw new Error(`seed refused: ${JSON.stringify(refused[0])}`);
  } finally {
    await store.close();
  }
}
