import type * as nbformat from '@jupyterlab/nbformat';

import { runSource } from '../../src/agent/source';
import { EXPORT_FORMATS, projectSample } from '../../src/trace/projections';
import { redactSecrets } from '../../src/trace/redact';
import { SessionRecorder } from '../../src/trace/recorder';
import { redactionToken, SCRUB_KINDS, scrubSample, scrubText, scrubValue } from '../../src/trace/scrub';
import { IAction, ISample } from '../../src/trace/types';
import { validateSample } from '../../src/trace/validate';
import { jsonEscaped, SECRET_VALUES, SecretName, SECRETS, windows } from '../fixtures/secrets';

const S = Object.fromEntries(Object.entries(SECRETS).map(([name, secret]) => [name, secret.value])) as Record<SecretName, string>;
const HOME = '/home/alice';
const OPTIONS = { homeDirs: [HOME], secrets: [S.modelApiKey] };

/** A base64 "image" that holds key-shaped text: scanning it would change it. */
const PNG = `iVBORw0KGgoAAAANSUhEUgAA+${'AIza'}${'Q'.repeat(35)}+/AKIA${'B'.repeat(16)}+${'A'.repeat(60)}==`;

type Planted = { kind: string; location: string };

/** A realistic session with the whole corpus planted in it, and every (kind, location) it was planted at. */
function seededSample(): { sample: ISample; planted: Planted[] } {
  const planted: Planted[] = [];
  const at = (location: string, ...kinds: string[]): void => {
    planted.push(...kinds.map(kind => ({ kind, location })));
  };
  let tick = 0;
  const recorder = new SessionRecorder({
    source: runSource({
      app: 'jupyterlab-aiev/cli',
      appVersion: '0.1.0',
      model: 'qwen2.5-coder-7b-instruct',
      baseUrl: 'http://localhost:8000/v1',
      toolMode: 'native',
      stream: false,
      sampling: { temperature: 0.2 }
    }),
    task: {
      prompt: `Analyse the churn data. My OpenAI key is ${S.openaiLegacy} if you need it.`,
      system: 'You are a careful data scientist.',
      attachments: [{ path: `${HOME}/project/churn.csv`, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }],
      tags: ['eda']
    },
    tools: [],
    outputsCapBytes: 5 * 1024 * 1024,
    id: '3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e3f',
    now: () => new Date(Date.UTC(2025, 0, 2, 9, 30, tick++))
  });
  at('task.prompt', 'openai_key');
  at('task.attachments[0].path', 'home_path');

  recorder.user(`Analyse the churn data. My OpenAI key is ${S.openaiLegacy} if you need it.`);
  at('steps[0].text', 'openai_key');

  const code1 = [
    'import os',
    `os.environ["HF_TOKEN"] = "${S.huggingFace}"`,
    `client = OpenAI(api_key="${S.openaiProject}")`,
    `print(open('${HOME}/project/.env').read())`,
    'os.environ'
  ].join('\n');
  recorder.assistant({
    text: `Let me check the environment first (the Anthropic key ${S.anthropicApi} is in the prompt).`,
    reasoning: `The Gemini key ${S.googleMaps} must never be printed.`,
    actions: [
      { call_id: 'call_1', tool: 'execute_cell', kind: 'python', cell_id: 'c1', arguments: { code: code1 }, code: code1 },
      {
        call_id: 'call_bad',
        tool: 'execute_cell',
        kind: 'python',
        cell_id: null,
        arguments: {},
        raw_arguments: `{"code": "import stripe\\nstripe.api_key = \\"${S.stripeKey}\\"\\nstripe.Charge.list(`
      }
    ]
  });
  at('steps[1].text', 'anthropic_key');
  at('steps[1].reasoning', 'google_api_key');
  for (const where of ['steps[1].actions[0].arguments.code', 'steps[1].actions[0].code']) {
    at(where, 'huggingface_token', 'openai_key', 'home_path');
  }
  at('steps[1].actions[1].raw_arguments', 'stripe_key');

  const dotEnv = [
    '# project secrets\n',
    `DB_PASSWORD=${S.dbPassword}\n`,
    `export SERVICE_TOKEN=${S.serviceToken}\n`,
    `GITHUB_TOKEN=${S.githubClassic}\n`,
    `AWS_ACCESS_KEY_ID=${S.awsKeyId}\n`,
    `AWS_SECRET_ACCESS_KEY=${S.awsSecret}\n`,
    `SLACK_BOT_TOKEN=${S.slackBot}\n`,
    `REDIS_AUTH=${S.redisAuth}\n`,
    `DATA_DIR=${HOME}/project/data\n`
  ];
  const kindsOfDotEnv = ['env_secret', 'env_secret', 'github_token', 'aws_access_key_id', 'aws_secret_access_key', 'slack_token', 'env_secret', 'home_path'];
  const environ =
    `environ({'HOME': '${HOME}', 'PATH': '${HOME}/.venv/bin:/usr/bin', 'MLFLOW_TRACKING_PASSWORD': '${S.mlflowPassword}', ` +
    `'WANDB_API_KEY': '${S.wandbKey}', 'OPENAI_API_KEY': '${S.openaiService}', 'JPY_PARENT_PID': '4242', ` +
    `'SLACK_USER_TOKEN': '${S.slackUser}', 'MPLBACKEND': 'module://matplotlib_inline.backend_inline'})`;
  const environKinds = ['home_path', 'env_secret', 'openai_key', 'slack_token'];
  recorder.execution({
    call_id: 'call_1',
    cell_id: 'c1',
    code: code1,
    executor: 'ipykernel',
    execution_count: 1,
    status: 'ok',
    started_at: '2025-01-02T09:30:05.000Z',
    duration_ms: 40,
    outputs: [
      { output_type: 'stream', name: 'stdout', text: dotEnv },
      { output_type: 'execute_result', execution_count: 1, data: { 'text/plain': environ }, metadata: {} },
      {
        output_type: 'display_data',
        data: { 'image/png': PNG, 'text/plain': '<Figure size 640x480 with 1 Axes>' },
        metadata: { 'image/png': { width: 640, height: 480 } }
      }
    ],
    truncated: false,
    model_text: `status: ok\n${dotEnv.join('')}${environ}\n[image/png omitted]`
  });
  at('steps[2].code', 'huggingface_token', 'openai_key', 'home_path');
  kindsOfDotEnv.forEach((kind, index) => at(`steps[2].outputs[0].text[${index + 1}]`, kind));
  at('steps[2].outputs[1].data["text/plain"]', ...environKinds);
  at('steps[2].model_text', ...new Set([...kindsOfDotEnv, ...environKinds]));

  recorder.assistant({ text: '', actions: [cell('call_2', 'c2', "import json\nprint(json.dumps(json.load(open('config.json')), indent=2))")] });
  const config = JSON.stringify(
    {
      client_secret: S.clientSecret,
      slack_webhook: `https://hooks.slack.com/services/${S.slackWebhook}`,
      maps_api_key: S.googleMaps,
      session: S.jwtSession,
      service_account: { type: 'service_account', private_key: `${S.pkcs8Key}\n`, client_email: 'etl@example.iam.gserviceaccount.com' }
    },
    null,
    2
  );
  expect(config).toContain(jsonEscaped(S.pkcs8Key));
  recorder.execution({
    call_id: 'call_2',
    cell_id: 'c2',
    code: "import json\nprint(json.dumps(json.load(open('config.json')), indent=2))",
    executor: 'ipykernel',
    execution_count: 2,
    status: 'ok',
    started_at: '2025-01-02T09:30:08.000Z',
    duration_ms: 12,
    outputs: [{ output_type: 'stream', name: 'stdout', text: config }],
    truncated: false,
    model_text: `status: ok\n${config}`
  });
  for (const where of ['steps[4].outputs[0].text', 'steps[4].model_text']) {
    at(where, 'env_secret', 'slack_webhook', 'google_api_key', 'jwt', 'private_key');
  }

  recorder.assistant({ text: 'Calling the API.', actions: [cell('call_3', 'c3', 'r = requests.get(url, headers=HEADERS)\nr.raise_for_status()')] });
  const failingUrl = `http://127.0.0.1:8888/api/contents?token=${S.jupyterToken}`;
  recorder.execution({
    call_id: 'call_3',
    cell_id: 'c3',
    code: 'r = requests.get(url, headers=HEADERS)\nr.raise_for_status()',
    executor: 'ipykernel',
    execution_count: 3,
    status: 'error',
    started_at: '2025-01-02T09:30:10.000Z',
    duration_ms: 300,
    error: { ename: 'HTTPError', evalue: `401 Client Error: Unauthorized for url: ${failingUrl}` },
    outputs: [
      {
        output_type: 'error',
        ename: 'HTTPError',
        evalue: `401 Client Error: Unauthorized for url: ${failingUrl}`,
        traceback: [
          '\u001b[0;31m---------------------------------------------------------------------------\u001b[0m',
          '\u001b[0;31mHTTPError\u001b[0m                                 Traceback (most recent call last)',
          `Cell \u001b[0;32mIn[3], line 4\u001b[0m\n      2 url = BASE + "/contents"\n----> 4 r = requests.get(url, headers={"Authorization": "Bearer ${S.bearerToken}"})\n`,
          `File \u001b[0;32m${HOME}/.venv/lib/python3.12/site-packages/requests/models.py:1024\u001b[0m, in \u001b[0;36mResponse.raise_for_status\u001b[0;34m(self)\u001b[0m\n`,
          `\u001b[0;31mHTTPError\u001b[0m: 401 Client Error: Unauthorized for url: ${failingUrl}`
        ]
      }
    ],
    truncated: false,
    model_text: `status: error\nHTTPError: 401 Client Error: Unauthorized for url: ${failingUrl}`
  });
  at('steps[6].error.evalue', 'url_secret');
  at('steps[6].outputs[0].evalue', 'url_secret');
  at('steps[6].outputs[0].traceback[2]', 'auth_header');
  at('steps[6].outputs[0].traceback[3]', 'home_path');
  at('steps[6].outputs[0].traceback[4]', 'url_secret');
  at('steps[6].model_text', 'url_secret');

  recorder.assistant({
    text: 'Checking the deploy keys.',
    actions: [
      { ...cell('call_4', 'c4', '!cat ~/.ssh/id_rsa'), kind: 'shell' },
      { call_id: 'call_5', tool: 'read_notebook', kind: 'notebook', cell_id: null, arguments: {} }
    ]
  });
  const rsaLines = `${S.rsaKey}\n`.split(/(?<=\n)/);
  recorder.execution({
    call_id: 'call_4',
    cell_id: 'c4',
    code: '!cat ~/.ssh/id_rsa',
    executor: 'ipykernel',
    execution_count: 4,
    status: 'ok',
    started_at: '2025-01-02T09:30:12.000Z',
    duration_ms: 9,
    outputs: [
      { output_type: 'stream', name: 'stdout', text: ['$ cat ~/.ssh/id_rsa\n', ...rsaLines, 'done\n'] },
      { output_type: 'stream', name: 'stderr', text: `warning: printing keys\n${S.ecKey}\n${S.opensshKey}\n` },
      { output_type: 'execute_result', execution_count: 4, data: { 'text/plain': `'${jsonEscaped(S.encryptedKey)}\\n'` }, metadata: {} }
    ],
    truncated: false,
    model_text: `status: ok\n$ cat ~/.ssh/id_rsa\n${S.rsaKey}\ndone`
  });
  at('steps[8].outputs[0].text[1]', 'private_key');
  at('steps[8].outputs[1].text', 'private_key');
  at('steps[8].outputs[2].data["text/plain"]', 'private_key');
  at('steps[8].model_text', 'private_key');

  recorder.toolResult({
    call_id: 'call_5',
    cell_id: null,
    model_text: `c1 (code): SECRET_KEY = '${S.djangoSecretKey}'\nc2 (code): !gh auth login --with-token ${S.githubOauth}`,
    is_error: false
  });
  at('steps[9].model_text', 'env_secret', 'github_token');
  recorder.event('model_error', {
    message: `Error code: 401 - invalid x-api-key ${S.anthropicAdmin}`,
    url: `postgresql://analyst:${S.databaseUrlPassword}@db.internal:5432/sales`
  });
  at('steps[10].detail.message', 'anthropic_key');
  at('steps[10].detail.url', 'url_credentials');
  recorder.event('model_retry', { attempt: 1, message: `retrying with ${S.modelApiKey}` });
  at('steps[11].detail.message', 'known_secret');

  const answer = `Churn is 12%. (Used the deploy token ${S.githubUser}.)`;
  recorder.assistant({
    text: `The session JWT ${S.jwtService} expired.`,
    actions: [{ call_id: 'call_6', tool: 'final_answer', kind: 'final_answer', cell_id: null, arguments: { answer }, answer }]
  });
  at('steps[12].text', 'jwt');
  at('steps[12].actions[0].arguments.answer', 'github_token');
  at('steps[12].actions[0].answer', 'github_token');
  recorder.toolResult({ call_id: 'call_6', cell_id: null, model_text: 'Final answer recorded.', is_error: false });

  recorder.setNotebook(seededNotebook());
  at('notebook.cells[0].source[1]', 'slack_token');
  at('notebook.cells[0].source[2]', 'google_api_key');
  at('notebook.cells[0].source[3]', 'huggingface_token');
  at('notebook.cells[0].outputs[0].text[0]', 'slack_token');
  at('notebook.cells[0].outputs[0].text[1]', 'slack_token');
  at('notebook.cells[1].source', 'home_path');
  at('notebook.cells[1].outputs[0].text', 'aws_access_key_id', 'aws_secret_access_key');
  at('notebook.cells[2].source', 'github_token');
  at('notebook.cells[3].outputs[0].text', 'env_secret');
  const sample = recorder.finish({ reason: 'final_answer', answer });
  at('outcome.answer', 'github_token');
  return { sample, planted };
}

