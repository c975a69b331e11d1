/**
 * The model proxy's added latency per model turn (issue 8, section 5; goal: <= 1 ms median).
 *
 * The scripted model in its own process (test/scripted-model/run-script.js, as a real endpoint would be) and a
 * private Jupyter server with the bridge configured to it (OPENAI_BASE_URL, AIEV_MODEL, OPENAI_API_KEY in the
 * server's environment). The same `ChatClient` (src/llm/client.ts, the openai SDK) sends the same conversation
 * either straight to the model (the baseline) or to `<server>/aiev/llm/v1` authenticated as the sidebar's requests
 * are: the login and XSRF cookies and the `X-XSRFToken` header a JupyterLab page sends (`browserHeaders`), through
 * the sidebar's own `bridgeFetch`; no `Authorization` (the proxy sets the model's key).
 * Streaming (`stream: true`, the SSE read to its end, as the agent does) and non-streaming.
 *
 * A turn is one `complete()` call, from the request to the assembled reply. The two paths alternate turn by turn,
 * the pair's order swapped every pair (direct, proxied, proxied, direct, ...), in 4 rounds of streaming then
 * non-streaming blocks, so noise (and whatever a turn leaves behind for the next) falls on both alike; each path's
 * median and p90, the difference of the medians, and the median of the per-pair differences. Both clients keep
 * their connection alive (the SDK's fetch), as the proxy keeps its own to the model.
 * The conversation is a mid-session one (a system prompt, a task and 8 tool round trips with their outputs,
 * ~12 KB), with the agent's tools.
 *
 * The floor under the overhead, in the same rounds: a proxied turn is the direct one plus a full authenticated
 * request to Jupyter Server. So each round also times, with `fetch` (keep-alive, as the SDK), an authenticated
 * no-op on the server (`GET /aiev/config`: Jupyter's auth, handler and response, no upstream) against a no-op on
 * the model (`GET /v1/models`); their difference is what Jupyter's request handling costs alone, and what is left
 * of the overhead is the proxy's own forwarding (aiohttp to the model and the copy back).
 *
 * The server's CPU time (its main thread, where the event loop runs: /proc/<pid>/schedstat, Linux) per proxied turn
 * and per no-op request: steadier than wall time on a shared machine, and the same split.
 */
import { readdirSync, readFileSync } from 'fs';
import { dirname, join } from 'path';

import { ServerConnection } from '@jupyterlab/services';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

import { TOOL_DEFINITIONS } from '../src/agent/tools';
import { ChatClient } from '../src/llm/client';
import { startLocalJupyterServer } from '../src/notebook/localServer';
import { bridgeFetch } from '../src/request';
import { fmt, IBenchContext, IBenchModule, IModuleResult, IStats, JUPYTER, msWithP90, nowMs, splitRuns, stats } from './common';
import { executeScript, startModelProcess } from './scriptedModel';

const MODES = ['stream', 'whole'] as const;
type Mode = (typeof MODES)[number];

/** A conversation as the agent sends it mid-session. */
function conversation(): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: 'You are a data analysis agent working in a Jupyter notebook. '.repeat(20) },
    { role: 'user', content: 'Load the sales data, clean it and plot the monthly revenue per region.' }
  ];
  for (let i = 0; i < 8; i++) {
    const id = `call_${i}`;
    const code = `df_${i} = df.groupby('region').agg(total=('revenue', 'sum'))\nprint(df_${i}.head(10))`;
    messages.push({
      role: 'assistant',
      content: null,
      tool_calls: [{ id, type: 'function', function: { name: 'execute_cell', arguments: JSON.stringify({ code }) } }]
    });
    messages.push({ role: 'tool', tool_call_id: id, content: `[ok] execution_count ${i + 1}\n` + 'region  total\n'.repeat(40) });
  }
  return messages;
}

