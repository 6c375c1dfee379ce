/**
 * The price catalogue from a file: the I/O half of `core/prices` (which stays pure). An operator
 * points `CREDITPOOL_PRICES` at a JSON file of the default data's shape (`core/prices/README.md`)
 * to add a model or a dated price without a release; unset, the default catalogue applies.
 */
import { readFileSync, statSync } from 'node:fs';
import { defaultPriceCatalogue, type PriceCatalogue, parsePriceCatalogue } from '../core/prices/index.ts';

/** Environment variable naming the operator's price catalogue file. */
export const priceCatalogueEnv = 'CREDITPOOL_PRICES';
/** Largest catalogue file: the default data is about 15 kB; anything near this is not a price list. */
export const priceCatalogueFileBytesMax = 4 * 1024 * 1024;

/**
 * Reads, parses and validates a price catalogue file. Throws an Error naming the file and, for a
 * bad catalogue, the path of the bad field.
 *
 * @example
 * const prices = loadPriceCatalogueFile('/etc/creditpool/prices.json');
 */
export function loadPriceCatalogueFile(path: string): PriceCatalogue {
  const size = statSync(path).size;
  if (size > priceCatalogueFileBytesMax) {
    throw new Error(`${path}: price catalogue larger than ${priceCatalogueFileBytesMax} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not JSON: ${(error as Error).message}`);
  }
  try {
    return parsePriceCatalogue(json);
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

/**
 * The catalogue selected by `CREDITPOOL_PRICES`: the file it names, or the default when it is
 * unset or empty.
 *
 * @example
 * const prices = priceCatalogueFromEnv(); // process.env
 * const prices2 = priceCatalogueFromEnv({ CREDITPOOL_PRICES: './prices.json' });
 */
export function priceCatalogueFromEnv(env: NodeJS.ProcessEnv = process.env): PriceCatalogue {
  const path = env[priceCatalogueEnv];
  return path ? loadPriceCatalogueFile(path) : defaultPriceCatalogue;
}
