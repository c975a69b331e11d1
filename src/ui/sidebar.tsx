import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { BridgeState, IAievModel } from '../tokens';

/** One line saying whether the server bridge answers. */
export function BridgeStatusLine(props: { state: BridgeState }): JSX.Element {
  const { state } = props;
  const text =
    state.kind === 'ok'
      ? `Bridge ${state.status.version} (Python ${state.status.python})`
      : state.kind === 'error'
        ? `Bridge unreachable: ${state.message}`
        : 'Checking bridge…';
  return (
    <div className="jp-aiev-BridgeStatus" data-state={state.kind}>
      {text}
    </div>
  );
}

/** The agent sidebar: a view of `IAievModel`, holding no state of its own. */
export class AievSidebar extends ReactWidget {
  constructor(private readonly _model: IAievModel) {
    super();
    this.addClass('jp-aiev-Sidebar');
    _model.bridgeChanged.connect(this.update, this);
  }

  render(): JSX.Element {
    return (
      <>
        <div className="jp-aiev-Sidebar-title">AIEV agent</div>
        <BridgeStatusLine state={this._model.bridge} />
      </>
    );
  }
}
