// Decoding of binary WebSocket frames into protobuf messages; undecodable input yields undefined
// instead of throwing, so garbage from a client can never crash a socket handler.
import { fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { RawData } from 'ws';

export function frameBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

export function decodeFrame<Desc extends DescMessage>(schema: Desc, data: RawData): MessageShape<Desc> | undefined {
  try {
    return fromBinary(schema, frameBytes(data));
  } catch {
    return undefined;
  }
}
