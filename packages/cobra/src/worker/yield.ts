/**
 * Lets the worker handle queued messages. onnxruntime-web's WASM runs resolve through microtasks only, so a
 * generation loop never returns to the event loop by itself: without this, a "stop" message would wait until
 * the whole answer is done. A MessageChannel message is a task, and unlike setTimeout it is not clamped to 4 ms.
 */
export function createEventLoopYield(): () => Promise<void> {
  if (typeof MessageChannel === "undefined") return () => new Promise((resolve) => setTimeout(resolve, 0));
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  // Node keeps a process alive while a port is referenced; browsers have no unref.
  (channel.port1 as { unref?: () => void }).unref?.();
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    });
}
