import type * as nbformat from '@jupyterlab/nbformat';

import { APPROX_DIRTY_CHARS, DEFAULT_MODEL_BUDGET_CHARS, shapeOutputs } from '../../src/agent/shaping';
import {
  applyBackspaces,
  cleanTerminalText,
  collapseCarriageReturns,
  countNewlines,
  htmlToText,
  stripAnsi
} from '../../src/agent/terminalText';
import { ZERO_DIVISION_TRACEBACK } from '../fixtures/tracebacks';

const stdout = (text: string): nbformat.IStream => ({ output_type: 'stream', name: 'stdout', text });
const stderr = (text: string): nbformat.IStream => ({ output_type: 'stream', name: 'stderr', text });
const bundle = (data: nbformat.IMimeBundle): nbformat.IDisplayData => ({
  output_type: 'display_data',
  data,
  metadata: {}
});

const ZERO_DIVISION_TEXT = [
  '---------------------------------------------------------------------------',
  'ZeroDivisionError                         Traceback (most recent call last)',
  'Cell In[1], line 3',
  '      1 def f(x):',
  '      2     return 1 / x',
  '----> 3 f(0)',
  '',
  'Cell In[1], line 2, in f(x)',
  '      1 def f(x):',
  '----> 2     return 1 / x',
  '',
  'ZeroDivisionError: division by zero'
].join('\n');

/** Stream chunks a `\r`-redrawn progress bar produced through ipykernel (one message per redraw). */
const PROGRESS_CHUNKS = [
  '\r  0%|          | 0/100',
  '\r 25%|##        | 25/100',
  '\r 50%|#####     | 50/100',
  '\r 75%|#######   | 75/100',
  '\r100%|##########| 100/100',
  '\n'
];

/** A minimal PNG header (signature + IHDR) for a width x height image, base64. */
function pngHeader(width: number, height: number): string {
  const bytes = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52];
  for (const value of [width, height]) {
    bytes.push((value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255);
  }
  bytes.push(8, 6, 0, 0, 0, 1, 2, 3, 4);
  return btoa(String.fromCharCode(...bytes));
}

const MARKER = /\[\.\.\. (about )?([\d,]+) characters \(([\d,]+) lines?\) cut from the middle of the output \.\.\.\]/;

const toNumber = (digits: string) => Number(digits.replace(/,/g, ''));

describe('terminal text cleanup', () => {
  it('strips the colours of a real IPython traceback', () => {
    expect(stripAnsi(ZERO_DIVISION_TRACEBACK.join('\n'))).toBe(ZERO_DIVISION_TEXT);
  });

  it('strips cursor, erase and OSC hyperlink sequences', () => {
    const hyperlink = '\u001b]8;;https://x.org\u0007link\u001b]8;;\u001b\\';
    expect(stripAnsi(`\u001b[A\u001b[2K\u001b[1;31mred\u001b[0m ${hyperlink} \u001b(B.`)).toBe('red link .');
    expect(stripAnsi('plain text')).toBe('plain text');
  });

  it('keeps the last state of carriage-return progress', () => {
    expect(collapseCarriageReturns('10%\r20%\r100%\n')).toBe('100%\n');
    expect(collapseCarriageReturns(PROGRESS_CHUNKS.join(''))).toBe('100%|##########| 100/100\n');
    expect(collapseCarriageReturns('a\r\nb\r\nc')).toBe('a\nb\nc');
    expect(collapseCarriageReturns('done\r\n\rstill\r')).toBe('done\nstill');
    expect(collapseCarriageReturns('first\nx\ry\rz\nlast')).toBe('first\nz\nlast');
  });

  it('treats a segment of only ANSI codes as empty, as tqdm ends lines', () => {
    expect(cleanTerminalText('\r 50%|#####\u001b[K\r100%|##########\u001b[K\r\u001b[K\n')).toBe('100%|##########\n');
  });

  it('applies backspaces within a line', () => {
    expect(applyBackspaces('abc\b\bX')).toBe('aX');
    expect(applyBackspaces('line\n\bnext')).toBe('line\nnext');
    expect(applyBackspaces('spin|\b/\b-\b\\\bdone')).toBe('spindone');
  });

  it('turns HTML into readable text', () => {
    const html =
      '<style>td {color: red}</style><table>\n  <tr>\n    <th>a</th>\n    <td>1 &amp; 2</td>\n  </tr>\n</table>' +
      '<script>alert(1)</script><p>x&lt;y&nbsp;&#65;&#x42;</p>';
    expect(htmlToText(html)).toBe('a\t1 & 2\n\nx<y AB');
  });

  it('counts line breaks exactly on both of its paths', () => {
    const dense = '1\n22\n\n333\n'.repeat(100_000);
    expect(countNewlines(dense, 0, dense.length)).toBe(400_000);
    expect(countNewlines(dense, 3, dense.length - 5)).toBe(399_997);
    expect(countNewlines('a\nb', 0, 3)).toBe(1);
  });
});

