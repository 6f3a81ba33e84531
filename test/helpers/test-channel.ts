/** Small, fast test channels: a tiny picture and 1 s segments keep the suite quick on 2 cores. */
export function testChannel(id: string) {
  return {
    id,
    source: { type: "testPattern", width: 160, height: 120, fps: 15 },
    transcode: { mode: "h264", videoBitrateKbps: 150, audioBitrateKbps: 32, preset: "ultrafast" },
    hls: { segmentSec: 1, listSize: 4 },
  };
}
