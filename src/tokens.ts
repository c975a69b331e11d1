import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/** What the server bridge says about itself at `GET /aiev/status`. */
export interface IBridgeStatus {
  name: string;
  version: string;
  python: string;
  /** Whether the server sets TCP_NODELAY on kernel websockets (python_kernel_bridge/nodelay.py). */
  kernel_nodelay: boolean;
}

/** Connection state of the sidebar to the server bridge. */
export type BridgeState =
  | { kind: 'checking' }
  | { kind: 'ok'; status: IBridgeStatus }
  | { kind: 'error'; message: string };

/** State shared by the sidebar views. */
export interface IAievModel {
  /** Current bridge connection state. */
  readonly bridge: BridgeState;
  /** Emitted whenever `bridge` changes. */
  readonly bridgeChanged: ISignal<IAievModel, BridgeState>;
  /** Ask the bridge for its status again. */
  refresh(): Promise<void>;
}

/** DI token of the sidebar model, for other plugins that want to drive or watch the agent. */
export const IAievModel = new Token<IAievModel>(
  'jupyterlab-aiev:IAievModel',
  'State of the jupyterlab-aiev agent sidebar.'
);