describe('shapeOutputs: rendering', () => {
  it('gives an empty string for no output', () => {
    expect(shapeOutputs([])).toEqual({ text: '', images: [], truncated: false, omittedChars: 0 });
    expect(shapeOutputs([stdout('')]).text).toBe('');
  });

  it('labels stderr and keeps output order', () => {
    expect(shapeOutputs([stdout('out\n'), stderr('warning\n'), stdout('more')]).text).toBe(
      'out\n[stderr]\nwarning\nmore'
    );
  });

  it('collapses a progress bar to its final state', () => {
    expect(shapeOutputs([stderr(PROGRESS_CHUNKS.join('')), stdout('trained\n')]).text).toBe(
      '[stderr]\n100%|##########| 100/100\ntrained'
    );
  });

  it('shows errors as ename: evalue, then the cleaned traceback', () => {
    const error: nbformat.IError = {
      output_type: 'error',
      ename: 'ZeroDivisionError',
      evalue: 'division by zero',
      traceback: ZERO_DIVISION_TRACEBACK
    };
    const shaped = shapeOutputs([stdout('before\n'), error]);
    expect(shaped.text).toBe(`before\nZeroDivisionError: division by zero\n${ZERO_DIVISION_TEXT}`);
    expect(shaped.truncated).toBe(false);
  });

  it.each([
    [{ 'text/markdown': '# Title', 'text/latex': '$x$', 'text/plain': 'p' }, '# Title'],
    [{ 'text/latex': '$x^2$', 'application/json': { a: 1 }, 'text/plain': 'p' }, '$x^2$'],
    [{ 'application/json': { a: [1, 2] }, 'text/plain': 'p' }, '{\n  "a": [\n    1,\n    2\n  ]\n}'],
    [{ 'text/html': '<table><tr><td>1</td></tr></table>', 'text/plain': '   a\n0  1' }, '   a\n0  1'],
    [{ 'text/html': '<b>bold</b> &amp; <i>it</i>' }, 'bold & it'],
    [{ 'application/vnd.custom+json': { x: 1 } }, '[application/vnd.custom+json output omitted]']
  ])('picks the richest text mime of %j', (data, expected) => {
    expect(shapeOutputs([bundle(data as nbformat.IMimeBundle)]).text).toBe(expected);
  });

  it('keeps execute_result text', () => {
    const result: nbformat.IExecuteResult = {
      output_type: 'execute_result',
      execution_count: 3,
      data: { 'text/plain': ['[1,\n', ' 2]'] },
      metadata: {}
    };
    expect(shapeOutputs([result]).text).toBe('[1,\n 2]');
  });

  it('hands images to a vision model with a numbered placeholder', () => {
    const png = pngHeader(640, 480);
    const jpeg = '/9j/' + 'A'.repeat(396);
    const shaped = shapeOutputs(
      [
        bundle({ 'image/png': png + '\n', 'text/plain': '<Figure size 640x480 with 1 Axes>' }),
        bundle({ 'image/jpeg': jpeg })
      ],
      { vision: true }
    );
    expect(shaped.images).toEqual([
      { mime: 'image/png', data: png },
      { mime: 'image/jpeg', data: jpeg }
    ]);
    expect(shaped.text).toBe('[image/png 640x480 #1]\n<Figure size 640x480 with 1 Axes>\n[image/jpeg 300 bytes #2]');
  });

  it('replaces images with a placeholder for a model without vision', () => {
    const shaped = shapeOutputs([bundle({ 'image/png': pngHeader(10, 20), 'text/plain': '<Figure>' })]);
    expect(shaped.images).toEqual([]);
    expect(shaped.text).toBe('[image/png 10x20 output omitted: the model is not vision-capable]\n<Figure>');
  });

  it('does not send SVG as text or as an image', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>';
    const shaped = shapeOutputs([bundle({ 'image/svg+xml': svg })], { vision: true });
    expect(shaped.images).toEqual([]);
    expect(shaped.text).toBe(`[image/svg+xml output omitted: vector image of ${svg.length} characters]`);
  });
});

