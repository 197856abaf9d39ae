/**
 * Heartbeat bookkeeping. Our counters and the peer's are strictly increasing, so an old counter is a
 * replay (heartbeats are never resent: each probe gets a fresh counter).
 */

/** The fate of a heartbeat answer. */
export type AnswerResult = 'answered' | 'recovered' | 'stale';

/** Counters for our probes and the peer's. */
export class HeartbeatTracker {
  private sent = 0;
  private outstanding: number | null = null;
  private missedInARow = 0;
  private peerCounter = 0;

  /** Consecutive probes that went unanswered. */
  get missed(): number {
    return this.missedInARow;
  }

  /** Starts a probe and returns its counter. */
  probe(): number {
    this.sent++;
    this.outstanding = this.sent;
    return this.sent;
  }

  /**
   * Handles an answer. Only the outstanding counter counts; a late or replayed one is `stale`.
   * `recovered` means probes had been missed before this one came back.
   */
  answer(counter: number): AnswerResult {
    if (this.outstanding === null || counter !== this.outstanding) return 'stale';
    this.outstanding = null;
    const recovered = this.missedInARow > 0;
    this.missedInARow = 0;
    return recovered ? 'recovered' : 'answered';
  }

  /** The outstanding probe timed out; returns the consecutive misses so far. */
  expire(): number {
    this.outstanding = null;
    return ++this.missedInARow;
  }

  /** Forgets misses once the session is healthy again, so old misses do not count towards the next degrade. */
  clearMisses(): void {
    this.missedInARow = 0;
    this.outstanding = null;
  }

  /** Accepts the peer's probe counter if it is newer than every one seen; `false` means replay. */
  acceptPeer(counter: number): boolean {
    if (counter <= this.peerCounter) return false;
    this.peerCounter = counter;
    return true;
  }
}
