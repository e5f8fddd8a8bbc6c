// How the TURN server answers a STUN request: success and error responses (ERROR-CODE first, then any
// extra attributes) echoing the request's method and transaction id, always with SOFTWARE and
// FINGERPRINT, and signed with MESSAGE-INTEGRITY when the request was authenticated.
// What it must not do: decide which response a request gets, or sign with anything but the key given.
import { VERSION } from '../version.js';
import { encodeErrorCode } from './stun-attributes.js';
import { encodeStun, type DecodedStun, type StunAttribute } from './stun-message.js';
import { Attr, StunClass } from './stun-protocol.js';
import type { ClientConn } from './turn-sockets.js';

export class StunResponder {
  private readonly software = Buffer.from(`Shoal ${VERSION}`, 'utf8');

  success(conn: ClientConn, req: DecodedStun, attributes: StunAttribute[], key?: Buffer): void {
    this.respond(conn, req, StunClass.SuccessResponse, attributes, key);
  }

  error(conn: ClientConn, req: DecodedStun, code: number, reason: string, key?: Buffer, extra: StunAttribute[] = []): void {
    this.respond(conn, req, StunClass.ErrorResponse, [{ type: Attr.ErrorCode, value: encodeErrorCode(code, reason) }, ...extra], key);
  }

  private respond(conn: ClientConn, req: DecodedStun, cls: StunClass, attributes: StunAttribute[], key?: Buffer): void {
    const msg = {
      method: req.method,
      cls,
      transactionId: req.transactionId,
      attributes: [...attributes, { type: Attr.Software, value: this.software }],
    };
    conn.send(encodeStun(msg, { integrityKey: key, fingerprint: true }));
  }
}
