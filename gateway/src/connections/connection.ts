/**
 * One Mattermost WebSocket connection as the client knows it (its connection_id): it
 * outlives its socket, so a client that reconnects with connection_id + sequence_number
 * resumes without loss (docs/protocol.md §5).
 */
import { EventName } from "@switchboard/bus";
import type { Actor } from "@switchboard/tokens";
import type { EventFrame } from "../protocol/outbound.js";
import { FrameWriter } from "../protocol/outbound.js";
import { OutboxLog } from "./outbox-log.js";
import type { SocketPort } from "./socket-port.js";

/** Events Mattermost drops for a connection whose queue is half full (web_conn.go). */
const SHEDDABLE = new Set<string>([EventName.Typing, EventName.StatusChange, EventName.MultipleChannelsViewed]);

export function sheddable(event: string): boolean {
  return SHEDDABLE.has(event);
}

export interface ConnectionLimits {
  readonly replayEvents: number;
  readonly queueLimit: number;
  readonly maxBufferedBytes: number;
}

export type DeliverResult = "queued" | "shed" | "overflow";

const writer = new FrameWriter();
/** Largest WebSocket header of a server frame (no mask): 2 + 8 bytes of length. */
const WS_HEADER_MAX = 10;

export class Connection {
  readonly log: OutboxLog;
  socket: SocketPort | undefined;
  /** When the socket went away (0 while attached). */
  detachedAt = 0;
  /**
   * When this gateway began routing events to it (Fanout.attach), Unix ms; 0 before. What a
   * NATS outage's read-back brings reaches it only if published since (routing/nats-recovery.ts).
   */
  routedSinceMs = 0;
  /** In the flush list for this turn. */
  dirty = false;
  /** Forgotten: no resume possible any more. */
  dead = false;
  postedAck = false;
  /** The client's address of its current socket (http/client-ip.ts): presence counts connections per address. */
  clientIp = "";
  /** The `presence` action's values; null = never reported (Mattermost's "<>"). */
  activeChannelId: string | null = null;
  activeTeamId: string | null = null;
  activeRhsThreadChannelId: string | null = null;
  activeThreadViewChannelId: string | null = null;

  constructor(
    public id: string,
    /** The session this connection acts for (a resume may bring a newer session of the same user). */
    public actor: Actor,
    /** That session's token, forwarded on calls made for this connection. */
    public token: string,
    private readonly limits: ConnectionLimits,
  ) {
    this.log = new OutboxLog(limits.replayEvents, limits.queueLimit);
  }

  get userId(): string {
    return this.actor.userId;
  }

  get attached(): boolean {
    return this.socket !== undefined;
  }

  /** Over half its queue or socket budget: time to shed ephemeral events. */
  get congested(): boolean {
    const s = this.socket;
    return this.log.unwritten >= this.limits.queueLimit / 2 || (s !== undefined && s.bufferedAmount() >= this.limits.maxBufferedBytes / 2);
  }

  /**
   * Queues an event for this connection (the caller schedules the flush). `eventId`: the
   * envelope's id, kept beside the frame for a cross-gateway resume. `shed`: the event is one
   * to drop when congested (`sheddable(frame.event)`, asked once per event).
   */
  deliver(frame: EventFrame, eventId: string, shed = sheddable(frame.event)): DeliverResult {
    if (shed && this.congested) return "shed";
    return this.log.push(frame.bytes, eventId) ? "queued" : "overflow";
  }

  /**
   * Writes queued events, all in one corked batch. Stops at the socket's byte budget; returns
   * false when the budget is exhausted with events still queued (the drain handler resumes).
   * The socket's buffered amount is asked once, then again only when what was sent since
   * could have used up the budget (a send adds at most its frame and header to it).
   */
  flush(): boolean {
    const s = this.socket;
    if (!s || !this.log.hasUnwritten) return true;
    const max = this.limits.maxBufferedBytes;
    const log = this.log;
    let room = max - s.bufferedAmount();
    let ok = true;
    s.cork(() => {
      for (let bytes = log.peek(); bytes; bytes = log.peek()) {
        if (room <= 0) {
          room = max - s.bufferedAmount();
          if (room <= 0) {
            ok = false;
            return;
          }
        }
        const frame = writer.frame(bytes, log.cursorSeq);
        s.send(frame);
        room -= frame.length + WS_HEADER_MAX;
        log.advance();
      }
    });
    return ok;
  }
}
