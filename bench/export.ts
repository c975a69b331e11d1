/**
 * Export of a 1,000-step record to every training format: `scrubSample` then `projectSample`, as `aiev export`
 * does it (src/cli/export.ts; scrubbing is on by default), for each of `EXPORT_FORMATS`.
 *
 * The record: 1,000 model turns (each with its tool call: executions, edits, reruns, read_notebook, final_answer)
 * re-recorded through `SessionRecorder` from units of the run's real scripted sessions, with `%pip install` turns,
 * images (real PNGs from the kernel), real tracebacks and two planted secrets in a printed `.env` (see
 * bench/records.ts); `buildFinalNotebook` over all steps; it passes `validateSample`.
 *
 * Per run: the baseline, `JSON.stringify` of the same record, then every format (in an order rotated from run to
 * run): `scrubSample(record)` timed, then `projectSample(clean, format)` timed. Keys:
 * - `export_1000_steps_ms`: the headline, the "export of a 1,000-step record to every format", read as the
 *   total: the sum over the formats of scrub + project (each `aiev export --format F` scrubs), median over runs;
 * - `export_1000_steps_<format>_ms`: one format (scrub + project), median; `…_max_format_ms`: the slowest format
 *   (the per-format reading of the goal);
 * - `export_1000_steps_scrub_ms` and `export_scrub_share`: scrubbing, and its share of the total;
 * - `export_1000_steps_scrub_once_ms`: one scrub plus every projection (what a multi-format export could cost);
 * - `export_1000_steps_ratio_vs_stringify`: total / stringify (medians).
 * - `scrub_50mb_text_ms` / `scrub_50mb_text_mb_per_s`: `scrubText` over one 50 MB text (the record's JSON, repeated;
 *   images included, as a text holds them), the median of 3 runs: the scrubber's speed on plain text, beside it.
 * Not timed here, noted in the details: what `aiev export` also does (JSON.parse, validateSample).
 */
import { EXPORT_FORMATS, ExportFormat, projectSample } from '../src/trace/projections';
import { scrubSample, scrubText } from '../src/trace/scrub';
import { validateSample } from '../src/trace/validate';
import { fmt, IBenchContext, IBenchModule, IModuleResult, IRow, msWithP90, nowMs, ratio, stats } from './common';
import { composeRecord, describeRecord, realSessions, unitPool } from './records';

const TURNS = 1000;
const RUNS = 7;

const keyOf = (format: ExportFormat) => format.replace(/-/g, '_');

