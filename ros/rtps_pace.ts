/**
 * Paced, ordered sending of a writer's datagrams (ros/rtps.ts). A fragmented 300 KB sample is ~25
 * datagrams of 14.7 KB; written in one burst, they reach a reader's socket faster than it drains,
 * and a receive buffer of the Linux default size (net.core.rmem_default, 208 KiB; Fast DDS 2.9 keeps
 * the system default, Cyclone DDS asks for 1 MiB but gets at most net.core.rmem_max) overflows:
 * fragments are lost and, for a best-effort reader, the whole sample. Cyclone DDS bounds what one
 * writer sends at once to about 2/3 of the reader's receive buffer for retransmits
 * (ddsi_endpoint.c: rexmit_burst_size_limit = min_receive_buffer_size - min_receive_buffer_size / 3)
 * and leaves the rest to the reader's NACK_FRAG; here every datagram goes through one queue that
 * sends at most `burstBytes` per `pauseMs` window and then waits for the next, so a sample of any
 * size goes out at a bounded rate and no datagram overtakes an earlier one (a HEARTBEAT never announces a sample whose
 * fragments are still queued). The first burst leaves synchronously, within the publish call.
 */
export interface Destination { port: number; address: string }
/** Sends a datagram; `done`, when given, is called once the socket no longer needs `data` (with an error if the send failed). */
export type SendFn = (data: Uint8Array, port: number, address: string, done?: (err?: Error | null) => void) => Promise<void> | void;

/**
 * At most BURST_BYTES per PAUSE_MS window: 32 KiB per millisecond (~32 MB/s; a 300 KB sample in
 * 10-20 ms). Measured against a Fast DDS 2.9 best-effort reader (default receive buffer) with 30
 * samples of 300 KB, 20 ms apart (test/ros/frag.test.ts): 64 KiB/ms lost 1-6 of 30, 48 KiB/ms 1,
 * 32 KiB/ms none in three runs; a burst per sample, unpaced, lost 5-11. Cyclone DDS lost none at any rate.
 */
export const BURST_BYTES = 32 * 1024;
export const PAUSE_MS = 1;

export class PacedSender {
  private readonly queue: { data: Uint8Array; to: Destination; sent?: () => void; done?: (err?: Error | null) => void }[] = [];
  private pumping = false;
  private closed = false;
  /** Datagrams and bytes sent, pauses taken (for tests and diagnostics). */
  readonly stats = { datagrams: 0, bytes: 0, pauses: 0 };

  constructor(
    private readonly send: SendFn,
    private readonly onError: (e: Error) => void,
    private readonly burstBytes = BURST_BYTES,
    private readonly pauseMs = PAUSE_MS,
  ) {}

  /**
   * Queues a datagram; `sent` runs once it has been handed to the socket, `done` (passed to the send
   * function) once the socket is done with its bytes: a caller that reuses the buffer waits for it.
   */
  enqueue(data: Uint8Array, to: Destination, sent?: () => void, done?: (err?: Error | null) => void): void {
    if (this.closed) { done?.(null); return; }
    // the common case (a command, a HEARTBEAT): nothing waiting and room in the window — out at once,
    // without a queue entry (one object per datagram on the control tick's path otherwise)
    if (!this.pumping && this.queue.length === 0 && this.room(data.length, performance.now())) { this.transmit(data, to, sent, done); return; }
    this.queue.push({ data, to, sent, done });
    if (!this.pumping) this.pump();
  }

  /** Whether `bytes` fit the window at `now` (opening a new window when the current one is over). */
  private room(bytes: number, now: number): boolean {
    if (now - this.windowStart >= this.pauseMs) { this.windowStart = now; this.windowBytes = 0; }
    return this.windowBytes === 0 || this.windowBytes + bytes <= this.burstBytes;
  }

  private transmit(data: Uint8Array, to: Destination, sent?: () => void, done?: (err?: Error | null) => void): void {
    this.windowBytes += data.length;
    this.stats.datagrams++;
    this.stats.bytes += data.length;
    try {
      const r = this.send(data, to.port, to.address, done);
      if (r) r.catch((e: Error) => this.onError(e));
    } catch (e) { if (done) done(e as Error); else this.onError(e as Error); }
    sent?.();
  }

  /** Datagrams waiting. */
  get pending(): number { return this.queue.length; }

  close(): void {
    this.closed = true;
    for (const q of this.queue) q.done?.(null);
    this.queue.length = 0;
  }

  /** Bytes sent in the current window, and when it began (performance.now ms). */
  private windowBytes = 0;
  private windowStart = -Infinity;

  /**
   * Sends from the queue while the current window (pauseMs long) has room for burstBytes; then waits
   * for the next window. The window persists across calls: datagrams are queued one at a time.
   */
  private pump(): void {
    this.pumping = true;
    while (this.queue.length && !this.closed) {
      const now = performance.now();
      if (!this.room(this.queue[0].data.length, now)) {
        this.stats.pauses++;
        setTimeout(() => this.pump(), Math.ceil(this.windowStart + this.pauseMs - now));
        return;
      }
      const { data, to, sent, done } = this.queue.shift()!;
      this.transmit(data, to, sent, done);
    }
    this.pumping = false;
  }
}