describe('shapeOutputs: budget', () => {
  const numbered = (count: number) =>
    Array.from({ length: count }, (_, i) => `line ${String(i).padStart(4, '0')}\n`).join('');

  it('keeps head and tail around a marker with exact counts', () => {
    // 1000 lines of 10 characters: 9,999 after the final newline is trimmed. Room 1000 - 120 = 880:
    // the head takes 352, snapped to 35 whole lines (350); the tail 528, snapped to the next line start:
    // 52 lines (519). Cut: 9,999 - 350 - 519 = 9,130 characters, 1000 - 35 - 52 = 913 lines.
    const shaped = shapeOutputs([stdout(numbered(1000))], { budgetChars: 1000 });
    const lines = shaped.text.split('\n');
    expect(lines.slice(0, 2)).toEqual(['line 0000', 'line 0001']);
    expect(lines[34]).toBe('line 0034');
    expect(lines[35]).toBe('[... 9,130 characters (913 lines) cut from the middle of the output ...]');
    expect(lines[36]).toBe('line 0948');
    expect(lines[lines.length - 1]).toBe('line 0999');
    expect(lines).toHaveLength(35 + 1 + 52);
    expect(shaped.text.length).toBeLessThanOrEqual(1000);
    expect(shaped).toMatchObject({ truncated: true, omittedChars: 9130, images: [] });
  });

  it('uses the default budget', () => {
    expect(DEFAULT_MODEL_BUDGET_CHARS).toBe(6000);
    const shaped = shapeOutputs([stdout(numbered(2000))]);
    expect(shaped.truncated).toBe(true);
    expect(shaped.text.length).toBeLessThanOrEqual(6000);
    expect(shaped.text.length).toBeGreaterThan(5500);
  });

  it('leaves output within budget untouched', () => {
    const text = numbered(100);
    expect(shapeOutputs([stdout(text)], { budgetChars: text.length })).toEqual({
      text: text.slice(0, -1),
      images: [],
      truncated: false,
      omittedChars: 0
    });
  });

  it('matches a full cleanup on megabytes of mixed terminal output', () => {
    // ~3 MB over several outputs: coloured lines, progress redraws, CRLF, backspaces, a 200 kB line.
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      const kind = i % 5;
      lines.push(
        kind === 0
          ? `\u001b[0;32mINFO\u001b[0m step ${i}`
          : kind === 1
            ? `\r${i % 100}%|###\r${(i + 1) % 100}%|####`
            : kind === 2
              ? `crlf ${i}\r`
              : kind === 3
                ? `ab\bc ${i}`
                : `plain ${i} é😀`
      );
    }
    lines[20_000] = 'L'.repeat(200_000);
    const outputs = [stdout(lines.slice(0, 25_000).join('\n')), stderr(lines.slice(25_000).join('\n') + '\n')];
    const shaped = shapeOutputs(outputs, { budgetChars: 3000 });

    const full = (cleanTerminalText(lines.slice(0, 25_000).join('\n')) + '\n[stderr]\n' +
      cleanTerminalText(lines.slice(25_000).join('\n'))).replace(/\n+$/, '');
    const match = shaped.text.match(MARKER)!;
    expect(match[1]).toBeUndefined();
    const head = shaped.text.slice(0, match.index);
    const tail = shaped.text.slice(match.index! + match[0].length + 1);
    expect(full.startsWith(head)).toBe(true);
    expect(full.endsWith(tail)).toBe(true);
    const cut = full.slice(head.length, full.length - tail.length);
    expect(toNumber(match[2])).toBe(cut.length);
    expect(toNumber(match[3])).toBe(cut.split('\n').length - 1);
    expect(shaped.omittedChars).toBe(cut.length);
    expect(shaped.text.length).toBeLessThanOrEqual(3000);
  });

  it('counts outputs that fall wholly inside the cut', () => {
    const outputs = [
      stdout(numbered(500)),
      bundle({ 'text/plain': numbered(300).slice(0, -1) }),
      stderr(numbered(200)),
      stdout(numbered(500))
    ];
    const shaped = shapeOutputs(outputs, { budgetChars: 1000 });
    const full = [numbered(500), numbered(300), '[stderr]\n', numbered(200), numbered(500)].join('').slice(0, -1);
    const match = shaped.text.match(MARKER)!;
    const head = shaped.text.slice(0, match.index);
    const tail = shaped.text.slice(match.index! + match[0].length + 1);
    expect(full.startsWith(head) && full.endsWith(tail)).toBe(true);
    const cut = full.slice(head.length, full.length - tail.length);
    expect([toNumber(match[2]), toNumber(match[3])]).toEqual([cut.length, cut.split('\n').length - 1]);
  });

  it('counts a huge plain single line exactly', () => {
    const shaped = shapeOutputs([stdout('start ' + 'x'.repeat(20_000_000) + ' end')], { budgetChars: 1000 });
    const marker = '[... 19,999,130 characters (0 lines) cut from the middle of the output ...]';
    expect(shaped.text).toBe(`start ${'x'.repeat(346)}\n${marker}\n${'x'.repeat(524)} end`);
    expect(shaped.omittedChars).toBe(19_999_130);
  });

  it('says "about" when megabytes of coloured text are cut, and still counts lines exactly', () => {
    const line = '\u001b[1;34mdebug\u001b[0m value\n'; // 12 characters shown, 23 raw
    const shaped = shapeOutputs([stdout(line.repeat(400_000))], { budgetChars: 2000 });
    const match = shaped.text.match(MARKER)!;
    expect(match[1]).toBe('about ');
    const shownLines = shaped.text.split('\n').length - 1;
    expect(toNumber(match[3])).toBe(400_000 - shownLines);
    expect(toNumber(match[2])).toBeGreaterThan(400_000 * 12 - 2000);
    expect(shaped.text).not.toContain('\u001b');
  });

  describe('a cut holding over APPROX_DIRTY_CHARS of terminal text', () => {
    /** Coloured lines, `\r` progress redraws, CRLF and backspaces, numbered so head and tail are distinct. */
    const terminal = (size: number) => {
      const lines: string[] = [];
      let length = 0;
      for (let i = 0; length < size; i++) {
        const line = [
          `\u001b[3${i % 8}mstep ${i}\u001b[0m loss=${(1 / (i + 1)).toFixed(5)}\r\n`,
          `\r${i % 100}%|###\u001b[K\r${(i + 1) % 100}%|####\u001b[K\n`,
          `spin|\b/\b-\b ${i} done\n`,
          `plain ${i} é😀\n`
        ][i % 4];
        lines.push(line);
        length += line.length;
      }
      return lines.join('');
    };

    /** The marker's figures, the shown head and tail, and the full cleaned text they come from. */
    function shapeAndCompare(outputs: nbformat.IOutput[], full: string, budgetChars: number) {
      const shaped = shapeOutputs(outputs, { budgetChars });
      const match = shaped.text.match(MARKER)!;
      const head = shaped.text.slice(0, match.index);
      const tail = shaped.text.slice(match.index! + match[0].length + 1);
      expect(full.startsWith(head)).toBe(true);
      expect(full.endsWith(tail)).toBe(true);
      const cut = full.slice(head.length, full.length - tail.length);
      expect(toNumber(match[3])).toBe(cut.split('\n').length - 1);
      expect(shaped.omittedChars).toBe(toNumber(match[2]));
      expect(shaped.text.length).toBeLessThanOrEqual(budgetChars);
      return { about: match[1] === 'about ', chars: toNumber(match[2]), cut, head, tail };
    }

    it('counts it raw and says "about", with the head and tail still exact', () => {
      const raw = terminal(3 * APPROX_DIRTY_CHARS);
      const full = cleanTerminalText(raw).replace(/\n+$/, '');
      for (const budget of [300, 2000, DEFAULT_MODEL_BUDGET_CHARS]) {
        const { about, chars, cut, head, tail } = shapeAndCompare([stdout(raw)], full, budget);
        expect(about).toBe(true);
        // Cleaned characters at least; at most the raw ones that are not shown.
        expect(chars).toBeGreaterThanOrEqual(cut.length);
        expect(chars).toBeLessThanOrEqual(raw.length - head.length - tail.length);
        expect(chars).toBeGreaterThan(cut.length); // the raw count really is used (the text shrinks when cleaned)
      }
    });

    it('counts exactly while the terminal text in the cut stays under the threshold', () => {
      // Head and tail each take a 64 KiB span: the cut holds a little under APPROX_DIRTY_CHARS.
      const raw = terminal(APPROX_DIRTY_CHARS);
      const full = cleanTerminalText(raw).replace(/\n+$/, '');
      const { about, chars, cut } = shapeAndCompare([stdout(raw)], full, 2000);
      expect(about).toBe(false);
      expect(chars).toBe(cut.length);
    });

    it('counts plain text exactly however large, beside a little terminal text', () => {
      const plain = numbered(300_000); // 3 MB
      const dirty = terminal(200_000);
      const outputs = [stdout(plain), stdout(dirty), stdout(plain)];
      const full = [plain, cleanTerminalText(dirty), plain].join('').replace(/\n+$/, '');
      const { about, chars, cut } = shapeAndCompare(outputs, full, 2000);
      expect(about).toBe(false);
      expect(chars).toBe(cut.length);
    });

    it('sums terminal text over many outputs against the threshold', () => {
      const chunks = Array.from({ length: 40 }, () => terminal(APPROX_DIRTY_CHARS / 16));
      const full = chunks.map(cleanTerminalText).join('').replace(/\n+$/, '');
      const { about, chars, cut } = shapeAndCompare(chunks.map(stdout), full, 2000);
      expect(about).toBe(true);
      expect(chars).toBeGreaterThan(cut.length);
    });
  });

  it('bounds a long traceback but keeps both ends of it', () => {
    const frames = Array.from(
      { length: 400 },
      (_, i) => `\u001b[36mCell\u001b[39m In[1], line 2, in f(n=${i})\n----> 2     return f(n + 1)\n`
    );
    const error: nbformat.IError = {
      output_type: 'error',
      ename: 'RecursionError',
      evalue: 'maximum recursion depth exceeded',
      traceback: [...frames, '\u001b[31mRecursionError\u001b[39m: maximum recursion depth exceeded']
    };
    const shaped = shapeOutputs([error], { budgetChars: 4000 });
    const lines = shaped.text.split('\n');
    expect(lines[0]).toBe('RecursionError: maximum recursion depth exceeded');
    expect(lines[1]).toBe('Cell In[1], line 2, in f(n=0)');
    expect(lines[lines.length - 1]).toBe('RecursionError: maximum recursion depth exceeded');
    expect(shaped.text).toMatch(/\[\.\.\. [\d,]+ characters \([\d,]+ lines\) cut from the middle of the traceback/);
    expect(shaped.text.length).toBeLessThanOrEqual(0.6 * 4000 + 60);
    expect(shaped.truncated).toBe(true);
  });

  it('still marks the cut with a tiny budget', () => {
    const shaped = shapeOutputs([stdout(numbered(50))], { budgetChars: 10 });
    expect(shaped.text).toBe('[... 499 characters (50 lines) cut from the middle of the output ...]');
    expect(shaped.omittedChars).toBe(499);
  });
});
