// Loaded into a bench child with `--import` (or run alone as the floor: a bare Node process). On
// the parent's "measure" message it runs a full GC (the child runs with --expose-gc) and answers
// with process.memoryUsage(), so the figure is the live set, not garbage awaiting collection.
// Plain JavaScript: it must load into the compiled server, where there is no tsx.
process.on('message', (msg) => {
  if (msg !== 'measure') return;
  globalThis.gc?.();
  globalThis.gc?.();
  process.send?.({ gc: typeof globalThis.gc === 'function', ...process.memoryUsage() });
});
