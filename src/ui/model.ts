import { ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import { requestBridge } from '../request';
import { BridgeState, IAievModel, IBridgeStatus } from '../tokens';

/** Sidebar state: owns every fact the views show and signals its changes. */
export class AievModel implements IAievModel {
  constructor(private readonly _settings?: ServerConnection.ISettings) {}

  get bridge(): BridgeState {
    return this._bridge;
  }

  get bridgeChanged(): Signal<this, BridgeState> {
    return this._bridgeChanged;
  }

  async refresh(): Promise<void> {
    this._setBridge({ kind: 'checking' });
    try {
      const status = await requestBridge<IBridgeStatus>('status', {}, this._settings);
      this._setBridge({ kind: 'ok', status });
    } catch (error) {
      this._setBridge({ kind: 'error', message: (error as Error).message });
    }
  }

  private _setBridge(state: BridgeState): void {
    this._bridge = state;
    this._bridgeChanged.emit(state);
  }

  private _bridge: BridgeState = { kind: 'checking' };
  private readonly _bridgeChanged = new Signal<this, BridgeState>(this);
}