/** An `execute_cell` action. */
function cell(callId: string, cellId: string, code: string): IAction {
  return { call_id: callId, tool: 'execute_cell', kind: 'python', cell_id: cellId, arguments: { code }, code };
}

/** The session's final notebook, with secrets in sources and outputs. */
function seededNotebook(): nbformat.INotebookContent {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: [
      {
        cell_type: 'code',
        id: 'c1',
        source: ['import os\n', `os.environ['SLACK_APP_TOKEN'] = '${S.slackApp}'\n`, `GEMINI_API_KEY = "${S.googleGemini}"\n`, `HF = '${S.huggingFaceWrite}'\n`],
        metadata: {},
        execution_count: 1,
        outputs: [{ output_type: 'stream', name: 'stdout', text: [`refresh ${S.slackRefresh}\n`, `session ${S.slackSession}\n`] }]
      },
      {
        cell_type: 'code',
        id: 'c2',
        source: `# ~/.aws/credentials\nprint(open('${HOME}/.aws/credentials').read())`,
        metadata: {},
        execution_count: 2,
        outputs: [
          {
            output_type: 'stream',
            name: 'stdout',
            text: `[default]\naws_access_key_id = ${S.awsSessionKeyId}\naws_secret_access_key = ${S.awsSecretProfile}\nregion = eu-west-1\n`
          }
        ]
      },
      { cell_type: 'markdown', id: 'm1', source: `Tokens: ${S.githubServer}, ${S.githubRefresh} and ${S.githubFineGrained}.`, metadata: {} },
      {
        cell_type: 'code',
        id: 'c3',
        source: '!cat config.yaml',
        metadata: {},
        execution_count: 3,
        outputs: [{ output_type: 'stream', name: 'stdout', text: `smtp:\n  host: smtp.example.com\n  smtp_pass: ${S.smtpPass}\n  user: etl\n` }]
      }
    ]
  };
}

