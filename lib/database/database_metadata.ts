/**
 * A database's metadata section: what it declares about itself, where it lies (after the
 * marker, in the last 128 KiB), and the checks it must pass before the file is used; a
 * value quoted in an error is made short and printable, since the file is untrusted.
 *
 * @module
 */

import type { ReaderInternals } from "./maxmind_reader.ts";

/** The metadata a database declares about itself. */
export interface DatabaseMetadata {
  databaseType: string;
  /** Build time, seconds since the epoch. */
  buildEpoch: number;
  ipVersion: 4 | 6;
  nodeCount: number;
  recordSize: number;
  languages: string[];
  description: Record<string, string>;
  binaryFormatVersion: string;
}

/** Bytes of zeros between the search tree and the data section. */
export const DATA_SECTION_SEPARATOR = 16;
const METADATA_MARKER = new Uint8Array([
  0xab,
  0xcd,
  0xef,
  ...new TextEncoder().encode("MaxMind.com"),
]);
const METADATA_MAX_SIZE = 128 * 1024;

/**
 * Whether the metadata marker `\xAB\xCD\xEFMaxMind.com` occurs in the last 128 KiB, where
 * the format puts it.
 *
 * @param bytes the whole file
 * @returns true when the marker is there
 */
export function hasMetadataMarker(bytes: Uint8Array<ArrayBufferLike>): boolean {
  const marker = METADATA_MARKER;
  const start = Math.max(0, bytes.length - METADATA_MAX_SIZE);
  outer: for (let i = bytes.length - marker.length; i >= start; i--) {
    for (let j = 0; j < marker.length; j++) if (bytes[i + j] !== marker[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * Checks the metadata a reader found against what this reader takes and the file's size.
 *
 * @param m the reader's raw metadata
 * @param fileSize the whole file's size
 * @returns what is wrong, or undefined
 */
export function checkMetadata(
  m: ReaderInternals["metadata"],
  fileSize: number,
): string | undefined {
  if (m.binaryFormatMajorVersion !== 2) {
    return `unsupported binary format version ${quoteMetadata(m.binaryFormatMajorVersion)}`;
  }
  if (![24, 28, 32].includes(m.recordSize)) {
    return `invalid record size ${quoteMetadata(m.recordSize)}`;
  }
  if (m.ipVersion !== 4 && m.ipVersion !== 6) {
    return `invalid IP version ${quoteMetadata(m.ipVersion)}`;
  }
  if (!Number.isInteger(m.nodeCount) || m.nodeCount <= 0) {
    return `invalid node count ${quoteMetadata(m.nodeCount)}`;
  }
  if (m.searchTreeSize + DATA_SECTION_SEPARATOR > fileSize) {
    return `node count ${m.nodeCount} makes the search tree larger than the file (truncated?)`;
  }
  if (typeof m.databaseType !== "string") return "metadata has no database_type";
  if (!(m.buildEpoch instanceof Date) || Number.isNaN(m.buildEpoch.getTime())) {
    return "metadata has an invalid build_epoch";
  }
  return undefined;
}

/** The most characters of a metadata value an error quotes. */
const QUOTED_METADATA_CHARS = 40;

/**
 * A metadata value as an error message quotes it: a number as it is, a string in double
 * quotes with everything outside printable ASCII escaped and cut to a few dozen
 * characters, anything else by its kind. The file is untrusted: its values may hold
 * escape sequences or kilobytes of text.
 *
 * @param value a value decoded from the metadata section
 * @returns a short, printable ASCII rendering
 */
function quoteMetadata(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  if (typeof value === "string") {
    let quoted = '"';
    for (const c of value) {
      const code = c.codePointAt(0)!;
      const shown = c === '"' || c === "\\"
        ? `\\${c}`
        : code >= 0x20 && code <= 0x7e
        ? c
        : code <= 0xffff
        ? `\\u${code.toString(16).padStart(4, "0")}`
        : `\\u{${code.toString(16)}}`;
      if (quoted.length + shown.length > QUOTED_METADATA_CHARS) return `${quoted}..."`;
      quoted += shown;
    }
    return `${quoted}"`;
  }
  if (value === undefined || value === null) return "(none)";
  if (Array.isArray(value)) return "(an array)";
  if (value instanceof Uint8Array) return "(bytes)";
  return `(${typeof value === "object" ? "a map" : typeof value})`;
}
