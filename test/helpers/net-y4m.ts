// A noisy test clip for Chromium's fake camera (`--use-file-for-fake-video-capture=FILE.y4m`): the built-in
// fake camera's picture is so simple that VP8 encodes an `m` layer of only ~260 kbit/s; moving bars under
// per-pixel noise make the encoder spend its whole target on each simulcast layer, as a real camera does.
// Written once per size and length into the temp dir (raw I420, ~1.4 MB a frame at 1280×720) and reused.
// It must not write anywhere but the temp dir.
import { existsSync, openSync, closeSync, renameSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Path of a y4m clip of `frames` frames at `width`×`height`, `fps` (made if missing). */
export function noisyClip(o: { width?: number; height?: number; fps?: number; frames?: number; noise?: number } = {}): string {
  const width = o.width ?? 1280;
  const height = o.height ?? 720;
  const fps = o.fps ?? 24;
  const frames = o.frames ?? 48;
  const noise = o.noise ?? 24;
  if (width % 2 || height % 2 || width > 1920 || height > 1080 || frames < 1 || frames > 240) throw new Error('noisyClip: even size up to 1920×1080, 1–240 frames');
  const path = join(tmpdir(), `shoal-noise-${width}x${height}-${fps}-${frames}-${noise}.y4m`);
  if (existsSync(path)) return path;
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
    const ySize = width * height;
    const cSize = (width / 2) * (height / 2);
    const frame = Buffer.alloc(ySize + 2 * cSize);
    let seed = 0x2545f491;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x1_0000_0000;
    };
    for (let f = 0; f < frames; f++) {
      const shift = Math.round((f * width) / frames); // bars move one width per loop
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const bar = (((x + shift) / 80) | 0) % 2 === 0 ? 170 : 70;
          const shade = bar + ((y * 40) / height) | 0;
          const v = shade + (rand() - 0.5) * 2 * noise;
          frame[y * width + x] = v < 16 ? 16 : v > 235 ? 235 : v;
        }
      }
      for (let i = 0; i < cSize; i++) {
        frame[ySize + i] = 128 + ((rand() - 0.5) * noise) / 2;
        frame[ySize + cSize + i] = 128 + ((rand() - 0.5) * noise) / 2;
      }
      writeSync(fd, 'FRAME\n');
      writeSync(fd, frame);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return path;
}