/** Every string (keys included) in a JSON value. */
function strings(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') {
    out.push(node);
  } else if (Array.isArray(node)) {
    node.forEach(item => strings(item, out));
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      out.push(key);
      strings(value, out);
    }
  }
  return out;
}

const byPlace = (a: Planted, b: Planted): number => `${a.location} ${a.kind}`.localeCompare(`${b.location} ${b.kind}`);

describe('the seeded-secret corpus', () => {
  it('has at least 30 fake secrets covering every kind of the issue', () => {
    expect(SECRET_VALUES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(SECRET_VALUES).size).toBe(SECRET_VALUES.length);
    const kinds = new Set(Object.values(SECRETS).map(secret => secret.kind));
    for (const kind of ['openai_key', 'anthropic_key', 'huggingface_token', 'github_token', 'aws_access_key_id', 'aws_secret_access_key']) {
      expect(kinds).toContain(kind);
    }
    for (const kind of ['slack_token', 'slack_webhook', 'google_api_key', 'jwt', 'private_key', 'env_secret']) {
      expect(kinds).toContain(kind);
    }
    expect(SCRUB_KINDS).toEqual(expect.arrayContaining([...kinds]));
  });
});

describe('scrubSample', () => {
  const { sample, planted } = seededSample();
  const clean = scrubSample(sample, OPTIONS);

  it('starts from a valid record holding every secret', () => {
    expect(validateSample(sample)).toEqual({ valid: true, errors: [] });
    const raw = strings(sample).join('\n');
    for (const value of SECRET_VALUES) {
      expect(raw.includes(value) || raw.includes(jsonEscaped(value))).toBe(true);
    }
  });

  it('leaves no secret, nor any 12 characters of one, in any string or serialisation', () => {
    const haystacks = [JSON.stringify(clean), JSON.stringify(clean, null, 2), strings(clean).join('\n')];
    const survivors = Object.entries(SECRETS).flatMap(([name, { value }]) =>
      windows(value)
        .filter(window => haystacks.some(text => text.includes(window)))
        .map(window => `${name}: ${window}`)
    );
    expect(survivors).toEqual([]);
    expect(JSON.stringify(clean)).not.toContain(HOME);
    expect(clean.task.attachments[0].path).toBe('~/project/churn.csv');
  });

  it('leaves nothing in any export format projected from the scrubbed record', () => {
    // (This record holds no review or approval, so no preference pair: test/unit/preference.spec.ts scrubs those.)
    for (const format of EXPORT_FORMATS.filter(f => f !== 'preference')) {
      const text = projectSample(clean, format);
      const survivors = SECRET_VALUES.flatMap(value => windows(value)).filter(window => text.includes(window) || text.includes(jsonEscaped(window)));
      expect({ format, survivors }).toEqual({ format, survivors: [] });
      const raw = projectSample(sample, format);
      expect(SECRET_VALUES.some(value => raw.includes(jsonEscaped(value)))).toBe(true);
    }
  });

  it('lists every planted place once with its kind, and nothing else', () => {
    expect([...clean.redactions].sort(byPlace)).toEqual([...planted].sort(byPlace));
  });

  it('replaces only the value, with a token naming the kind', () => {
    const stdout = (clean.steps[2] as { outputs: nbformat.IStream[] }).outputs[0].text as string[];
    expect(stdout.slice(0, 3)).toEqual([
      '# project secrets\n',
      `DB_PASSWORD=${redactionToken('env_secret')}\n`,
      `export SERVICE_TOKEN=${redactionToken('env_secret')}\n`
    ]);
    expect(stdout[4]).toBe('AWS_ACCESS_KEY_ID=[REDACTED:aws_access_key_id]\n');
    expect(stdout[8]).toBe('DATA_DIR=~/project/data\n');
    const environ = (clean.steps[2] as { outputs: nbformat.IExecuteResult[] }).outputs[1].data['text/plain'];
    expect(environ).toContain("'HOME': '~', 'PATH': '~/.venv/bin:/usr/bin', 'MLFLOW_TRACKING_PASSWORD': '[REDACTED:env_secret]'");
    expect(environ).toContain("'JPY_PARENT_PID': '4242'");
  });

  it('keeps a private key split over lines in place, one token where it starts', () => {
    const text = (clean.steps[8] as { outputs: nbformat.IStream[] }).outputs[0].text as string[];
    expect(text[0]).toBe('$ cat ~/.ssh/id_rsa\n');
    expect(text[1]).toBe('[REDACTED:private_key]');
    expect(text.slice(2, -1).every(line => line === '' || line === '\n')).toBe(true);
    expect(text[text.length - 1]).toBe('done\n');
    expect(text.length).toBe((sample.steps[8] as { outputs: nbformat.IStream[] }).outputs[0].text.length);
  });

  it('still validates, does not touch its input, and changes nothing more when run again', () => {
    expect(validateSample(clean)).toEqual({ valid: true, errors: [] });
    expect(sample.redactions).toEqual([]);
    expect(JSON.stringify(sample)).toContain(S.openaiLegacy);
    expect(scrubSample(clean, OPTIONS)).toEqual(clean);
    expect(scrubSample(clean)).toEqual(clean);
  });

  it('leaves images and their metadata untouched', () => {
    const display = (clean.steps[2] as { outputs: nbformat.IDisplayData[] }).outputs[2];
    expect(display.data['image/png']).toBe(PNG);
    expect(display.metadata).toEqual({ 'image/png': { width: 640, height: 480 } });
    expect(scrubText(PNG).kinds).toEqual(['google_api_key', 'aws_access_key_id']);
  });

  it('keeps the entries the recorder already made and appends its own', () => {
    const redacted = redactSecrets(sample, [S.modelApiKey]);
    const recorded: ISample = { ...redacted.value, redactions: redacted.locations.map(location => ({ kind: 'api_key', location })) };
    const again = scrubSample(recorded, { homeDirs: [HOME] });
    expect(again.redactions.slice(0, 1)).toEqual([{ kind: 'api_key', location: 'steps[11].detail.message' }]);
    expect(again.redactions).not.toContainEqual({ kind: 'known_secret', location: 'steps[11].detail.message' });
    expect(again.redactions.length).toBe(planted.length);
  });
});

