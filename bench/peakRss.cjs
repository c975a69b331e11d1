/**
 * Preloaded into the measured `aiev run` (node --expose-gc -r bench/peakRss.cjs): at exit, writes to
 * $AIEV_BENCH_RSS_FILE this process's resource usage (getrusage RUSAGE_SELF: maxRSS in KiB, CPU times) and, after a
 * full GC, the heap still in use (what the run retains, as opposed to garbage not yet collected at the peak).
 * Only the Node process itself: the Jupyter server and kernel it starts are separate processes.
 */
'use strict';
const file = process.env.AIEV_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    if (typeof global.gc === 'function') {
      global.gc();
    }
    const memory = process.memoryUsage();
    require('fs').writeFileSync(file, JSON.stringify({ ...usage, heapUsedAfterGc: memory.heapUsed, rssAtExit: memory.rss }));
  });
}
