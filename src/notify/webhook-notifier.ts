// Sends each room's notifications to the room's webhookUrl (one protobuf ServerMessage per request,
// in order per room) through the WebhookSender. Remembers a room's URL from RoomCreated until its
// RoomDeleted/RoomCrashed has been queued. Knows nothing about rooms beyond the notifications.
import type { NotificationBus } from '../room/notifications.js';
import { encodeNotification } from './server-message.js';
import type { WebhookSender } from './webhook-sender.js';

export class WebhookNotifier {
  private readonly urls = new Map<string, string>();
  private readonly unsubscribe: () => void;

  constructor(bus: NotificationBus, private readonly sender: WebhookSender) {
    this.unsubscribe = bus.subscribe((n) => {
      if (n.type === 'roomCreated' && n.webhookUrl) this.urls.set(n.roomId, n.webhookUrl);
      const url = this.urls.get(n.roomId);
      if (url === undefined) return;
      this.sender.enqueue(n.roomId, url, encodeNotification(n));
      if (n.type === 'roomDeleted' || n.type === 'roomCrashed') this.urls.delete(n.roomId);
    });
  }

  close(): void {
    this.unsubscribe();
  }
}