describe('scrubText by kind', () => {
  const cases: [string, string, string][] = [
    ['openai_key', `key = ${S.openaiProject}.`, 'key = [REDACTED:openai_key].'],
    ['anthropic_key', `ANTHROPIC_API_KEY=${S.anthropicApi}`, 'ANTHROPIC_API_KEY=[REDACTED:anthropic_key]'],
    ['huggingface_token', `login(token="${S.huggingFace}")`, 'login(token="[REDACTED:huggingface_token]")'],
    ['github_token', `git clone https://${S.githubFineGrained}@github.com/o/r`, 'git clone https://[REDACTED:github_token]@github.com/o/r'],
    ['aws_access_key_id', `id ${S.awsKeyId}, ok`, 'id [REDACTED:aws_access_key_id], ok'],
    ['aws_secret_access_key', `{"aws_secret_access_key": "${S.awsSecret}"}`, '{"aws_secret_access_key": "[REDACTED:aws_secret_access_key]"}'],
    ['slack_token', `token=${S.slackBot}\n`, 'token=[REDACTED:slack_token]\n'],
    ['slack_webhook', `POST https://hooks.slack.com/services/${S.slackWebhook} 200`, 'POST https://hooks.slack.com/services/[REDACTED:slack_webhook] 200'],
    ['google_api_key', `?key=${S.googleGemini}&q=1`, '?key=[REDACTED:google_api_key]&q=1'],
    ['jwt', `Authorization: Bearer ${S.jwtSession}`, 'Authorization: Bearer [REDACTED:jwt]'],
    ['auth_header', `{'Authorization': 'Bearer ${S.bearerToken}'}`, "{'Authorization': 'Bearer [REDACTED:auth_header]'}"],
    ['url_credentials', `mysql://root:${S.databaseUrlPassword}@localhost/db`, 'mysql://root:[REDACTED:url_credentials]@localhost/db'],
    ['url_secret', `http://localhost:8888/lab?token=${S.jupyterToken}`, 'http://localhost:8888/lab?token=[REDACTED:url_secret]']
  ];
  it.each(cases)('%s', (kind, text, expected) => {
    expect(scrubText(text)).toEqual({ text: expected, kinds: [kind] });
  });

  it('finds private-key blocks whole, JSON-escaped, cut short or split', () => {
    const token = redactionToken('private_key');
    expect(scrubText(`a\n${S.rsaKey}\nb`).text).toBe(`a\n${token}\nb`);
    expect(scrubText(`{"k": "${jsonEscaped(S.pkcs8Key)}\\n", "n": 1}`).text).toBe(`{"k": "${token}\\n", "n": 1}`);
    const head = S.encryptedKey.split('\n').slice(0, 6).join('\n');
    expect(scrubText(`${head}\n... [output truncated] ...`).text).toBe(`${token}\n... [output truncated] ...`);
    const tail = S.opensshKey.split('\n').slice(-4).join('\n');
    expect(scrubText(`Out[2]:\n${tail}\n`).text).toBe(`Out[2]:\n${token}\n`);
    expect(scrubText(`${head}\n...\n${S.rsaKey}\n${S.ecKey}`).text).toBe(`${token}\n...\n${token}\n${token}`);
    const legacy = `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C3D4E5F\n\n${S.ecKey.split('\n')[1]}\n-----END RSA PRIVATE KEY-----`;
    expect(scrubText(legacy).text).toBe(token);
  });

  it('replaces only the value of secret-named assignments, in every printed form', () => {
    const value = S.redisAuth;
    const token = redactionToken('env_secret');
    const forms: [string, string][] = [
      [`REDIS_PASSWORD=${value}`, `REDIS_PASSWORD=${token}`],
      [`export REDIS_PASSWORD=${value}`, `export REDIS_PASSWORD=${token}`],
      [`environ({'REDIS_PASSWORD': '${value}', 'HOME': '~'})`, `environ({'REDIS_PASSWORD': '${token}', 'HOME': '~'})`],
      [`{"redis_password": "${value}"}`, `{"redis_password": "${token}"}`],
      [`redis:\n  password: ${value}\n`, `redis:\n  password: ${token}\n`],
      [`REDIS_PASSWORD: ${value}`, `REDIS_PASSWORD: ${token}`],
      [`os.environ["REDIS_PASSWORD"] = "${value}"`, `os.environ["REDIS_PASSWORD"] = "${token}"`],
      [`db_password = '${value}'`, `db_password = '${token}'`],
      [`{"apiKey": "${value}"}`, `{"apiKey": "${token}"}`],
      [`headers = {'X-Api-Key': '${value}'}`, `headers = {'X-Api-Key': '${token}'}`],
      [`MY_SERVICE_TOKEN=${value} python run.py`, `MY_SERVICE_TOKEN=${token} python run.py`],
      [`{\\"client_secret\\": \\"${value}\\"}`, `{\\"client_secret\\": \\"${token}\\"}`]
    ];
    for (const [text, expected] of forms) {
      expect(scrubText(text)).toEqual({ text: expected, kinds: ['env_secret'] });
    }
  });

  it('replaces the home folder with ~ and keeps the rest of the path', () => {
    const forms: [string, string][] = [
      ['/root/.cache/pip', '~/.cache/pip'],
      ["File '/home/alice/proj/x.py', line 3", "File '~/proj/x.py', line 3"],
      ['cd /Users/alice.smith/Documents && ls', 'cd ~/Documents && ls'],
      ['C:\\Users\\alice\\proj\\data.csv', '~\\proj\\data.csv'],
      ["'C:\\\\Users\\\\alice\\\\proj'", "'~\\\\proj'"],
      ['\u001b[0;32m/home/bob/x.py\u001b[0m', '\u001b[0;32m~/x.py\u001b[0m'],
      ['file:///home/bob/report.html', 'file://~/report.html'],
      ['PATH=/home/bob/.local/bin:/usr/bin', 'PATH=~/.local/bin:/usr/bin'],
      ['HOME is /root.', 'HOME is ~.']
    ];
    for (const [text, expected] of forms) {
      expect(scrubText(text, { homeDirs: [] })).toEqual({ text: expected, kinds: ['home_path'] });
    }
    expect(scrubText('/srv/users/dana/work and /srv/users/danab', { homeDirs: ['/srv/users/dana/'] }).text).toBe('~/work and /srv/users/danab');
    expect(scrubText('/Users/Shared/x /mnt/home/x /opt/root/x https://example.com/home/alice').kinds).toEqual([]);
  });

  it('removes the values of secret-named environment variables wherever they appear', () => {
    const env = { LOCAL_LLM_API_KEY: S.modelApiKey, HOME: HOME, SHORT_TOKEN: 'abc', APP_TOKEN: 'plainword', EDITOR: 'vim-tiny-2' };
    expect(scrubText(`echo ${S.modelApiKey} abc plainword vim-tiny-2`, { env })).toEqual({
      text: 'echo [REDACTED:env_secret] abc plainword vim-tiny-2',
      kinds: ['env_secret']
    });
    expect(scrubText(S.modelApiKey, { env: {} }).kinds).toEqual([]);
  });

  it('removes literal secrets given in the options, whatever their shape', () => {
    expect(scrubText(`x${S.modelApiKey}y`, { secrets: [S.modelApiKey, ''] })).toEqual({ text: 'x[REDACTED:known_secret]y', kinds: ['known_secret'] });
  });
});

