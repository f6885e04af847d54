// Types for the undici files that src/undici.ts loads by path (undici declares only its index).
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici/types/index.js';
  const A: typeof Agent;
  export default A;
}
declare module 'undici/lib/dispatcher/proxy-agent.js' {
  import type { ProxyAgent } from 'undici/types/index.js';
  const P: typeof ProxyAgent;
  export default P;
}
declare module 'undici/lib/api/api-request.js' {
  const request: unknown;
  export default request;
}
declare module 'undici/lib/web/fetch/index.js' {
  export const fetch: unknown;
}
