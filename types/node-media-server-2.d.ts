// Ambient type for node-media-server 2.7.4, installed for tests and benches as the npm alias
// `node-media-server-2`. The plugin never imports it by name: the NMS 2.7 adapter loads the internals of
// whatever copy made the instance it is given (plugin/src/hosts/nms2/nms2-internals.ts).

declare module "node-media-server-2" {
  class NodeMediaServer {
    constructor(config: Record<string, unknown>);
    readonly config: Record<string, unknown>;
    run(): void;
    stop(): void;
    on(event: string, listener: (id: string, streamPath: string, args: Record<string, unknown>) => void): void;
    getSession(id: string): { reject(): void } | undefined;
  }
  export = NodeMediaServer;
}
