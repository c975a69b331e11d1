import { PassThrough } from 'stream';

import { version } from '../../package.json';
import { runCli } from '../../src/cli/cli';
import { verifyCommand } from '../../src/cli/verify';

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

describe('aiev verify --attachments-dir', () => {
  it('wants a folder, and no --server-url beside it', async () => {
    await expect(verifyCommand(['r.json', '--attachments-dir', '/no/such/folder'], () => undefined)).rejects.toThrow(
      '--attachments-dir /no/such/folder: not a folder'
    );
    await expect(verifyCommand(['r.json', '--attachments-dir', '.', '--server-url', 'http://127.0.0.1:9/'], () => undefined)).rejects.toThrow(
      '--attachments-dir works only without --server-url'
    );
  });
});
