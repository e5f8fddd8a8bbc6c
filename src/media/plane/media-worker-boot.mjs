// Entry of a media worker thread: TypeScript sources run through tsx, which a worker does not inherit
// from the main thread's loader, so it is registered here before the worker module is imported.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
