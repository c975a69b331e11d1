import { PassThrough } from 'stream';

import { version } from '../../package.json';
import { runCli } from '../../src/cli/cli';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', chunk => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

describe('aiev command line', () => {
  it('prints the package version', async () => {
    const out = capture();
    expect(await runCli(['--version'], out.stream)).toBe(0);
    expect(out.text().trim()).toBe(version);
  });

  it('exits 2 with usage when no command is given', async () => {
    const out = capture();
    expect(await runCli([], out.stream)).toBe(2);
    expect(out.text()).toContain('Usage: aiev');
  });
});
