// The data channels a peer has open, as its media session reports them, and the ChannelAdded /
// ChannelRemoved notifications that follow: each channel is added once and removed once, and whatever is
// still open when the peer's media session ends is removed then. Plain state on the Peer; no I/O.
import type { Notification } from './notifications.js';
import type { Peer } from './peer.js';

type Notify = (n: Notification) => void;

/** The session reported a channel opened or closed (`channelId` is its label). */
export function dataChannelChanged(peer: Peer, roomId: string, channelId: string, change: 'added' | 'removed', notify: Notify): void {
  if (change === 'added') {
    if (peer.dataChannels.has(channelId)) return;
    peer.dataChannels.add(channelId);
    notify({ type: 'channelAdded', roomId, peerId: peer.id, channelId });
  } else if (peer.dataChannels.delete(channelId)) {
    notify({ type: 'channelRemoved', roomId, peerId: peer.id, channelId });
  }
}

/** The peer's media session ended: every channel still open is removed. */
export function dataChannelsClosed(peer: Peer, roomId: string, notify: Notify): void {
  for (const channelId of peer.dataChannels) notify({ type: 'channelRemoved', roomId, peerId: peer.id, channelId });
  peer.dataChannels.clear();
}
