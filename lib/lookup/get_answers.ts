/**
 * The `get` answer: the asked fields of each address's record, tab-separated, written
 * from the bytes of one database, or from the merged record of several, and kept by the
 * field list and the combination of records found.
 *
 * @module
 */

import { FieldWriter } from "../database/mod.ts";
import {
  errorReply,
  type FieldPath,
  formatFields,
  parseIpInto,
  type RequestScan,
} from "../protocol/mod.ts";
import { AnswerCache } from "./answer_cache.ts";
import type { AddressOutcome } from "./address_outcome.ts";
import { ByteSlab } from "./byte_slab.ts";
import type { CacheBudget } from "./cache_budget.ts";
import { FieldListMemo } from "./field_list_memo.ts";
import { ReplyBuffer } from "./reply_buffer.ts";
import type { ResponderDatabases } from "./responder_databases.ts";
import { latin1 } from "./request_text.ts";

const encoder = new TextEncoder();
const LINE_FEED = 0x0a;

/**
 * Writes `get` replies.
 *
 * @example
 * ```ts
 * import { bundledDatabasePath, GeoDatabase } from "../database/mod.ts";
 * import { DEFAULT_LIMITS, RequestScan } from "../protocol/mod.ts";
 * import { AddressOutcome } from "./address_outcome.ts";
 * import { CacheBudget } from "./cache_budget.ts";
 * import { GetAnswers } from "./get_answers.ts";
 * import { ReplyBuffer } from "./reply_buffer.ts";
 * import { ResponderDatabases } from "./responder_databases.ts";
 * const databases = new ResponderDatabases([await GeoDatabase.open(bundledDatabasePath())]);
 * const tally = { verb: "get", outcome: "ok", found: 0, notFound: 0, invalid: 0, error: 0 } as const;
 * const outcome = new AddressOutcome({ ...tally });
 * const get = new GetAnswers(databases, { budget: new CacheBudget(0), outcome, languages: ["en"] });
 * const frame = new TextEncoder().encode("get country.iso_code,city.name 81.2.69.160");
 * const scan = new RequestScan(DEFAULT_LIMITS);
 * scan.scan(frame, frame.length);
 * const out = new ReplyBuffer();
 * get.write(frame, { scan, out });
 * console.log(new TextDecoder().decode(out.view())); // "GB\tEast Finchley"
 * ```
 */
export class GetAnswers {
  readonly #databases: ResponderDatabases;
  readonly #outcome: AddressOutcome;
  readonly #languages: readonly string[];
  readonly #writer: FieldWriter;
  readonly #fieldLists = new FieldListMemo();
  /** Where the bytes of kept lines are packed. */
  readonly #slab = new ByteSlab();
  readonly #scratch = new ReplyBuffer(4096);
  readonly #address = new Uint8Array(16);
  /** Lines by field list and combination of records found. */
  readonly cache: AnswerCache<Uint8Array, string>;

  /**
   * @param databases the location database and the others
   * @param parts the cache budget, the tally, and the languages of `.name` fields
   */
  constructor(
    databases: ResponderDatabases,
    parts: { budget: CacheBudget; outcome: AddressOutcome; languages: readonly string[] },
  ) {
    this.#databases = databases;
    this.#outcome = parts.outcome;
    this.#languages = parts.languages;
    this.#writer = new FieldWriter(databases.location.section, parts.languages);
    this.cache = new AnswerCache(parts.budget);
  }

  /**
   * Writes the reply to a scanned `get` request: a line per address.
   *
   * @param frame the request bytes
   * @param request the scan of the request, and where the reply goes
   * @returns undefined, or why the field list is not one (nothing was written)
   */
  write(frame: Uint8Array, request: { scan: RequestScan; out: ReplyBuffer }): string | undefined {
    const { scan, out } = request;
    const fieldsText = scan.fieldsText(frame);
    const fields = this.#fieldLists.parse(fieldsText);
    if (!fields.ok) return fields.reason;
    for (let i = 0; i < scan.addressCount; i++) {
      if (i > 0) out.appendByte(LINE_FEED);
      const line = this.#answer(frame, {
        start: scan.starts[i]!,
        end: scan.ends[i]!,
        fields: { text: fieldsText, paths: fields.value },
      });
      if (typeof line === "string") {
        if (scan.addressCount === 1) this.#outcome.tally.outcome = "error";
        out.appendText(line);
      } else {
        out.append(line);
      }
    }
    return undefined;
  }

  /** The `get` line for the address at `frame[start..end)`: bytes, or an ERROR line. */
  #answer(
    frame: Uint8Array,
    place: { start: number; end: number; fields: { text: string; paths: readonly FieldPath[] } },
  ): Uint8Array | string {
    const { start, end, fields } = place;
    const outcome = this.#outcome;
    const version = parseIpInto(frame, start, end, this.#address);
    if (version === 0) return errorReply(outcome.invalid(latin1(frame, { start, end })));
    try {
      const databases = this.#databases;
      if (!databases.locate(this.#address, version)) {
        outcome.notFound();
        return encoder.encode(
          formatFields(null, { fields: fields.paths, languages: this.#languages }),
        );
      }
      const cacheKey = `${fields.text} ${databases.key()}`;
      const line = this.cache.peek(cacheKey) ??
        this.cache.put(cacheKey, this.#line(fields.paths));
      outcome.found();
      return line;
    } catch (error) {
      return errorReply(outcome.lookupFailed(error, latin1(frame, { start, end })));
    }
  }

  /**
   * The `get` line of the combination found: written from the bytes of one database; from
   * the merged record for several, for a vendor's record (mapped to GeoIP2's names), or
   * where the bytes are not as the reader takes them (the decoder's error, if it has one).
   */
  #line(paths: readonly FieldPath[]): Uint8Array {
    const out = this.#scratch;
    const databases = this.#databases;
    if (databases.others.length === 0 && databases.schema.schema === "geoip2") {
      out.reset();
      try {
        this.#writer.write(databases.offsets[0]!, { fields: paths, sink: out });
        return this.#slab.copy(out.bytes, { start: 0, end: out.length });
      } catch {
        // Decoded below.
      }
    }
    const line = formatFields(databases.mergedRecord(), {
      fields: paths,
      languages: this.#languages,
    });
    return this.#slab.encode(line);
  }
}
