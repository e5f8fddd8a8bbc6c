// ICE-lite responder for one peer (RFC 8445 §2.5): answers STUN Binding requests that carry our
// ufrag and a valid MESSAGE-INTEGRITY, and reports nomination (USE-CANDIDATE). Keeps the previous
// credentials alive across an ICE restart until the client uses the new ones. It sends nothing by itself
// and knows nothing about DTLS or media.
import { randomBytes } from 'node:crypto';
import {
  Attr,
  StunClass,
  StunMethod,
  decodeStun,
  encodeErrorCode,
  encodeStun,
  encodeXorAddress,
  getAttr,
  verifyIntegrity,
  type TransportAddress,
} from '../../turn/stun-message.js';

export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

export type BindingResult =
  /** `current`: the request used the newest local credentials (an ICE restart has been taken up). */
  | { kind: 'response'; response: Buffer; nominated: boolean; current: boolean }
  | { kind: 'error'; response: Buffer }
  | { kind: 'ignore' };

function newCredentials(): IceCredentials {
  // ufrag ≥ 4 chars, pwd ≥ 22 chars from the ice-char set (RFC 8839).
  return { ufrag: randomBytes(6).toString('base64url').replace(/[-_]/g, 'x'), pwd: randomBytes(18).toString('base64url').replace(/[-_]/g, 'y') };
}

export class IceLite {
  private current: IceCredentials = newCredentials();
  private previous: IceCredentials | undefined;

  get local(): IceCredentials {
    return this.current;
  }

  /** New local credentials (every renegotiation after the first, as ts-client 0.5.0 restarts ICE). */
  restart(): IceCredentials {
    this.previous = this.current;
    this.current = newCredentials();
    return this.current;
  }

  /** Handles a STUN message; `source` is the address the request appears to come from. */
  handle(data: Buffer, source: TransportAddress): BindingResult {
    let msg;
    try {
      msg = decodeStun(data);
    } catch {
      return { kind: 'ignore' };
    }
    if (msg.method !== StunMethod.Binding) return { kind: 'ignore' };
    if (msg.cls === StunClass.Indication) return { kind: 'ignore' }; // keepalive
    if (msg.cls !== StunClass.Request) return { kind: 'ignore' };
    const username = getAttr(msg, Attr.Username)?.toString('utf8') ?? '';
    const localUfrag = username.split(':')[0];
    const creds = localUfrag === this.current.ufrag ? this.current : localUfrag === this.previous?.ufrag ? this.previous : undefined;
    const error = (code: number, reason: string) =>
      encodeStun({ method: StunMethod.Binding, cls: StunClass.ErrorResponse, transactionId: msg.transactionId, attributes: [{ type: Attr.ErrorCode, value: encodeErrorCode(code, reason) }] }, { fingerprint: true });
    if (!creds) return { kind: 'error', response: error(401, 'Unauthorized') };
    const key = Buffer.from(creds.pwd, 'utf8');
    if (!verifyIntegrity(msg, key)) return { kind: 'error', response: error(401, 'Unauthorized') };
    const current = creds === this.current;
    if (current) this.previous = undefined;
    const response = encodeStun(
      {
        method: StunMethod.Binding,
        cls: StunClass.SuccessResponse,
        transactionId: msg.transactionId,
        attributes: [{ type: Attr.XorMappedAddress, value: encodeXorAddress(source, msg.transactionId) }],
      },
      { integrityKey: key, fingerprint: true },
    );
    return { kind: 'response', response, nominated: getAttr(msg, Attr.UseCandidate) !== undefined, current };
  }
}
