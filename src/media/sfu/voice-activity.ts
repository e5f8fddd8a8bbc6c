// Voice activity of one audio track from the ssrc-audio-level the publisher writes into each packet:
// speech when enough packets of a 500 ms window are loud, reported only when the state changes. It reads
// levels; parsing the extension and telling anyone is the caller's job.

export type VoiceActivity = 'speech' | 'silence';

/** Audio louder than this (dBov, 0 = loudest, 127 = silence) counts as speech. */
const SPEECH_LEVEL = 50;
/** Packets in one decision (20 ms each): 500 ms. */
const WINDOW = 25;
/** Loud packets a window needs to count as speech (100 ms of voice). */
const MIN_LOUD = 5;

export class VoiceActivityDetector {
  private loud = 0;
  private count = 0;
  private state: VoiceActivity = 'silence';

  constructor(private readonly onChange: (status: VoiceActivity) => void) {}

  /** The level (dBov) of one packet. */
  level(dbov: number): void {
    if (dbov <= SPEECH_LEVEL) this.loud++;
    if (++this.count < WINDOW) return;
    const status: VoiceActivity = this.loud >= MIN_LOUD ? 'speech' : 'silence';
    this.loud = 0;
    this.count = 0;
    if (status === this.state) return;
    this.state = status;
    this.onChange(status);
  }
}
