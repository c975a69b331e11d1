/**
 * The environment a harvested notebook ran in, as far as the notebook itself says: the Python version in its
 * metadata (`language_info.version`) or printed by `sys.version` / `platform.python_version()`, and the versions
 * of packages it printed (`np.__version__` in a cell whose output shows that many version numbers, or
 * `name: 1.2.3` lines such as `%watermark` prints, for a module the notebook imports). Nothing is guessed beyond
 * that: a notebook that says nothing has no environment.
 */
import type * as nbformat from '@jupyterlab/nbformat';

import { importedModules } from './notebookFiles';
import type { IEnvironment } from './types';

type IPackage = IEnvironment['packages_after'][number];

/** Import names whose distribution is named otherwise. */
const DISTRIBUTIONS: Record<string, string> = {
  sklearn: 'scikit-learn',
  skimage: 'scikit-image',
  PIL: 'pillow',
  cv2: 'opencv-python',
  bs4: 'beautifulsoup4',
  yaml: 'pyyaml',
  mpl_toolkits: 'matplotlib'
};

const VERSION = /\b\d+\.\d+(?:\.\d+)?(?:(?:a|b|rc|\.post|\.dev)\d+)?(?:\+[\w.]+)?/g;
const VERSION_EXPR = /\b([A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)*\.__version__\b/g;
const NAMED_LINE = /^\s*([A-Za-z][\w.-]*)\s*(?:[:=]+|\s)\s*v?(\d+\.\d+(?:\.\d+)?[\w.+-]*)\s*$/gm;
const PYTHON_EXPR = /\bsys\.version\b|\bplatform\.python_version\(\)/;

/** The text a cell showed: its streams and the plain text of its results. */
function shownText(outputs: nbformat.IOutput[]): string {
  return outputs
    .map(output => {
      if (output.output_type === 'stream') {
        return [output.text].flat().join('');
      }
      const data = (output as nbformat.IExecuteResult).data;
      return data && 'text/plain' in data ? [data['text/plain'] as string | string[]].flat().join('') : '';
    })
    .join('\n');
}

/** `import numpy as np` → np → numpy, for every import of the notebook. */
function aliasesOf(codes: string[]): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const code of codes) {
    for (const module of importedModules(code)) {
      aliases.set(module, module);
    }
    for (const [, module, alias] of code.matchAll(/^[ \t]*import[ \t]+([A-Za-z_]\w*)(?:\.\w+)*[ \t]+as[ \t]+(\w+)/gm)) {
      aliases.set(alias, module);
    }
  }
  return aliases;
}

/**
 * The notebook's own word on its environment, as a record's `environment` (the fields it cannot know empty), or
 * null when it states neither a Python version nor any package version.
 */
export function notebookEnvironment(notebook: nbformat.INotebookContent, codeCells: nbformat.ICodeCell[]): IEnvironment | null {
  const codes = codeCells.map(cell => [cell.source].flat().join(''));
  const aliases = aliasesOf(codes);
  const modules = new Set(aliases.values());
  const packages = new Map<string, string>();
  let python = String((notebook.metadata?.language_info as { version?: string } | undefined)?.version ?? '');
  codeCells.forEach((cell, index) => {
    const text = shownText((cell.outputs ?? []) as nbformat.IOutput[]);
    const named = [...codes[index].matchAll(VERSION_EXPR)].map(match => aliases.get(match[1]));
    const shown = text.match(VERSION) ?? [];
    if (named.length && named.length === shown.length) {
      named.forEach((module, at) => module && packages.set(module, shown[at]));
    }
    for (const [, name, version] of text.matchAll(NAMED_LINE)) {
      if (/^python$/i.test(name)) {
        python ||= version;
      } else if (modules.has(name)) {
        packages.set(name, version);
      }
    }
    if (PYTHON_EXPR.test(codes[index]) && !named.length) {
      python = /^\s*'?(\d+\.\d+\.\d+)/.exec(text)?.[1] ?? python;
    }
  });
  if (!python && !packages.size) {
    return null;
  }
  const list: IPackage[] = [...packages]
    .map(([module, version]) => ({ name: DISTRIBUTIONS[module] ?? module, version }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const kernelspec = (notebook.metadata?.kernelspec ?? {}) as { name?: string; language?: string };
  return {
    python,
    implementation: '',
    platform: '',
    kernel: { name: kernelspec.name ?? 'python3', language: kernelspec.language ?? 'python', protocol_version: '', ipykernel: null },
    packages_before: list,
    packages_after: list,
    installed_during_session: []
  };
}
