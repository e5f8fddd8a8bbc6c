// One room's media graph in the thread that hosts the room (as mediasoup's Router): the producer of each
// published track, by track id, and the consumers each producer feeds. Sessions make and close producers
// and consumers only through it, so a track's producer is found, replaced and closed in one place. A
// track id belongs to the peer whose producer holds it: only that peer may replace it.
// It sends nothing and knows no transport (producers and consumers are handed their send functions), and
// nothing of signaling or room state beyond the room id.
import type { TrackKind, Variant } from '../../room/track.js';
import type { Codec } from '../wire/sdp.js';
import { Consumer, type ConsumerParams } from './consumer.js';
import type { QualityCollector } from './media-quality.js';
import type { MediaStats } from './media-stats.js';
import { Producer, type ProducerOptions } from './producer.js';

export interface ProducerSpec {
  trackId: string;
  peerId: string;
  kind: TrackKind;
  codec: Codec;
  /** Simulcast rids in offer order, empty for a single stream. */
  rids: Variant[];
}

/** produce() was asked for a track id another peer of the room publishes. */
export class TrackIdInUseError extends Error {
  constructor(readonly trackId: string) {
    super(`Track id ${trackId} is already in use`);
    this.name = 'TrackIdInUseError';
  }
}

/** Where a peer's data-channel messages go: its channel of the label (reliable / lossy); false if not delivered. */
export type DataSink = (label: string, data: Buffer) => boolean;

export class Router {
  private readonly producers = new Map<string, Producer>();
  private readonly dataSinks = new Map<string, DataSink>();
  private sessionCount = 0;

  constructor(
    readonly roomId: string,
    /** The counters of the media plane this router runs in. */
    private readonly stats: MediaStats,
    /** Called when the last session of the room leaves. */
    private readonly onEmpty: (router: Router) => void,
  ) {}

  /** Open sessions of the room in this thread. */
  get sessions(): number {
    return this.sessionCount;
  }

  /** A session of the room opened here. */
  join(): void {
    this.sessionCount++;
  }

  /** A session of the room closed; the last one empties the router. */
  leave(): void {
    if (--this.sessionCount === 0) this.onEmpty(this);
  }

  /** The peer whose producer holds `trackId` here, if any. */
  ownerOf(trackId: string): string | undefined {
    return this.producers.get(trackId)?.peerId;
  }

  /**
   * A new producer for a published track; it replaces an earlier producer of that track id only if the
   * same peer made it. Throws TrackIdInUseError if another peer publishes the id (check ownerOf first).
   */
  produce(spec: ProducerSpec, options: Omit<ProducerOptions, 'stats'>): Producer {
    const owner = this.ownerOf(spec.trackId);
    if (owner !== undefined && owner !== spec.peerId) throw new TrackIdInUseError(spec.trackId);
    const producer = new Producer(spec.trackId, spec.peerId, spec.kind, spec.codec, spec.rids, { ...options, stats: this.stats });
    this.producers.set(spec.trackId, producer);
    return producer;
  }

  /** The producer of `trackId`, if the track is published in this thread. */
  producer(trackId: string): Producer | undefined {
    return this.producers.get(trackId);
  }

  /** Closes `producer` (and the consumers it feeds) and forgets it, unless a newer one took its track id. */
  closeProducer(producer: Producer): void {
    if (this.producers.get(producer.trackId) === producer) this.producers.delete(producer.trackId);
    producer.close();
  }

  /** Every published track's quality here, and that of each consumer it feeds. */
  collectQuality(c: QualityCollector): void {
    for (const producer of this.producers.values()) {
      producer.collectQuality(this.roomId, c);
      for (const sink of producer.currentSinks()) if (sink instanceof Consumer) sink.collectQuality(this.roomId, c);
    }
  }

  /** `peerId` receives the room's data-channel messages through `sink` (until removeDataSink). */
  addDataSink(peerId: string, sink: DataSink): void {
    this.dataSinks.set(peerId, sink);
  }

  removeDataSink(peerId: string): void {
    this.dataSinks.delete(peerId);
  }

  /** A data-channel message `from` published: to every other peer of the room, on the same label. */
  publishData(from: string, label: string, data: Buffer): void {
    this.stats.dataReceived++;
    for (const [peerId, sink] of this.dataSinks) {
      if (peerId === from) continue;
      if (sink(label, data)) this.stats.dataForwarded++;
      else this.stats.dataDroppedSlowReceiver++;
    }
  }

  /** A data-channel message a session refused before publishing it. */
  dataRefused(reason: 'notAllowed' | 'tooLarge'): void {
    if (reason === 'notAllowed') this.stats.dataDroppedNotAllowed++;
    else this.stats.dataDroppedTooLarge++;
  }

  /** A consumer of `producer`, fed from now on (until either is closed). */
  consume(producer: Producer, params: Omit<ConsumerParams, 'stats'>): Consumer {
    const consumer = new Consumer(producer, { ...params, stats: this.stats });
    producer.addSink(consumer);
    return consumer;
  }
}
