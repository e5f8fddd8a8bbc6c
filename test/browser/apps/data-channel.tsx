// Page app for test/browser/data-channels-react.test.ts: joins a room with react-client 0.25.1's
// useConnection, opens data channels with useDataChannel, and reports what it receives through
// window.pushEvent. Settings come from the query string: fishjamId (Shoal's origin), token, name.
// Tests drive it through window.app (publish / initialize), set once the hooks are mounted.
import { FishjamProvider, useConnection, useDataChannel } from '@fishjam-cloud/react-client';
import { useEffect } from 'react';
import { createRoot } from 'react-dom/client';

const params = new URLSearchParams(location.search);
const decoder = new TextDecoder();

interface AppControls {
  initialize(): void;
  publish(text: string, reliable: boolean): void;
}

declare global {
  interface Window {
    app?: AppControls;
  }
}

function DataChannelPeer() {
  const { joinRoom, peerStatus } = useConnection();
  const { initializeDataChannel, publishData, subscribeData, dataChannelReady, dataChannelError } = useDataChannel();

  useEffect(() => {
    joinRoom({ peerToken: params.get('token') ?? '', peerMetadata: { name: params.get('name') ?? 'react' } }).catch((e: unknown) =>
      window.pushEvent('joinFailed', { error: String(e) }),
    );
  }, []);

  useEffect(() => {
    window.pushEvent('peerStatus', { status: peerStatus });
  }, [peerStatus]);

  useEffect(() => {
    const reliable = subscribeData((data) => window.pushEvent('data', { channel: 'reliable', text: decoder.decode(data) }), { reliable: true });
    const lossy = subscribeData((data) => window.pushEvent('data', { channel: 'lossy', text: decoder.decode(data) }), { reliable: false });
    return () => {
      reliable();
      lossy();
    };
  }, [subscribeData]);

  useEffect(() => {
    window.pushEvent('dataChannelReady', { ready: dataChannelReady });
  }, [dataChannelReady]);

  useEffect(() => {
    if (dataChannelError) window.pushEvent('dataChannelError', { message: dataChannelError.message });
  }, [dataChannelError]);

  useEffect(() => {
    window.app = {
      initialize: () => initializeDataChannel(),
      publish: (text, reliable) => publishData(new TextEncoder().encode(text), { reliable }),
    };
  }, [initializeDataChannel, publishData]);

  return <p>{peerStatus}</p>;
}

createRoot(document.getElementById('root')!).render(
  <FishjamProvider fishjamId={params.get('fishjamId') ?? ''} reconnect={false}>
    <DataChannelPeer />
  </FishjamProvider>,
);