describe('near misses stay untouched', () => {
  const nearMisses = [
    'cell 3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e3f ran',
    'sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'commit 9fceb02d0ae598e95dc970b74767f19372d61af8, md5 d41d8cd98f00b204e9800998ecf8427e',
    'pip install scikit-learn  # aka sk-learn; see sk-' + 'learn-tutorial-for-beginners-2024',
    'task_key = compute()',
    'api_key = os.environ["OPENAI_API_KEY"]',
    'api_key: str\ntoken: Optional[str] = None',
    'token = tokenizer(text, max_tokens=512)',
    "{'bos_token': '<|endoftext|>', 'pad_token': '[PAD]', 'sort_key': 'name', 'primary_key': 'id'}",
    "KeyError: 'OPENAI_API_KEY'",
    'PWD=/srv/app GIT_AUTHOR_NAME=alice PASSWORD_MIN_LENGTH=8 GOOGLE_APPLICATION_CREDENTIALS=/srv/sa.json',
    'OPENAI_API_KEY=$OPENAI_API_KEY\nexport HF_TOKEN=${HF_TOKEN}\nAPI_KEY=your-api-key-here\nPASSWORD=********',
    '\u001b[0;31mZeroDivisionError\u001b[0m: division by zero\nCell \u001b[0;32mIn[2], line 1\u001b[0m\n----> 1 1/0',
    'Bearer authentication is described in RFC 6750; use hf_hub_download, ghp_ prefixes, AKIA ids, eyJ headers.',
    'iVBORw0KGgoAAAANSUhEUgAAAoAAAAHgCAYAAAA10dzkAAAAOXRFWHRTb2Z0d2FyZQBNYXRwbG90bGliIHZlcnNpb24zLjguMCwgaHR0cHM6Ly9tYXRwbG90bGliLm9yZy81sbWrAAAACXBIWXMAAA9hAAAPYQGoP6dpAAA',
    'postgresql://analyst:***@db/sales and mysql://localhost:3306/db'
  ];
  it.each(nearMisses)('%s', text => {
    expect(scrubText(text, { homeDirs: [] })).toEqual({ text, kinds: [] });
  });
});

