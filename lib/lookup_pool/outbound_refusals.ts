/**
 * The `ERROR` the router thread sends instead of a reply that does not fit a client's
 * outbound budget.
 *
 * @module
 */

import type { ServiceMetrics } from "../metrics/mod.ts";
import { errorReply, replyTooLargeReason, unreadRepliesReason } from "../protocol/mod.ts";
import type { ConnectionBudget } from "./connection_budget.ts";

/**
 * Decides, reply by reply, whether a reply fits its client's outbound budget: a reply
 * larger than the whole budget, or one that would pass it on top of what the client has
 * not read yet, is replaced by an `ERROR` (each counted as limited). Nothing is dropped
 * in silence for a client that reads.
 */
export class OutboundRefusals {
  readonly #budget: ConnectionBudget;
  readonly #metrics: ServiceMetrics;

  /**
   * @param budget the connection budgets
   * @param metrics where a refusal is counted
   */
  constructor(budget: ConnectionBudget, metrics: ServiceMetrics) {
    this.#budget = budget;
    this.#metrics = metrics;
  }

  /**
   * @param fd the client's connection
   * @param bytes the reply's size
   * @returns the ERROR reply to send instead, or undefined when the reply may go
   */
  refusal(fd: number, bytes: number): string | undefined {
    const budget = this.#budget;
    const max = budget.maxOutboundBytes;
    if (max <= 0) return undefined;
    if (bytes > max) {
      this.#metrics.recordLimited("reply_size");
      return errorReply(replyTooLargeReason(bytes, max));
    }
    if (budget.mayReply(fd, bytes)) return undefined;
    this.#metrics.recordLimited("outbound_bytes");
    return errorReply(unreadRepliesReason(budget.unreadBytes(fd), max));
  }
}
