import { createHash } from 'crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { attachmentSource, findAttachments, isSafeAttachmentPath, pythonStringLiterals } from '../../src/trace/attachments';
import { candidateAttachmentNames } from '../../src/trace/literals';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('pythonStringLiterals', () => {
  it('reads one-line literals with r/b/u prefixes, skipping comments, triple quotes and f-strings with {', () => {
    const code = [
      `df = pd.read_csv('data.csv')  # not 'in/comment.csv'`,
      `open(r"raw\\path.txt"); open(b'bytes.bin'); open(u"u.txt"); open(rb'rb.bin')`,
      `open(f'{name}.csv'); open(f"plain.csv"); print('it\\'s')`,
      `doc = """triple.csv"""`,
      `s = 'multi\\nline'`,
      `'unclosed.csv`,
      `x = 'ok.csv'`
    ].join('\n');
    expect(pythonStringLiterals(code)).toEqual(['data.csv', 'raw\\path.txt', 'bytes.bin', 'u.txt', 'rb.bin', 'plain.csv', "it's", 'ok.csv']);
  });
});

describe('isSafeAttachmentPath', () => {
  it('takes relative POSIX paths only', () => {
    expect(['data.csv', 'sub/dir/x.parquet', '.hidden'].map(isSafeAttachmentPath)).toEqual([true, true, true]);
    expect(['', '/etc/passwd', '../x', 'a/../b', './x', 'a//b', 'a\\b', 'a/', 'C:x'].map(isSafeAttachmentPath)).toEqual(Array(9).fill(false));
  });
});

describe('findAttachments', () => {
  let root: string;
  let folder: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'aiev-attach-'));
    folder = join(root, 'work');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'data.csv'), 'a,b\n1,2\n');
    writeFileSync(join(folder, 'sub', 'more.txt'), 'more');
    writeFileSync(join(root, 'secret.txt'), 'outside');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('names existing files once, sorted, relative, with their sha256', () => {
    const codes = [
      `import pandas as pd\ndf = pd.read_csv("data.csv")`,
      `open('./sub/more.txt').read(); open('${join(folder, 'data.csv')}')`,
      `print('hello'); open('missing.csv')`
    ];
    expect(findAttachments(codes, folder)).toEqual([
      { path: 'data.csv', sha256: sha('a,b\n1,2\n') },
      { path: 'sub/more.txt', sha256: sha('more') }
    ]);
  });

  it('leaves out what is outside the folder, a directory, an f-string with a field and a file over the cap', () => {
    symlinkSync(join(root, 'secret.txt'), join(folder, 'link.txt'));
    symlinkSync(join(folder, 'data.csv'), join(folder, 'alias.csv'));
    writeFileSync(join(folder, 'big.bin'), Buffer.alloc(2048));
    const codes = [
      `open('../secret.txt'); open('sub/../data.csv'); open('${join(root, 'secret.txt')}')`,
      `open('link.txt'); open('alias.csv'); open('sub'); open(f'{folder}/data.csv'); open('big.bin')`
    ];
    expect(findAttachments(codes, folder, { maxFileBytes: 1024 })).toEqual([{ path: 'alias.csv', sha256: sha('a,b\n1,2\n') }]);
  });

  it('keeps within the total cap, in path order', () => {
    writeFileSync(join(folder, 'a.bin'), Buffer.alloc(600));
    writeFileSync(join(folder, 'b.bin'), Buffer.alloc(600));
    expect(findAttachments([`open('b.bin'); open('a.bin')`], folder, { maxTotalBytes: 1000 }).map(a => a.path)).toEqual(['a.bin']);
  });

  it('skips files modified at or after modifiedBefore (written by the session)', () => {
    const start = new Date();
    const before = new Date(start.getTime() - 60_000);
    utimesSync(join(folder, 'data.csv'), before, before);
    writeFileSync(join(folder, 'out.csv'), 'written during the session');
    const after = new Date(start.getTime() + 1000);
    utimesSync(join(folder, 'out.csv'), after, after);
    const found = findAttachments([`pd.read_csv('data.csv').to_csv('out.csv')`], folder, { modifiedBefore: start });
    expect(found.map(a => a.path)).toEqual(['data.csv']);
  });

  it('finds nothing in a folder that does not exist', () => {
    expect(findAttachments([`open('data.csv')`], join(root, 'nope'))).toEqual([]);
  });

  it('attachmentSource: the real file for a safe path inside the folder, else null', () => {
    symlinkSync(join(root, 'secret.txt'), join(folder, 'link.txt'));
    symlinkSync(join(folder, 'data.csv'), join(folder, 'alias.csv'));
    expect(attachmentSource(folder, 'data.csv')).toBe(realpathSync(join(folder, 'data.csv')));
    expect(attachmentSource(folder, 'alias.csv')).toBe(realpathSync(join(folder, 'data.csv')));
    expect(attachmentSource(folder, 'sub/more.txt')).toBe(realpathSync(join(folder, 'sub', 'more.txt')));
    for (const path of ['link.txt', '../secret.txt', 'sub', 'missing.csv', '/etc/hostname', '']) {
      expect([path, attachmentSource(folder, path)]).toEqual([path, null]);
    }
  });

  it('hashes a file again once it changed (the per-process hash cache keys on size and mtime)', () => {
    const first = findAttachments([`open('data.csv')`], folder);
    expect(first).toEqual([{ path: 'data.csv', sha256: sha('a,b\n1,2\n') }]);
    writeFileSync(join(folder, 'data.csv'), 'a,b\n3,4\n'); // same size, new bytes
    utimesSync(join(folder, 'data.csv'), new Date(), new Date(Date.now() + 5000));
    expect(findAttachments([`open('data.csv')`], folder)).toEqual([{ path: 'data.csv', sha256: sha('a,b\n3,4\n') }]);
  });
});

describe('candidateAttachmentNames', () => {
  it('are the safe relative names the code mentions, once, sorted, without a leading ./', () => {
    const codes = ["pd.read_csv('./data/x.csv')\nopen(\"notes.txt\")", "open('/etc/passwd'); open('../up.txt'); open('notes.txt')"];
    expect(candidateAttachmentNames(codes)).toEqual(['data/x.csv', 'notes.txt']);
  });
});
