/**
 * Limits on everything that comes from outside (STYLE habit 2). Each is a named constant with the
 * reason for its size; going over one is a clear error, never a silent truncation.
 */

/** Records per `POST /v1/usage` batch: one transaction per batch keeps a batch's latency bounded. */
export const usageBatchMax = 1000;
/** Client ids (records, holds, adjustments): request ids are ~30 characters; 256 leaves room for composites. */
export const clientIdLengthMax = 256;
/** Account and org ids: operator-chosen handles, not free text. */
export const resourceIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
/** Surface, app and model names: the longest real ones are under 60 characters. */
export const nameLengthMax = 128;
/** Free-text reasons on adjustments. */
export const reasonLengthMax = 500;
/** Entries per page of the entry listing. */
export const entriesPageMax = 1000;
export const entriesPageDefault = 100;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point: ids must not contain them.
const controlCharacters = /[\u0000-\u001f\u007f]/;

/**
 * A client id: 1..256 characters, no control characters, well-formed UTF-16 (no lone surrogate:
 * the database cannot store one, it would keep U+FFFD, and two different ids would collide).
 */
export function isClientId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= clientIdLengthMax &&
    !controlCharacters.test(value) &&
    value.isWellFormed()
  );
}

export function isResourceId(value: unknown): value is string {
  return typeof value === 'string' && resourceIdPattern.test(value);
}

/** A surface, app or model name: 1..128 characters, no control characters. */
export function isName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= nameLengthMax &&
    !controlCharacters.test(value) &&
    value.isWellFormed()
  );
}
