/**
 * The classroom report as one self-contained HTML page (no script, no external file): the table per student and
 * notebook, and three charts drawn as inline SVG — verdicts per student, errors by type, agent turns per session.
 */
import type { Verdict } from '../trace/types';
import { formatDuration, IClassroomReport } from './classroom';

const VERDICT_COLOURS: [Verdict, string][] = [
  ['verified', '#2e7d32'],
  ['diverged', '#ef6c00'],
  ['failed', '#c62828'],
  ['unverified', '#9e9e9e']
];

/** One bar: its label and stacked parts. */
interface IBar {
  label: string;
  parts: { value: number; colour: string; name: string }[];
}

/** `text` safe inside HTML and SVG. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Horizontal stacked bars as an SVG element, labelled for screen readers by `title`. */
function barChart(title: string, bars: IBar[], empty = 'None.'): string {
  if (!bars.length) {
    return `<figure><figcaption>${escapeHtml(title)}</figcaption><p class="empty" role="img" aria-label="${escapeHtml(title)}">${escapeHtml(empty)}</p></figure>`;
  }
  const rowHeight = 22;
  const labelWidth = 140;
  const width = 520;
  const max = Math.max(1, ...bars.map(bar => bar.parts.reduce((n, p) => n + p.value, 0)));
  const scale = (width - labelWidth - 40) / max;
  const height = Math.max(1, bars.length) * rowHeight + 8;
  const rows = bars.map((bar, i) => {
    const y = 4 + i * rowHeight;
    let x = labelWidth;
    const rects = bar.parts
      .filter(part => part.value > 0)
      .map(part => {
        const rect = `<rect x="${x}" y="${y}" width="${(part.value * scale).toFixed(1)}" height="${rowHeight - 6}" fill="${part.colour}"><title>${escapeHtml(`${bar.label}: ${part.value} ${part.name}`)}</title></rect>`;
        x += part.value * scale;
        return rect;
      });
    const total = bar.parts.reduce((n, p) => n + p.value, 0);
    return (
      `<text x="${labelWidth - 6}" y="${y + rowHeight / 2}" text-anchor="end" dominant-baseline="middle">${escapeHtml(bar.label)}</text>` +
      rects.join('') +
      `<text x="${x + 4}" y="${y + rowHeight / 2}" dominant-baseline="middle">${total}</text>`
    );
  });
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${rows.join('')}</svg></figure>`;
}

function legend(): string {
  return `<p class="legend">${VERDICT_COLOURS.map(([name, colour]) => `<span><i style="background:${colour}"></i>${name}</span>`).join('')}</p>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#212121}
h1{font-size:20px}.empty{color:#616161}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}
th:nth-child(-n+2),td:nth-child(-n+2),th:nth-child(12),td.packages{text-align:left}
figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:4px}svg text{font-size:12px;fill:#212121}
.charts{display:flex;flex-wrap:wrap;gap:24px}.legend span{margin-right:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}.muted{color:#757575}`;

/** The whole report page. */
export function reportHtml(report: IClassroomReport): string {
  const columns = ['Student', 'Notebook', 'Sessions', 'Questions', 'Agent turns', 'Errors', 'Fixed', 'Verified', 'Diverged', 'Failed', 'Unverified', 'Packages installed', 'Time'];
  const rows = report.rows.map(row =>
    [
      row.student,
      row.notebook,
      row.sessions,
      row.questions,
      row.turns,
      row.errors,
      row.fixes,
      ...VERDICT_COLOURS.map(([v]) => row.verdicts[v]),
      row.packages.join(', ') || '–',
      formatDuration(row.seconds)
    ]
      .map((cell, i) => `<td${i === 11 ? ' class="packages"' : ''}>${escapeHtml(String(cell))}</td>`)
      .join('')
  );
  const verdicts = barChart(
    'Verdicts per student',
    report.per_student.map(row => ({ label: row.student, parts: VERDICT_COLOURS.map(([name, colour]) => ({ value: row.verdicts[name], colour, name })) }))
  );
  const errors = barChart(
    'Errors by type',
    Object.entries(report.errors_by_type).map(([name, n]) => ({ label: name, parts: [{ value: n, colour: '#c62828', name: 'errors' }] })),
    'No errors: every cell the agent ran worked.'
  );
  const turns = barChart(
    'Agent turns per session',
    Object.entries(report.turns_histogram).map(([bin, n]) => ({ label: `${bin} turns`, parts: [{ value: n, colour: '#1565c0', name: 'sessions' }] }))
  );
  const sessions = report.rows.reduce((n, r) => n + r.sessions, 0);
  const skipped = report.skipped.length
    ? `<h2>Skipped files</h2><ul>${report.skipped.map(s => `<li>${escapeHtml(s.path)}: ${escapeHtml(s.reason)}</li>`).join('')}</ul>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>AIEV classroom report</title><style>${STYLE}</style></head>
<body><h1>AIEV classroom report</h1>
<p>${report.students.length} students, ${report.notebooks.length} notebooks, ${sessions} sessions. <span class="muted">${escapeHtml(report.folder)} · ${escapeHtml(report.generated_at)}</span></p>
<table><thead><tr>${columns.map(c => `<th scope="col">${c}</th>`).join('')}</tr></thead><tbody>
${rows.map(r => `<tr>${r}</tr>`).join('\n')}
</tbody></table>
<h2>Charts</h2>${legend()}<div class="charts">${verdicts}${errors}${turns}</div>${skipped}
</body></html>
`;
}
