/**
 * The shell around a `SessionMachine` (quinn's `ConnectionDriver` idea): feed an input, drain every
 * output to its port, arm one timer at the next deadline. The only place that reads the clock.
 */
import type { Cancel, Clock } from './clock';
import type { MachineOutput, SessionMachine } from './machine';
import type { HandshakeKind, Role } from './states';
import type { WireMessage } from './wire';

/** Outputs that are neither transmits nor handshake starts: what the public `Session` turns into events. */
export type SessionNotice = Exclude<MachineOutput, { type: 'transmit' } | { type: 'start_handshake' }>;

/** Where the driver sends the machine's outputs. */
export interface SessionPorts {
  /** Puts a session message on the current transport (the frame layer seals it). */
  transmit(message: WireMessage): void;
  /** Starts a handshake in the crypto port; its verdict returns through `machine.handleHandshakeResult`. */
  startHandshake(kind: HandshakeKind, role: Role): void;
  /** Deliveries, audit records, warnings, quarantines, transport changes, unacknowledged messages. */
  notify(notice: SessionNotice): void;
}

/** Drives one machine on one clock. */
export class SessionDriver {
  private cancelTimer: Cancel | null = null;
  private armedAt: number | null = null;
  private draining = false;

  /** Binds `machine` to `clock` and `ports`. */
  constructor(readonly machine: SessionMachine, private readonly clock: Clock, private readonly ports: SessionPorts) {}

  /**
   * Runs `input` at the clock's time, then drains outputs and re-arms the timer. Errors thrown by the
   * input (invalid move, full queue…) propagate to the caller after the outputs produced so far are drained.
   */
  input<R>(input: (machine: SessionMachine, now: number) => R): R {
    try {
      return input(this.machine, this.clock.now());
    } finally {
      this.pump();
    }
  }

  /** Drains outputs; ports may call back into `input` synchronously, which just extends this drain. */
  private pump(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let out = this.machine.poll(); out !== undefined; out = this.machine.poll()) this.route(out);
    } finally {
      this.draining = false;
    }
    this.arm();
  }

  private route(out: MachineOutput): void {
    if (out.type === 'transmit') this.ports.transmit(out.message);
    else if (out.type === 'start_handshake') this.ports.startHandshake(out.kind, out.role);
    else this.ports.notify(out);
  }

  // One timer per session, at the machine's next deadline or earlier. A deadline that moves later (the
  // heartbeat and ack deadlines, pushed back by every message) keeps the earlier timer: it fires, finds
  // nothing due, and re-arms at the new deadline. One wake-up per interval instead of a clearTimeout and
  // a setTimeout per message.
  private arm(): void {
    const at = this.machine.nextDeadline();
    if (at === this.armedAt || (at !== null && this.armedAt !== null && this.armedAt < at)) return;
    this.cancelTimer?.();
    this.armedAt = at;
    this.cancelTimer = at === null ? null : this.clock.schedule(at, () => {
      this.armedAt = null;
      this.cancelTimer = null;
      this.input((m, now) => m.handleTimeout(now));
    });
  }
}