export const exportBench: IBenchModule = {
  name: 'export',
  title: `export of a ${TURNS}-step record to every format (scrubSample + projectSample)`,
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    const { samples, ms: sessionsMs } = await realSessions(ctx);
    const t0 = nowMs();
    const record = composeRecord(unitPool(samples), { turns: TURNS, seed: 1000 });
    const buildMs = nowMs() - t0;
    const shape = describeRecord(record);
    ctx.log(`  record: ${shape.turns} turns, ${shape.steps} steps, ${shape.mb} MB (built in ${fmt(buildMs)} ms)`);

    const formats = [...EXPORT_FORMATS];
    const scrub: Record<string, number[]> = Object.fromEntries(formats.map(f => [f, []]));
    const project: Record<string, number[]> = Object.fromEntries(formats.map(f => [f, []]));
    const totals: number[] = [];
    const stringifyTimes: number[] = [];
    const parseTimes: number[] = [];
    const validateTimes: number[] = [];
    const outputChars: Record<string, number> = {};
    let redactions = 0;
    for (let run = -1; run < RUNS; run++) {
      // run -1 is the warm-up (JIT, the schema compiled); the format order rotates so no format always goes first.
      let t = nowMs();
      const text = JSON.stringify(record);
      const stringifyMs = nowMs() - t;
      t = nowMs();
      const parsed = JSON.parse(text);
      const parseMs = nowMs() - t;
      t = nowMs();
      const valid = validateSample(parsed).valid;
      const validateMs = nowMs() - t;
      if (!valid) {
        throw new Error('the composed record does not validate');
      }
      let total = 0;
      for (let i = 0; i < formats.length; i++) {
        const format = formats[(i + Math.max(0, run)) % formats.length];
        t = nowMs();
        const clean = scrubSample(record);
        const scrubMs = nowMs() - t;
        t = nowMs();
        const out = projectSample(clean, format);
        const projectMs = nowMs() - t;
        total += scrubMs + projectMs;
        if (run >= 0) {
          scrub[format].push(scrubMs);
          project[format].push(projectMs);
        }
        outputChars[format] = out.length;
        redactions = clean.redactions.length - record.redactions.length;
      }
      if (run >= 0) {
        totals.push(total);
        stringifyTimes.push(stringifyMs);
        parseTimes.push(parseMs);
        validateTimes.push(validateMs);
      }
    }

    const bigText = JSON.stringify(record).repeat(Math.ceil((50 * 2 ** 20) / JSON.stringify(record).length)).slice(0, 50 * 2 ** 20);
    const bigTimes: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t = nowMs();
      scrubText(bigText, { homeDirs: [], env: {} });
      bigTimes.push(nowMs() - t);
    }
    const big = stats(bigTimes);

    const total = stats(totals);
    const stringify = stats(stringifyTimes);
    const allScrub = stats(formats.flatMap(f => scrub[f]));
    const perFormat = formats.map(f => {
      const sum = scrub[f].map((s, i) => s + project[f][i]);
      return { format: f, total: stats(sum), scrub: stats(scrub[f]), project: stats(project[f]), outputMb: outputChars[f] / 2 ** 20 };
    });
    const slowest = perFormat.reduce((a, b) => (b.total.median > a.total.median ? b : a));
    const projectSum = perFormat.reduce((n, p) => n + p.project.median, 0);
    const scrubOnce = Math.round((allScrub.median + projectSum) * 1000) / 1000;
    const scrubShare = ratio(
      formats.reduce((n, f) => n + scrub[f].reduce((a, b) => a + b, 0), 0),
      totals.reduce((a, b) => a + b, 0)
    );

    const rows: IRow[] = [
      {
        item: `record: ${TURNS} turns (${shape.steps} steps)`,
        value: `${shape.mb} MB`,
        versus: `${shape.executions} executions (${shape.errors} errors, ${shape.installs} installs, ${shape.images} PNGs), ${shape.notebook_cells} notebook cells`
      },
      {
        item: 'export to every format (6 x scrub + project)',
        value: msWithP90(total),
        versus: `${ratio(total.median, stringify.median)}x JSON.stringify (${fmt(stringify.median)} ms); scrub ${Math.round((scrubShare ?? 0) * 100)}%`
      },
      ...perFormat.map(p => ({
        item: `  ${p.format}`,
        value: msWithP90(p.total),
        versus: `scrub ${fmt(p.scrub.median)} + project ${fmt(p.project.median)} ms; ${ratio(p.total.median, stringify.median)}x stringify; ${p.outputMb.toFixed(2)} MB out`
      })),
      {
        item: 'one scrub + every projection',
        value: `${fmt(scrubOnce)} ms`,
        versus: `scrub ${fmt(allScrub.median)} + projections ${fmt(projectSum)} ms`
      },
      { item: 'scrubText of one 50 MB text', value: `${fmt(big.median)} ms`, versus: `${fmt(50 / (big.median / 1000))} MB/s (the record's JSON, repeated)` }
    ];
    return {
      keys: {
        export_1000_steps_ms: total.median,
        export_1000_steps_ms_p90: total.p90,
        export_1000_steps_ratio_vs_stringify: ratio(total.median, stringify.median),
        export_1000_steps_max_format_ms: slowest.total.median,
        export_1000_steps_scrub_ms: allScrub.median,
        export_scrub_share: scrubShare,
        export_1000_steps_scrub_once_ms: scrubOnce,
        export_1000_steps_stringify_ms: stringify.median,
        export_1000_steps_record_mb: shape.mb,
        scrub_50mb_text_ms: big.median,
        scrub_50mb_text_mb_per_s: Math.round((50 / (big.median / 1000)) * 10) / 10,
        ...Object.fromEntries(perFormat.map(p => [`export_1000_steps_${keyOf(p.format)}_ms`, p.total.median]))
      },
      rows,
      details: {
        runs: RUNS,
        record: shape,
        record_build_ms: Math.round(buildMs),
        real_sessions_ms: sessionsMs,
        redactions_found: redactions,
        stringify,
        total,
        per_format: perFormat,
        scrub: allScrub,
        not_in_the_total: { json_parse_ms: stats(parseTimes).median, validate_ms: stats(validateTimes).median }
      },
      notes: [
        `export_1000_steps_ms is the total over the ${formats.length} formats (each export scrubs); slowest single format ` +
          `${slowest.format} ${fmt(slowest.total.median)} ms`
      ]
    };
  }
};
