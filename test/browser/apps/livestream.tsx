// Page app for test/browser/livestream.test.ts: react-client 0.25.1's livestream hooks against Shoal.
// role=streamer: useLivestreamStreamer publishes the fake camera and microphone (getUserMedia) with the
// streamer token; role=viewer: useLivestreamViewer plays the stream (with the viewer token, or streamId for
// a public room) in a muted <video>. Query: fishjamId (Shoal's origin), role, token, streamId. Tests call
// window.live.connect() / disconnect() and window.live.stats() (the page's RTCPeerConnections' inbound and
// outbound RTP, gathered by wrapping the RTCPeerConnection constructor); state goes out via window.pushEvent.
import { FishjamProvider, useLivestreamStreamer, useLivestreamViewer } from '@fishjam-cloud/react-client';
import { useEffect, useRef } from 'react';
import { createRoot } from 'react-dom/client';

const params = new URLSearchParams(location.search);
const role = params.get('role') ?? 'viewer';
const token = params.get('token') ?? '';
const streamId = params.get('streamId') ?? '';

interface LiveStats {
  videoWidth: number;
  audioPacketsReceived: number;
  videoPacketsReceived: number;
  audioPacketsSent: number;
  videoPacketsSent: number;
}

interface LiveControls {
  connect(): Promise<void>;
  disconnect(): void;
  stats(): Promise<LiveStats>;
  /** MIME types of the codecs the page's connections receive with. */
  codecs(): Promise<string[]>;
}

declare global {
  interface Window {
    live?: LiveControls;
  }
}

// Every peer connection the hooks make, for getStats (the hooks do not expose theirs).
const connections: RTCPeerConnection[] = [];
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor(config?: RTCConfiguration) {
    super(config);
    connections.push(this);
  }
} as typeof RTCPeerConnection;

async function inboundCodecs(): Promise<string[]> {
  const out = new Set<string>();
  for (const pc of connections) {
    if (pc.connectionState === 'closed') continue;
    const byId = new Map<string, { type: string; codecId?: string; mimeType?: string }>();
    (await pc.getStats()).forEach((r: { id: string; type: string; codecId?: string; mimeType?: string }) => byId.set(r.id, r));
    for (const r of byId.values()) {
      const mime = r.type === 'inbound-rtp' && r.codecId ? byId.get(r.codecId)?.mimeType : undefined;
      if (mime) out.add(mime);
    }
  }
  return [...out].sort();
}

async function rtpStats(): Promise<Omit<LiveStats, 'videoWidth'>> {
  const out = { audioPacketsReceived: 0, videoPacketsReceived: 0, audioPacketsSent: 0, videoPacketsSent: 0 };
  for (const pc of connections) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((r: { type: string; kind?: string; packetsReceived?: number; packetsSent?: number }) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audioPacketsReceived += r.packetsReceived ?? 0;
      if (r.type === 'inbound-rtp' && r.kind === 'video') out.videoPacketsReceived += r.packetsReceived ?? 0;
      if (r.type === 'outbound-rtp' && r.kind === 'audio') out.audioPacketsSent += r.packetsSent ?? 0;
      if (r.type === 'outbound-rtp' && r.kind === 'video') out.videoPacketsSent += r.packetsSent ?? 0;
    });
  }
  return out;
}

function Streamer() {
  const { connect, disconnect, error, isConnected } = useLivestreamStreamer();
  useEffect(() => window.pushEvent('connected', { connected: isConnected }), [isConnected]);
  useEffect(() => {
    if (error) window.pushEvent('error', { error });
  }, [error]);
  useEffect(() => {
    window.live = {
      connect: async () => {
        const media = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        await connect({ inputs: { video: media, audio: media }, token });
        window.pushEvent('connectReturned', {});
      },
      disconnect,
      stats: async () => ({ videoWidth: 0, ...(await rtpStats()) }),
      codecs: inboundCodecs,
    };
  }, [connect, disconnect]);
  return <p>streamer</p>;
}

function Viewer() {
  const { connect, disconnect, error, isConnected, stream } = useLivestreamViewer();
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => window.pushEvent('connected', { connected: isConnected }), [isConnected]);
  useEffect(() => {
    if (error) window.pushEvent('error', { error });
  }, [error]);
  useEffect(() => {
    if (!video.current || !stream) return;
    video.current.srcObject = stream;
    video.current.play().catch((e: unknown) => window.pushEvent('playFailed', { error: String(e) }));
    window.pushEvent('stream', { tracks: stream.getTracks().map((t) => t.kind).sort() });
  }, [stream]);
  useEffect(() => {
    window.live = {
      connect: async () => {
        await connect(streamId ? { streamId } : { token });
        window.pushEvent('connectReturned', {});
      },
      disconnect,
      stats: async () => ({ videoWidth: video.current?.videoWidth ?? 0, ...(await rtpStats()) }),
      codecs: inboundCodecs,
    };
  }, [connect, disconnect]);
  return <video ref={video} muted autoPlay playsInline />;
}

createRoot(document.getElementById('root')!).render(
  <FishjamProvider fishjamId={params.get('fishjamId') ?? ''}>{role === 'streamer' ? <Streamer /> : <Viewer />}</FishjamProvider>,
);
