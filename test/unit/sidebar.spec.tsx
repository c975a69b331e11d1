import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { BridgeState } from '../../src/tokens';
import { AievModel } from '../../src/ui/model';
import { AievSidebar } from '../../src/ui/sidebar';

/** Settings pointing at a port nothing listens on. */
const unreachable = ServerConnection.makeSettings({ baseUrl: 'http://127.0.0.1:9/', wsUrl: 'ws://127.0.0.1:9/' });

/** Poll `probe` until it returns something, for React's asynchronous rendering; fails after 5 s. */
async function waitFor<T>(probe: () => T | null): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = probe();
    if (value) {
      return value;
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  throw new Error('condition not met within 5 s');
}

describe('AievModel', () => {
  it('reports an unreachable bridge as an error and signals each change', async () => {
    const model = new AievModel(unreachable);
    const seen: BridgeState['kind'][] = [];
    model.bridgeChanged.connect((_, state) => seen.push(state.kind));
    await model.refresh();
    expect(seen).toEqual(['checking', 'error']);
    expect(model.bridge.kind).toBe('error');
  });
});

describe('AievSidebar', () => {
  it('renders the model state and follows its changes', async () => {
    const model = new AievModel(unreachable);
    const sidebar = new AievSidebar(model);
    Widget.attach(sidebar, document.body);
    await model.refresh();
    const line = await waitFor(() => sidebar.node.querySelector('.jp-aiev-BridgeStatus[data-state="error"]'));
    expect(line?.getAttribute('data-state')).toBe('error');
    expect(line?.textContent).toMatch(/^Bridge unreachable: /);
    Widget.detach(sidebar);
    sidebar.dispose();
  });
});