describe('scrubValue', () => {
  it('scrubs a plain notebook, keys included, and reports locations under the base', () => {
    const notebook = seededNotebook();
    const { value, redactions } = scrubValue(notebook, { homeDirs: [HOME] }, 'nb');
    expect(JSON.stringify(value)).not.toContain(S.slackApp);
    expect(redactions).toContainEqual({ kind: 'slack_token', location: 'nb.cells[0].source[1]' });
    expect(redactions).toContainEqual({ kind: 'home_path', location: 'nb.cells[1].source' });
    expect(notebook.cells[0].source[1]).toContain(S.slackApp);
    const keyed = scrubValue({ [`${HOME}/a.csv`]: 1, b: [`x ${S.githubServer}`] });
    expect(keyed.value).toEqual({ '~/a.csv': 1, b: ['x [REDACTED:github_token]'] });
    expect(keyed.redactions).toEqual([
      { kind: 'home_path', location: '["~/a.csv"] (key)' },
      { kind: 'github_token', location: 'b[0]' }
    ]);
    expect(scrubValue(`WANDB_API_KEY=${S.wandbKey}`).redactions).toEqual([{ kind: 'env_secret', location: '(root)' }]);
  });

  it('does not scan image parts or data URLs', () => {
    const parts = [
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
      { type: 'image', mime_type: 'image/png', data: PNG },
      { type: 'text', text: `see ${S.googleMaps}` },
      `data:image/png;base64,${PNG}`
    ];
    const { value, redactions } = scrubValue(parts);
    expect(value.slice(0, 2)).toEqual(parts.slice(0, 2));
    expect(value[3]).toBe(parts[3]);
    expect(redactions).toEqual([{ kind: 'google_api_key', location: '[2].text' }]);
  });
});
