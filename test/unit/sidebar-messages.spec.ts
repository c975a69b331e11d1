import type { IBridgeConfig } from '../../src/tokens';
import { errorText, modelErrorText, outcomeNotice, preflightProblem, UserFacingError } from '../../src/ui/messages';
import { trans } from '../helpers/sidebarFixtures';

const config: IBridgeConfig = {
  configured: true,
  base_url_host: '127.0.0.1:8000',
  models: ['m1', 'm2'],
  default_model: 'm1',
  key_set: true,
  key_env: 'OPENAI_API_KEY',
  message: ''
};
const ready = { path: 'a.ipynb', readOnly: false, kernelStatus: 'idle' };

describe('preflightProblem', () => {
  it('is null when the server has a model and the notebook is writable with a live kernel', () => {
    expect(preflightProblem(ready, config, 'm1', trans)).toBeNull();
    expect(preflightProblem({ ...ready, kernelStatus: 'starting' }, config, 'm1', trans)).toBeNull();
  });

  it('names each obstacle and what to do about it', () => {
    const unconfigured = { ...config, configured: false, message: 'No model endpoint: set c.AievBridge.base_url or OPENAI_BASE_URL.' };
    expect(preflightProblem(ready, unconfigured, '', trans)).toBe(unconfigured.message);
    expect(preflightProblem(ready, { ...config, default_model: '' }, '', trans)).toBe(
      'The server has no default model: choose one in Settings → AIEV agent → Model (the server offers: m1, m2).'
    );
    expect(preflightProblem({ ...ready, path: null }, config, 'm1', trans)).toMatch(/^Open a notebook first/);
    expect(preflightProblem({ ...ready, readOnly: true }, config, 'm1', trans)).toMatch(/^a\.ipynb is read-only: .*Save Notebook As/);
    expect(preflightProblem({ ...ready, kernelStatus: null }, config, 'm1', trans)).toMatch(/^a\.ipynb has no kernel: select one/);
    expect(preflightProblem({ ...ready, kernelStatus: 'dead' }, config, 'm1', trans)).toMatch(/^The kernel of a\.ipynb is dead: restart it/);
  });
});

describe('modelErrorText', () => {
  it('turns ChatClient errors into what failed, the proxy message, and what to check', () => {
    expect(modelErrorText('model endpoint answered HTTP 401: 401 Incorrect API key provided', trans, 'MY_KEY')).toBe(
      'The model endpoint rejected the API key (HTTP 401): Incorrect API key provided. Check the key the Jupyter server reads from MY_KEY.'
    );
    expect(modelErrorText('model endpoint answered HTTP 404: 404 model "x" not found', trans)).toMatch(/^The model endpoint does not know this model/);
    expect(modelErrorText('model endpoint answered HTTP 429: 429 slow down', trans)).toMatch(/rate limiting.*slow down/);
    expect(modelErrorText('model endpoint answered HTTP 502: 502 could not reach 127.0.0.1:9', trans)).toBe(
      'The model endpoint failed or could not be reached (HTTP 502): could not reach 127.0.0.1:9'
    );
    expect(modelErrorText('model request failed after 3 attempts: Connection error.', trans)).toBe(
      'The model could not be reached through the Jupyter server: Connection error.'
    );
  });

  it('never shows a stack: errors become their first line', () => {
    const error = new Error('boom\n    at x (y.js:1:1)');
    expect(errorText(error, trans)).toBe('Something went wrong: boom');
    expect(errorText(new UserFacingError('Do this.'), trans)).toBe('Do this.');
  });

  it('says how a run ended, except a final answer (shown itself)', () => {
    expect(outcomeNotice({ reason: 'final_answer', answer: 'x' }, trans)).toBeNull();
    expect(outcomeNotice({ reason: 'cancelled' }, trans)?.level).toBe('info');
    expect(outcomeNotice({ reason: 'max_steps', message: 'no final answer within 3 model turns' }, trans)?.text).toContain('step cap');
    expect(outcomeNotice({ reason: 'error', message: 'the notebook was closed' }, trans)).toEqual({
      level: 'error',
      text: 'The run ended: the notebook was closed'
    });
  });
});
