/**
 * Text kept under a UTF-8 byte cap: byte lengths, byte-bounded prefixes that never split a character, slices
 * that do not pin a huge parent string in memory, and `TextChunks`, the chunk queue that holds one stream
 * output's text so its front can be dropped without copying the rest. Also `formatCount`, the thousands
 * separator used in the markers that report what a cap dropped or a budget cut. No notebook types.
 */

/** UTF-8 byte length of a string (Node's native `Buffer.byteLength`, else `TextEncoder`). */
export function utf8Length(text: string): number {
  const buffer = (globalThis as { Buffer?: { byteLength(s: string, e: string): number } }).Buffer;
  return buffer ? buffer.byteLength(text, 'utf8') : new TextEncoder().encode(text).length;
}

/** `1234567` → `1,234,567` (locale-independent). */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A prefix length in UTF-16 code units and in UTF-8 bytes. */
export interface IPrefix {
  chars: number;
  bytes: number;
}

/** Stream text as a queue of chunks, so the tail can drop from its front without copying the rest. */
export class TextChunks {
  bytes = 0;

  push(text: string, bytes: number): void {
    if (text !== '') {
      this._chunks.push(text);
      this._sizes.push(bytes);
      this.bytes += bytes;
    }
  }

  /** Drops at least `minBytes` from the front (whole characters); returns the bytes dropped. */
  dropFront(minBytes: number): number {
    let dropped = 0;
    while (dropped < minBytes && this._first < this._chunks.length) {
      const size = this._sizes[this._first];
      if (size <= minBytes - dropped) {
        dropped += size;
        this._chunks[this._first++] = '';
        continue;
      }
      const chunk = this._chunks[this._first];
      const cut = prefixWithinBytes(chunk, size, minBytes - dropped, true);
      this._chunks[this._first] = keepSlice(chunk, cut.chars, chunk.length);
      this._sizes[this._first] = size - cut.bytes;
      dropped += cut.bytes;
    }
    if (this._first > 64 && this._first * 2 > this._chunks.length) {
      this._chunks = this._chunks.slice(this._first);
      this._sizes = this._sizes.slice(this._first);
      this._first = 0;
    }
    this.bytes -= dropped;
    return dropped;
  }

  text(): string {
    return this._chunks.slice(this._first).join('');
  }

  private _chunks: string[] = [];
  private _sizes: number[] = [];
  private _first = 0;
}

/**
 * The longest prefix of `text` within `maxBytes` (or, with `atLeast`, the shortest reaching it), never
 * splitting a surrogate pair. O(1) for ASCII text (bytes === length), else O(prefix).
 */
export function prefixWithinBytes(text: string, textBytes: number, maxBytes: number, atLeast = false): IPrefix {
  if (textBytes === text.length) {
    const chars = Math.min(maxBytes, text.length);
    return { chars, bytes: chars };
  }
  let chars = 0;
  let bytes = 0;
  while (chars < text.length) {
    const pair = isHighSurrogatePair(text, chars);
    const size = pair ? 4 : charBytes(text, chars);
    if (atLeast ? bytes >= maxBytes : bytes + size > maxBytes) {
      break;
    }
    bytes += size;
    chars += pair ? 2 : 1;
  }
  return { chars, bytes };
}

/** UTF-8 bytes of the code unit at `i`, not part of a surrogate pair (a lone surrogate becomes U+FFFD: 3). */
function charBytes(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
}

function isHighSurrogatePair(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  const next = text.charCodeAt(i + 1);
  return code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
}

/**
 * `text.slice(start, end)`, copied when it is a small part of a large string: V8 slices keep their parent
 * alive, which would let one huge message pin far more memory than the cap.
 */
export function keepSlice(text: string, start: number, end: number): string {
  const part = text.slice(start, end);
  return text.length > 65536 && part.length * 2 < text.length ? (JSON.parse(JSON.stringify(part)) as string) : part;
}
