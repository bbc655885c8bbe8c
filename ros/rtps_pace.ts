/**
 * Paced, ordered sending of a writer's datagrams (ros/rtps.ts). A fragmented 300 KB sample is ~25
 * datagrams of 14.7 KB; written in one burst, they reach a reader's socket faster than it drains,
 * and a receive buffer of the Linux default size (net.core.rmem_default, 208 KiB; Fast DDS 2.9 keeps
 * the system default, Cyclone DDS asks for 1 MiB but gets at most net.core.rmem_max) overflows:
 * fragments are lost and, for a best-effort reader, the whole sample. Cyclone DDS bounds what one
 * writer sends at once to about 2/3 of the reader's receive buffer for retransmits
 * (ddsi_endpoint.c: rexmit_burst_size_limit = min_receive_buffer_size - min_receive_buffer_size / 3)
 * and leaves the rest to the reader's NACK_FRAG; here every datagram goes through one queue that
 * sends at most `burstBytes` and then yields for `pauseMs`, so a sample of any size goes out at a
 * bounded rate and no datagram overtakes an earlier one (a HEARTBEAT never announces a sample whose
 * fragments are still queued). The first burst leaves synchronously, within the publish call.
 */
export interface Destination { port: number; address: string }
export type SendFn = (data: Uint8Array, port: number, address: string) => Promise<void> | void;

/** Bytes per burst and the pause after one: 64 KiB per millisecond at most (~64 MB/s). */
export const BURST_BYTES = 64 * 1024;
export const PAUSE_MS = 1;

export class PacedSender {
  private readonly queue: { data: Uint8Array; to: Destination }[] = [];
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

  enqueue(data: Uint8Array, to: Destination): void {
    if (this.closed) return;
    this.queue.push({ data, to });
    if (!this.pumping) this.pump();
  }

  /** Datagrams waiting. */
  get pending(): number { return this.queue.length; }

  close(): void { this.closed = true; this.queue.length = 0; }

  private pump(): void {
    this.pumping = true;
    let burst = 0;
    while (this.queue.length && !this.closed) {
      if (burst > 0 && burst + this.queue[0].data.length > this.burstBytes) {
        this.stats.pauses++;
        setTimeout(() => this.pump(), this.pauseMs);
        return;
      }
      const { data, to } = this.queue.shift()!;
      burst += data.length;
      this.stats.datagrams++;
      this.stats.bytes += data.length;
      try {
        const r = this.send(data, to.port, to.address);
        if (r) r.catch((e: Error) => this.onError(e));
      } catch (e) { this.onError(e as Error); }
    }
    this.pumping = false;
  }
}
