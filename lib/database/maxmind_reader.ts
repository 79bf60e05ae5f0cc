/**
 * What geoipmq uses of `npm:maxmind`'s reader beyond its public API (its decoder and its
 * raw metadata), typed here, and the guard put on its decoder: a value whose declared
 * size does not fit its type is an error, as in libmaxminddb, and a record may read only
 * so many values.
 *
 * @module
 */

/**
 * The largest size each fixed-size type may declare (double and float exactly), as
 * libmaxminddb enforces; `npm:maxmind`'s decoder reads such values whatever their size.
 * Keys are the format's type numbers.
 */
const SIZE_RULES: ReadonlyMap<number, { name: string; size: number; exact: boolean }> = new Map([
  [3, { name: "double", size: 8, exact: true }],
  [5, { name: "uint16", size: 2, exact: false }],
  [6, { name: "uint32", size: 4, exact: false }],
  [8, { name: "int32", size: 4, exact: false }],
  [9, { name: "uint64", size: 8, exact: false }],
  [10, { name: "uint128", size: 16, exact: false }],
  [15, { name: "float", size: 4, exact: true }],
]);

/**
 * The most values one record may hold: real City records have a few hundred. A corrupt
 * file whose pointers fan out could otherwise keep one lookup decoding for seconds.
 */
export const MAX_RECORD_VALUES = 20_000;

/** What is left of the current record's value budget. */
export interface DecodeBudget {
  values: number;
}

export interface DecoderInternals {
  decodeByType(type: number, offset: number, size: number): unknown;
}

/**
 * Makes the reader's decoder refuse values whose declared size does not fit their type,
 * so a corrupt record is an error, as in libmaxminddb, rather than a wrong answer.
 */
export function guardValueSizes(reader: ReaderInternals, budget: DecodeBudget): void {
  const decoder = reader.decoder;
  const decode = decoder.decodeByType.bind(decoder);
  decoder.decodeByType = (type, offset, size) => {
    if (--budget.values < 0) {
      throw new Error(`record has more than ${MAX_RECORD_VALUES} values (corrupt pointers?)`);
    }
    const rule = SIZE_RULES.get(type);
    if (rule !== undefined && (rule.exact ? size !== rule.size : size > rule.size)) {
      throw new Error(`invalid size ${size} for a ${rule.name} at offset ${offset}`);
    }
    return decode(type, offset, size);
  };
}

export interface ReaderInternals {
  decoder: DecoderInternals;
  metadata: {
    nodeCount: number;
    recordSize: number;
    ipVersion: number;
    searchTreeSize: number;
    databaseType: string;
    buildEpoch: Date;
    languages: string[];
    description: Record<string, string>;
    binaryFormatMajorVersion: number;
    binaryFormatMinorVersion: number;
  };
  resolveDataPointer(pointer: number): unknown;
}
