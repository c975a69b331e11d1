/**
 * Python run silently in the kernel to learn about its environment. Each snippet prints one JSON line that the
 * matching parser reads; nothing is imported into the user's namespace (everything lives in a function).
 */
import type { IInstallResult, IPackageVersion } from '../trace/types';

/**
 * Prints `{python, implementation, platform, fingerprint, ipykernel, packages: [[name, version], …]}`, or without
 * `ipykernel` and `packages` when its `fingerprint` is one of `known` (the caller has that scan already).
 *
 * The fingerprint stands for what `importlib.metadata` would find: the interpreter, `sys.path`, and for each
 * folder on it its modification time (a distribution installed, upgraded or removed adds or removes a `.dist-info`
 * or `.egg-info` entry there, which changes it), except the working folder, whose time changes with every file
 * written: there the names of such entries. Computing it takes well under a millisecond; the scan it saves takes
 * ~100 ms of kernel CPU (152 distributions here), on every session start (bench/README.md, "aiev batch").
 */
export function environmentSnippet(known: readonly string[]): string {
  return `
def __aiev_env(known=${JSON.stringify(known)}):
    import hashlib, importlib, json, os, platform, sys
    importlib.invalidate_caches()
    here, marks = os.getcwd(), []
    for entry in sys.path:
        path = os.path.abspath(entry or here)
        try:
            stat = os.stat(path)
            if path == here:
                marks.append([entry, sorted(n for n in os.listdir(path) if n.endswith((".dist-info", ".egg-info")))])
            else:
                marks.append([entry, stat.st_mtime_ns, stat.st_size])
        except OSError:
            marks.append([entry, None])
    fingerprint = hashlib.sha256(json.dumps([sys.version, sys.prefix, sys.executable, marks]).encode()).hexdigest()
    facts = {"python": platform.python_version(), "implementation": platform.python_implementation(),
             "platform": platform.platform(), "fingerprint": fingerprint}
    if fingerprint not in known:
        import importlib.metadata as md
        facts["packages"] = sorted({(d.metadata["Name"] or "?", d.version) for d in md.distributions()},
                                   key=lambda p: p[0].lower())
        try:
            facts["ipykernel"] = md.version("ipykernel")
        except md.PackageNotFoundError:
            facts["ipykernel"] = None
    print(json.dumps(facts))
__aiev_env(); del __aiev_env
`;
}

/** Prints `{packages: [[name, version], …], modules: [imported top-level module names]}`. */
export const PACKAGES_SNIPPET = `
def __aiev_pkgs():
    import importlib, importlib.metadata as md, json, sys
    importlib.invalidate_caches()
    pkgs = sorted({(d.metadata["Name"] or "?", d.version) for d in md.distributions()}, key=lambda p: p[0].lower())
    mods = sorted({m.split(".")[0] for m in list(sys.modules)})
    owners = {}
    try:
        for mod, dists in md.packages_distributions().items():
            for dist in dists:
                owners.setdefault(dist.lower(), []).append(mod)
    except Exception:
        pass
    print(json.dumps({"packages": pkgs, "modules": mods, "owners": owners}))
__aiev_pkgs(); del __aiev_pkgs
`;

/**
 * Prints `{NAME: value}` of the kernel's environment variables whose names contain one of `words` (case aside):
 * the candidates `secretEnvEntries` (src/trace/envSecrets.ts) judges. Run silently; its output is never recorded.
 */
export function secretEnvSnippet(words: readonly string[]): string {
  return `
def __aiev_env_secrets(words=${JSON.stringify(words.map(w => w.toLowerCase()))}):
    import json, os
    print(json.dumps({k: v for k, v in os.environ.items() if any(w in k.lower() for w in words)}))
__aiev_env_secrets(); del __aiev_env_secrets
`;
}

/** What `PACKAGES_SNIPPET` printed. */
export interface IPackageSnapshot {
  packages: IPackageVersion[];
  modules: string[];
  /** Lower-cased distribution name → top-level modules it provides. */
  owners: Record<string, string[]>;
}

function lastJsonLine(stdout: string): any {
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line);
}

function toVersions(pairs: [string, string][]): IPackageVersion[] {
  return pairs.map(([name, version]) => ({ name, version }));
}

/** What `environmentSnippet` printed: `packages` and `ipykernel` are absent when the fingerprint was known. */
export interface IEnvironmentScan {
  python: string;
  implementation: string;
  platform: string;
  fingerprint: string;
  ipykernel?: string | null;
  packages?: IPackageVersion[];
}

/** Parse `environmentSnippet` output. */
export function parseEnvironmentScan(stdout: string): IEnvironmentScan {
  const data = lastJsonLine(stdout);
  return {
    python: data.python,
    implementation: data.implementation,
    platform: data.platform,
    fingerprint: data.fingerprint,
    ...(data.packages ? { packages: toVersions(data.packages), ipykernel: data.ipykernel } : {})
  };
}

/** Parse `PACKAGES_SNIPPET` output. */
export function parsePackageSnapshot(stdout: string): IPackageSnapshot {
  const data = lastJsonLine(stdout);
  return { packages: toVersions(data.packages), modules: data.modules, owners: data.owners };
}

/**
 * What an install changed: distributions new or at another version, those removed, and whether a changed one
 * provides a module that was already imported before the install (then the kernel must restart to see it).
 */
export function diffInstall(before: IPackageSnapshot, after: IPackageSnapshot): IInstallResult {
  const key = (p: IPackageVersion) => p.name.toLowerCase();
  const old = new Map(before.packages.map(p => [key(p), p.version]));
  const now = new Map(after.packages.map(p => [key(p), p.version]));
  const resolved = after.packages.filter(p => old.get(key(p)) !== p.version);
  const removed = before.packages.filter(p => !now.has(key(p)));
  const imported = new Set(before.modules);
  const upgraded = after.packages.filter(p => old.has(key(p)) && old.get(key(p)) !== p.version);
  const restart_required = [...upgraded, ...removed].some(p =>
    (after.owners[key(p)] ?? before.owners[key(p)] ?? [p.name.replace(/-/g, '_')]).some(m => imported.has(m))
  );
  const byName = (a: IPackageVersion, b: IPackageVersion) => a.name.localeCompare(b.name);
  return { resolved: resolved.sort(byName), removed: removed.sort(byName), restart_required };
}
