import { setFlagsFromString } from 'node:v8';
import { run } from './main.js';
import { graceScale, StopController } from './stop.js';
import { log } from './untrusted.js';

// WebAssembly (undici's HTTP parser, libsodium) runs in V8's baseline tier until it is hot, then V8
// recompiles it with its optimizing tier in the background: about 40 ms for the parser's main
// function, which gets hot near the end of a run. A process this short never uses that code, and
// V8's teardown waits for the compilation: every run ended some 20 ms after its last request. A
// tiering budget no run reaches keeps the baseline code, ample for a few small answers and seals.
// Read when a WebAssembly instance is created, so it is set before the first request.
setFlagsFromString('--wasm-tiering-budget=2000000000');

// SIGINT and SIGTERM ask the run to stop instead of ending the process (src/stop.ts).
const stop = new StopController({ scale: graceScale(process.env) });
stop.install((signal, ms) =>
  log.warn(
    `Received ${signal}: stopping. The runner ends this step in about ${Math.round(ms / 100) / 10} s.`,
  ),
);
await run(stop);
