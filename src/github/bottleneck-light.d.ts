// bottleneck/light.js, the build @octokit/plugin-retry and @octokit/plugin-throttling import, ships no
// types; scheduler.ts needs only the class and its version.
declare module 'bottleneck/light.js' {
  export default class Bottleneck {
    static readonly version: string;
  }
}
