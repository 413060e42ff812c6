import type { LayerProgress } from "./layer-streams.js";

/**
 * Per-layer progress on a TTY (one line rewritten in place, at most every 100 ms); returns
 * undefined when `stream` is not a TTY so non-interactive runs stay quiet.
 */
export function ttyProgress(stream: NodeJS.WriteStream): ((p: { platform: string } & LayerProgress) => void) | undefined {
  if (!stream.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 100 && p.bytes !== p.total) return;
    last = now;
    const mb = (n: number): string => (n / 1048576).toFixed(1);
    stream.write(`\r\x1b[K${p.platform} layer ${p.layer}/${p.layers} ${p.digest.slice(7, 19)} ${mb(p.bytes)}/${mb(p.total)} MiB${p.copying ? " (copying)" : ""}`);
    if (p.bytes === p.total && p.layer === p.layers) stream.write("\n");
  };
}
