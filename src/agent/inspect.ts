/**
 * `inspect_variables()`: what the kernel's namespace holds, by a silent execution (no cell, no history). Names,
 * types, sizes and shapes; for a DataFrame its columns, dtypes and head; for a Series its dtype and head. The
 * snippet prints one JSON line; the text the model reads is made here and recorded verbatim.
 */

/** Prints `{"variables": [{name, type, module, summary, shape?, len?, columns?, dtypes?, head?}], "omitted": N}`. */
export const INSPECT_SNIPPET = `
def __aiev_inspect(limit=60):
    import json, types
    ip = get_ipython()
    hidden = set(getattr(ip, "user_ns_hidden", {}))
    out, omitted = [], 0
    for name, value in list(ip.user_ns.items()):
        if name.startswith("_") or name in hidden or isinstance(value, types.ModuleType):
            continue
        if len(out) >= limit:
            omitted += 1
            continue
        if isinstance(value, (types.FunctionType, type)):
            kind = "function" if isinstance(value, types.FunctionType) else "class"
            out.append({"name": name, "type": kind, "module": getattr(value, "__module__", None) or ""})
            continue
        cls = type(value)
        item = {"name": name, "type": cls.__name__, "module": cls.__module__}
        try:
            shape = getattr(value, "shape", None)
            if isinstance(shape, tuple):
                item["shape"] = list(shape)
            elif hasattr(value, "__len__") and not isinstance(value, (str, bytes)):
                item["len"] = len(value)
            if cls.__name__ == "DataFrame" and hasattr(value, "dtypes"):
                item["columns"] = [str(c) for c in list(value.columns)[:50]]
                item["dtypes"] = {str(c): str(t) for c, t in list(value.dtypes.items())[:50]}
                item["head"] = value.head(5).to_string(max_cols=20, max_colwidth=40)
            elif cls.__name__ == "Series" and hasattr(value, "dtype"):
                item["dtypes"] = {"": str(value.dtype)}
                item["head"] = value.head(5).to_string()
            else:
                text = repr(value)
                item["summary"] = text if len(text) <= 200 else text[:200] + "..."
        except Exception as error:
            item["summary"] = f"<{type(error).__name__} while inspecting>"
        out.append(item)
    print(json.dumps({"variables": out, "omitted": omitted}))
__aiev_inspect(); del __aiev_inspect
`;

/** One variable as the snippet reports it. */
export interface IVariableInfo {
  name: string;
  type: string;
  module: string;
  summary?: string;
  shape?: number[];
  len?: number;
  columns?: string[];
  dtypes?: Record<string, string>;
  head?: string;
}

/** The model-facing text of an inspection, within `budgetChars` (the end is cut with a marker). */
export function inspectionText(stdout: string, budgetChars: number): string {
  const line = stdout.trim().split('\n').pop() ?? '';
  const data = JSON.parse(line) as { variables: IVariableInfo[]; omitted: number };
  if (!data.variables.length) {
    return 'The kernel namespace has no user variables yet.';
  }
  const blocks = data.variables.map(variableText);
  if (data.omitted) {
    blocks.push(`(${data.omitted} more variables not listed)`);
  }
  const text = blocks.join('\n');
  return text.length <= budgetChars ? text : `${text.slice(0, budgetChars)}\n[... inspection cut at ${budgetChars} characters]`;
}

function variableText(v: IVariableInfo): string {
  const type = v.module && v.module !== 'builtins' ? `${v.module}.${v.type}` : v.type;
  const size = v.shape ? ` shape ${JSON.stringify(v.shape)}` : v.len !== undefined ? ` len ${v.len}` : '';
  const lines = [`${v.name}: ${type}${size}`];
  if (v.dtypes && v.columns) {
    lines.push(`  columns: ${v.columns.map(c => `${c} (${v.dtypes?.[c] ?? '?'})`).join(', ')}`);
  } else if (v.dtypes) {
    lines.push(`  dtype: ${Object.values(v.dtypes)[0]}`);
  }
  if (v.head) {
    lines.push(...v.head.split('\n').map(row => `  ${row}`));
  }
  if (v.summary !== undefined) {
    lines.push(`  ${v.summary}`);
  }
  return lines.join('\n');
}
