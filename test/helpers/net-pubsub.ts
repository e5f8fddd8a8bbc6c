// The common start of the shaped-link loss tests: in a scene with hosts `pub` and `sub`, a ts-client 0.5.0
// publisher sends 1280×720 video (detail hint) and audio, and a 0.5.0 subscriber on the other host decodes it.
import { joinC5, publishC5 } from './media-page.js';
import type { NetScene } from './net-scene.js';
import { waitForSample } from './net-stats.js';
import type { Page } from './browser.js';

/** Joins both pages to a new room, publishes, and waits until the subscriber has decoded 48 frames. */
export async function publishToSubscriber(scene: NetScene): Promise<{ pub: Page; sub: Page }> {
  const roomId = await scene.room();
  const [pub, sub] = await Promise.all([scene.page('pub', 'c5'), scene.page('sub', 'c5')]);
  await joinC5(pub, { host: scene.shoal.host, token: await scene.token(roomId), name: 'pub' });
  await joinC5(sub, { host: scene.shoal.host, token: await scene.token(roomId), name: 'sub' });
  await publishC5(pub, { video: true, audio: true, width: 1280, height: 720, contentHint: 'detail' });
  await waitForSample(sub, (x) => x.framesDecoded > 48, 'the subscriber decoding', 30_000);
  return { pub, sub };
}
