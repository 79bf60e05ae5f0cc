/**
 * A child's output, line by line, as it comes.
 *
 * @module
 */

/**
 * Reads a stream of text line by line; a last line without a line break comes last.
 *
 * @example
 * ```ts
 * import { textLines } from "./text_lines.ts";
 * const stream = new Blob(["ready\nstopped"]).stream();
 * const lines: string[] = [];
 * for await (const line of textLines(stream)) lines.push(line);
 * console.log(lines); // ["ready", "stopped"]
 * ```
 *
 * @param stream a child's stdout or stderr
 * @returns the lines, without their line breaks
 */
export async function* textLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    yield* lines;
  }
  if (pending !== "") yield pending;
}