/** Milliseconds of one `fetch` to its end (body read). */
async function fetchMs(url: string, headers: Record<string, string> = {}): Promise<number> {
  const t0 = nowMs();
  const response = await fetch(url, { headers });
  await response.text();
  if (!response.ok) {
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  return nowMs() - t0;
}

/** Milliseconds of CPU the server's main thread has used so far, or null off Linux or when its pid is unknown. */
function serverCpuReader(rootDir: string): () => number | null {
  // startLocalJupyterServer's private folder holds root/ and runtime/, where Jupyter writes jpserver-<pid>.json.
  const runtime = join(dirname(rootDir), 'runtime');
  let pid: string | undefined;
  try {
    pid = readdirSync(runtime).map(name => /^jpserver-(\d+)\.json$/.exec(name)?.[1]).find(Boolean);
  } catch {
    pid = undefined;
  }
  return () => {
    try {
      return pid ? Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6 : null;
    } catch {
      return null;
    }
  };
}

/** Runs `task`, adding the server's CPU milliseconds it took to `total.ms` (null once unknown). */
async function withCpu<T>(cpu: () => number | null, total: { ms: number | null }, task: () => Promise<T>): Promise<T> {
  const before = cpu();
  const result = await task();
  const after = cpu();
  total.ms = before === null || after === null || total.ms === null ? null : total.ms + after - before;
  return result;
}

/**
 * The headers a JupyterLab page sends with each request once it is open: Jupyter's login cookie and the XSRF
 * cookie with its `X-XSRFToken` header (`ServerConnection.makeRequest` with the browser's cookies). The login
 * cookie comes from one request with the token, as when the user opens the lab's URL; the XSRF cookie from the
 * login page. Token-only requests would have the server sign a fresh login cookie on every one of them, which no
 * browser request does.
 */
async function browserHeaders(baseUrl: string, token: string): Promise<Record<string, string>> {
  const cookiesOf = (response: Response) => response.headers.getSetCookie().map(cookie => cookie.split(';')[0]);
  const login = cookiesOf(await fetch(`${baseUrl}api/status`, { headers: { Authorization: `token ${token}` } }));
  const xsrf = cookiesOf(await fetch(`${baseUrl}login`)).find(cookie => cookie.startsWith('_xsrf='));
  if (!login.length || !xsrf) {
    throw new Error(`no login or XSRF cookie from ${baseUrl}`);
  }
  return { Cookie: [...login, xsrf].join('; '), 'X-XSRFToken': xsrf.slice('_xsrf='.length) };
}

/**
 * The sidebar's own `fetch` for the SDK (`bridgeFetch`: the SDK's `Authorization` dropped, the request made by
 * `ServerConnection.makeRequest`), over a `fetch` that adds the cookies and header a page holds (`headers`).
 */
function sidebarFetch(baseUrl: string, headers: Record<string, string>): typeof fetch {
  const withCookies: typeof fetch = (input, init = {}) => {
    const merged = new Headers(init.headers);
    Object.entries(headers).forEach(([name, value]) => merged.set(name, value));
    return fetch(input, { ...init, headers: merged });
  };
  return bridgeFetch(ServerConnection.makeSettings({ baseUrl, token: '', fetch: withCookies }));
}

interface IPathResult {
  direct: IStats;
  proxied: IStats;
  /** Median of (proxied - direct) over adjacent pairs. */
  pairedDifference: IStats;
}

export const proxyBench: IBenchModule = {
  name: 'proxy',
  title: "the model proxy's added latency per model turn: ChatClient direct vs through <server>/aiev/llm/v1",
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    const perMode = ctx.warmups + ctx.runs;
    const model = await startModelProcess(executeScript(2 * MODES.length * perMode + 10), ctx.tmp, 'proxy-bench');
    const key = 'bench-proxy-key-0123456789'; // a stand-in: the proxy puts it in every upstream request
    ctx.log('  starting a private Jupyter server with the bridge configured to the scripted model');
    const server = await startLocalJupyterServer({
      jupyter: JUPYTER,
      env: { OPENAI_BASE_URL: model.baseUrl, AIEV_MODEL: 'scripted', OPENAI_API_KEY: key }
    });
    try {
      const proxyUrl = `${server.baseUrl.replace(/\/?$/, '/')}aiev/llm/v1`;
      const messages = conversation();
      const asBrowser = await browserHeaders(server.baseUrl.replace(/\/?$/, '/'), server.token);
      const clients = (stream: boolean) => ({
        direct: new ChatClient({ baseURL: model.baseUrl, apiKey: key, model: 'scripted', stream, maxRetries: 0 }),
        proxied: new ChatClient({ baseURL: proxyUrl, apiKey: 'none', model: 'scripted', stream, maxRetries: 0, fetch: sidebarFetch(server.baseUrl, asBrowser) })
      });
      const byMode = { stream: clients(true), whole: clients(false) };
      const samples: Record<Mode, { direct: number[]; proxied: number[] }> = {
        stream: { direct: [], proxied: [] },
        whole: { direct: [], proxied: [] }
      };
      const turn = async (client: ChatClient) => {
        const t0 = nowMs();
        const reply = await client.complete(messages, TOOL_DEFINITIONS);
        if (reply.toolCalls.length !== 1) {
          throw new Error(`unexpected reply: ${JSON.stringify(reply)}`);
        }
        return nowMs() - t0;
      };
      for (const mode of MODES) {
        for (let i = 0; i < ctx.warmups; i++) {
          await turn(byMode[mode].direct);
          await turn(byMode[mode].proxied);
        }
      }
      const noop = { direct: [] as number[], jupyter: [] as number[] };
      const configUrl = `${server.baseUrl.replace(/\/?$/, '/')}aiev/config`;
      const auth = asBrowser;
      const cpu = serverCpuReader(server.rootDir);
      const cpuTotal = () => ({ ms: 0 as number | null });
      const serverCpu = { stream: cpuTotal(), whole: cpuTotal(), noop: cpuTotal() };
      let pairs = 0;
      for (const share of splitRuns(ctx.runs)) {
        for (const mode of MODES) {
          for (let i = 0; i < share; i++) {
            const direct = () => turn(byMode[mode].direct);
            const proxied = () => withCpu(cpu, serverCpu[mode], () => turn(byMode[mode].proxied));
            if (pairs++ % 2) {
              samples[mode].proxied.push(await proxied());
              samples[mode].direct.push(await direct());
            } else {
              samples[mode].direct.push(await direct());
              samples[mode].proxied.push(await proxied());
            }
          }
        }
        for (let i = 0; i < share; i++) {
          noop.direct.push(await fetchMs(`${model.baseUrl}/models`));
          noop.jupyter.push(await withCpu(cpu, serverCpu.noop, () => fetchMs(configUrl, auth)));
        }
      }
      const cpuPer = (total: { ms: number | null }) =>
        total.ms === null ? null : Math.round((total.ms / ctx.runs) * 1000) / 1000;
      const floor = { model: stats(noop.direct), jupyter: stats(noop.jupyter) };
      const hop = Math.round((floor.jupyter.median - floor.model.median) * 1000) / 1000;
      const results = Object.fromEntries(
        MODES.map(mode => {
          const { direct, proxied } = samples[mode];
          return [mode, { direct: stats(direct), proxied: stats(proxied), pairedDifference: stats(proxied.map((p, i) => p - direct[i])) }];
        })
      ) as Record<Mode, IPathResult>;
      const overhead = (mode: Mode) => Math.round((results[mode].proxied.median - results[mode].direct.median) * 1000) / 1000;
      const keys = {
        proxy_direct_stream_ms: results.stream.direct.median,
        proxy_direct_stream_ms_p90: results.stream.direct.p90,
        proxy_stream_ms: results.stream.proxied.median,
        proxy_stream_ms_p90: results.stream.proxied.p90,
        proxy_overhead_ms: overhead('stream'),
        proxy_overhead_paired_ms: results.stream.pairedDifference.median,
        proxy_direct_whole_ms: results.whole.direct.median,
        proxy_direct_whole_ms_p90: results.whole.direct.p90,
        proxy_whole_ms: results.whole.proxied.median,
        proxy_whole_ms_p90: results.whole.proxied.p90,
        proxy_overhead_whole_ms: overhead('whole'),
        proxy_overhead_whole_paired_ms: results.whole.pairedDifference.median,
        proxy_floor_model_noop_ms: floor.model.median,
        proxy_floor_jupyter_noop_ms: floor.jupyter.median,
        proxy_floor_jupyter_hop_ms: hop,
        proxy_server_cpu_stream_ms: cpuPer(serverCpu.stream),
        proxy_server_cpu_whole_ms: cpuPer(serverCpu.whole),
        proxy_server_cpu_noop_ms: cpuPer(serverCpu.noop)
      };
      const row = (mode: Mode, label: string) => [
        { item: `model turn direct, ${label}`, value: msWithP90(results[mode].direct), versus: 'baseline' },
        {
          item: `model turn through the proxy, ${label}`,
          value: msWithP90(results[mode].proxied),
          versus: `+${fmt(overhead(mode))} ms median (paired +${fmt(results[mode].pairedDifference.median)}, p90 ${fmt(results[mode].pairedDifference.p90)}); ${(results[mode].proxied.median / results[mode].direct.median).toFixed(2)}x`
        }
      ];
      return {
        keys,
        rows: [
          ...row('stream', 'streaming'),
          ...row('whole', 'non-streaming'),
          { item: 'no-op on the model (GET /v1/models)', value: msWithP90(floor.model), versus: 'fetch, keep-alive' },
          {
            item: 'no-op on Jupyter (GET /aiev/config)',
            value: msWithP90(floor.jupyter),
            versus: `+${fmt(hop)} ms: Jupyter's request handling alone, the floor under the overhead`
          },
          {
            item: 'server CPU per proxied turn',
            value: `${fmt(keys.proxy_server_cpu_stream_ms)} ms stream, ${fmt(keys.proxy_server_cpu_whole_ms)} ms whole`,
            versus: `${fmt(keys.proxy_server_cpu_noop_ms)} ms per no-op request (mean, main thread)`
          }
        ],
        details: { ...results, floor, conversation_bytes: JSON.stringify(messages).length, model: await model.stop() }
      };
    } finally {
      await server.stop();
      await model.stop();
    }
  }
};
