/**
 * A streaming line splitter over raw bytes. It never holds more than one read chunk plus one line,
 * never decodes a line the caller does not ask for, and skips (and reports) lines over a limit
 * instead of growing without bound. Faster than `node:readline`, which decodes every byte to a
 * string and allocates one string per line even for lines that are then thrown away.
 */
import { createReadStream } from 'node:fs';

/** Bytes per read: large enough that syscalls and chunk bookkeeping do not show in a profile. */
export const readChunkBytes = 1 << 20;

export interface LineVisitor {
  /**
   * Called for each line (without its `\n`, and without a trailing `\r`). `bytes` is shared
   * between calls: read it during the call and do not keep it.
   */
  line(bytes: Buffer, start: number, end: number, lineNo: number): void;
  /** Called instead of `line` for a line longer than the limit (its bytes were discarded). */
  tooLong(lineNo: number, length: number): void;
}

/**
 * Reads `path` line by line (1-based line numbers). The last line counts even without a final
 * newline: a writer that crashed mid-line leaves exactly that, and the caller must see it.
 */
export async function forEachLine(path: string, lineBytesMax: number, visitor: LineVisitor): Promise<void> {
  const stream = createReadStream(path, { highWaterMark: readChunkBytes });
  let lineNo = 0;
  /** Pieces of a line that spans chunks; joined once, when its end arrives. */
  let pending: Buffer[] = [];
  let pendingLength = 0;
  /** True while discarding the rest of an over-long line. */
  let skipping = false;

  const emit = (bytes: Buffer, start: number, end: number): void => {
    lineNo += 1;
    if (end > start && bytes[end - 1] === 13) end -= 1;
    visitor.line(bytes, start, end, lineNo);
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      if (skipping) {
        lineNo += 1;
        visitor.tooLong(lineNo, pendingLength + nl - start);
        skipping = false;
        pendingLength = 0;
      } else if (pendingLength > 0) {
        const length = pendingLength + nl - start;
        if (length > lineBytesMax) {
          lineNo += 1;
          visitor.tooLong(lineNo, length);
        } else {
          pending.push(chunk.subarray(start, nl));
          const joined = Buffer.concat(pending, length);
          emit(joined, 0, length);
        }
        pending = [];
        pendingLength = 0;
      } else if (nl - start > lineBytesMax) {
        lineNo += 1;
        visitor.tooLong(lineNo, nl - start);
      } else {
        emit(chunk, start, nl);
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (skipping) {
        pendingLength += rest;
      } else if (pendingLength + rest > lineBytesMax) {
        // Over the limit before its end arrived: stop keeping it, keep counting its length.
        skipping = true;
        pending = [];
        pendingLength += rest;
      } else {
        // Copy: the stream may reuse chunk memory after we yield.
        pending.push(Buffer.from(chunk.subarray(start)));
        pendingLength += rest;
      }
    }
  }
  if (skipping) {
    lineNo += 1;
    visitor.tooLong(lineNo, pendingLength);
  } else if (pendingLength > 0) {
    const joined = Buffer.concat(pending, pendingLength);
    emit(joined, 0, pendingLength);
  }
}

/** True when the bytes look like one framed JSON object: `{` … `}` around optional spaces. */
export function looksLikeObject(bytes: Buffer, start: number, end: number): boolean {
  while (start < end && isSpace(bytes[start]!)) start += 1;
  while (end > start && isSpace(bytes[end - 1]!)) end -= 1;
  return end - start >= 2 && bytes[start] === 123 && bytes[end - 1] === 125;
}

/** True when the line is empty or only spaces (blank lines are not data and not errors). */
export function isBlank(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i += 1) if (!isSpace(bytes[i]!)) return false;
  return true;
}

function isSpace(byte: number): boolean {
  return byte === 32 || byte === 9 || byte === 13 || byte === 10;
}
